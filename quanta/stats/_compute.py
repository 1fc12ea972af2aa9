"""Backtest statistics with backtesting.py 0.6.6's definitions, in numpy (docs/stats.md has the formulas).

Sums follow pandas' order (NaN-skipping means sum a zero-filled full-length array), so results match
backtesting.py to the last bit or nearly. What depends only on the data (calendar periods, the
benchmark's log returns) is prepared once in a ``Frame`` and reused by every run on that data. The
drawdowns and the sums over days and trades run in compiled loops that add in numpy's pairwise
order (``_kernels``); logarithms, powers and the beta's dot product stay numpy's own.

Each statistic belongs to a *section* that computes it with a few related ones; ``compute_stats``
runs only the sections of the statistics asked for (an optimiser keeps about ten of them), and the
figures sections share (annual growth, deepest drawdown) are computed once per run.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from quanta.stats._kernels import (
    CAST_CHUNK,
    deepest_drawdown,
    drawdowns_of,
    exposed_bars,
    period_growth,
    placed_sum,
    trade_figures,
)

DAY_NS = 86_400_000_000_000
_UNITS = (DAY_NS, 3_600_000_000_000, 60_000_000_000, 1_000_000_000, 1_000_000, 1_000, 1)
_NAN = float("nan")

STAT_NAMES = (
    "Start",
    "End",
    "Duration",
    "Exposure Time [%]",
    "Equity Final [$]",
    "Equity Peak [$]",
    "Commissions [$]",
    "Return [%]",
    "Buy & Hold Return [%]",
    "Return (Ann.) [%]",
    "Volatility (Ann.) [%]",
    "CAGR [%]",
    "Sharpe Ratio",
    "Sortino Ratio",
    "Calmar Ratio",
    "Alpha [%]",
    "Beta",
    "Max. Drawdown [%]",
    "Avg. Drawdown [%]",
    "Max. Drawdown Duration",
    "Avg. Drawdown Duration",
    "# Trades",
    "Win Rate [%]",
    "Best Trade [%]",
    "Worst Trade [%]",
    "Avg. Trade [%]",
    "Max. Trade Duration",
    "Avg. Trade Duration",
    "Profit Factor",
    "Expectancy [%]",
    "SQN",
    "Kelly Criterion",
)


class Stats(dict[str, Any]):
    """Statistic name → value, printed like backtesting.py's result series."""

    def __repr__(self) -> str:
        width = max(map(len, self), default=0)
        return "\n".join(f"{k:<{width}}  {_show(v)}" for k, v in self.items())

    def to_series(self) -> pd.Series:
        """As a pandas Series (dtype object), like backtesting.py's ``Backtest.run()`` output."""
        return pd.Series(dict(self), dtype=object)


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.5f}".rstrip("0").rstrip(".") if np.isfinite(v) else str(v)
    return str(v)


@dataclass(frozen=True, slots=True)
class Drawdown:
    """Drawdown fraction per bar, and per drawdown (at its last bar) its duration and depth."""

    pct: np.ndarray
    ends: np.ndarray
    durations: np.ndarray
    peaks: np.ndarray


def drawdown(equity: np.ndarray, index: np.ndarray) -> Drawdown:
    """``1 - equity / running peak`` and each drawdown's length (index units) and depth."""
    pct, ends, starts, peaks = drawdowns_of(equity)
    if not ends.size:  # backtesting.py then reports the non-zero drawdown values themselves
        nonzero = (pct != 0).nonzero()[0]
        return Drawdown(pct, nonzero, pct[nonzero], pct[nonzero])
    return Drawdown(pct, ends, index[ends] - index[starts], peaks)


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """What the statistics need from the index and the benchmark, prepared once per data set.

    ``index`` is int64 ns since the epoch (UTC) when ``is_datetime``, else numeric.
    """

    index: np.ndarray
    benchmark: np.ndarray
    is_datetime: bool
    tz: str | None
    unit: int | None
    annual_days: float
    last: np.ndarray | None
    start: Any
    end: Any
    years: float
    market_dev: np.ndarray
    market_ss: float

    @classmethod
    def of(
        cls, index: np.ndarray, benchmark: np.ndarray, *, is_datetime: bool = True, tz: str | None = None
    ) -> Frame:
        """Prepare the calendar (period, resampling groups) and the benchmark's log returns."""
        unit, days, last, years = None, _NAN, None, _NAN
        start, end = index[0].item(), index[-1].item()
        if is_datetime:
            start, end = _timestamp(int(index[0]), tz), _timestamp(int(index[-1]), tz)
            period = _period_ns(index)
            unit = next(u for u in _UNITS if period % u == 0)
            local = _local_ns(index, tz)
            day = local // DAY_NS
            weekends = np.count_nonzero((day + 3) % 7 >= 5) / day.shape[0] > 2 / 7 * 0.6
            freq = period // DAY_NS
            days = {7: 52.0, 31: 12.0, 365: 1.0}.get(freq, 365.0 if weekends else 252.0)
            last = _period_ends(local, day, freq)
            span = int(index[-1] - index[0])
            years = (span // DAY_NS + (span % DAY_NS) // 1_000_000_000 / 86400) / 365.25
        with np.errstate(divide="ignore", invalid="ignore"):
            mk = np.log(benchmark[1:] / benchmark[:-1])
        dev = mk - mk.sum() / mk.shape[0] if mk.shape[0] else mk
        return cls(
            index, benchmark, is_datetime, tz, unit, days, last, start, end, years, dev, float(dev @ dev)
        )


def _period_ns(index_ns: np.ndarray) -> int:
    """Median bar spacing over the last 100 bars, as backtesting.py's ``_data_period``."""
    tail = index_ns[-100:]
    diffs = np.sort(tail[1:] - tail[:-1])
    k = diffs.shape[0]
    if not k:
        return DAY_NS
    mid = k // 2
    return int(diffs[mid]) if k % 2 else int((diffs[mid - 1] + diffs[mid]) / 2)


def _local_ns(index_ns: np.ndarray, tz: str | None) -> np.ndarray:
    if tz is None:
        return index_ns
    local = pd.DatetimeIndex(index_ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    return np.asarray(local.tz_localize(None).asi8)


def _period_ends(local: np.ndarray, day: np.ndarray, freq_days: int) -> np.ndarray:
    """Last bar of each calendar day (week ending Sunday, month, year for coarser data)."""
    if freq_days == 7:
        key = (day + 3) // 7
    elif freq_days in (31, 365):
        key = local.view("datetime64[ns]").astype("datetime64[M]" if freq_days == 31 else "datetime64[Y]")
        key = key.astype(np.int64)
    else:
        key = day
    return np.append(np.flatnonzero(key[1:] != key[:-1]), key.shape[0] - 1)


def _timestamp(ns: int, tz: str | None) -> pd.Timestamp:
    ts = pd.Timestamp(ns)
    return ts.tz_localize("UTC").tz_convert(tz) if tz else ts


def _duration(ns: float, unit: int | None) -> Any:
    """A duration in index units, or as a ``pd.Timedelta`` rounded up to the data's resolution."""
    if unit is None:
        return ns
    if math.isnan(ns):
        return pd.NaT
    return _timedelta(-(-int(ns) // unit) * unit)


@functools.lru_cache(maxsize=4096)
def _timedelta(ns: int) -> pd.Timedelta:
    return pd.Timedelta(ns)


def _mean_full(values: np.ndarray, positions: np.ndarray, n: int) -> float:
    """Mean of ``values`` placed at ``positions`` of an ``n``-long zero array (pandas' NaN-skipping sum)."""
    if not values.size:
        return _NAN
    chunk = CAST_CHUNK if values.dtype.kind != "f" else max(n, 1)
    return float(placed_sum(values.astype(np.float64, copy=False), positions, n, chunk) / values.size)


def geometric_mean(returns: np.ndarray) -> float:
    """``exp(mean(log(1 + r))) - 1`` with NaN as 0; 0 when any ``1 + r <= 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _geometric_mean_of(returns + 1)


def _geometric_mean_of(growth: np.ndarray) -> float:
    """``geometric_mean(growth - 1)``; call it with numpy's divide and invalid warnings off."""
    k = growth.shape[0]
    if k:
        total = np.log(growth).sum()
        if math.isfinite(total):  # no NaN and every 1 + r > 0: the common case, in one pass
            return float(np.exp(total / k) - 1)
    if np.isnan(growth).any():
        growth = np.where(np.isnan(growth), 1.0, growth)
    if (growth <= 0).any():
        return 0.0
    if not k:
        return _NAN
    return float(np.exp(np.log(growth).sum() / k) - 1)


def compute_stats(
    *,
    equity: np.ndarray,
    frame: Frame,
    entry_bar: np.ndarray,
    exit_bar: np.ndarray,
    pnl: np.ndarray,
    returns: np.ndarray,
    commissions: float,
    warmup_bars: int = 0,
    risk_free_rate: float = 0.0,
    dd: Drawdown | None = None,
    names: Iterable[str] | None = None,
) -> Stats:
    """The statistics of one run, keyed by backtesting.py's names, in ``STAT_NAMES`` order.

    ``entry_bar``/``exit_bar``/``pnl``/``returns`` describe closed trades (returns as fractions,
    net of commissions); ``warmup_bars`` is where buy & hold starts. ``names`` limits the work to
    those statistics (same values as in the full set); an unknown name raises ``KeyError``.
    """
    sections, wanted = _plan(None if names is None else tuple(names))
    run = _Run(equity, frame, entry_bar, exit_bar, pnl, returns, commissions, warmup_bars, risk_free_rate, dd)
    out: dict[str, Any] = {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for section in sections:
            section(run, out)
    return Stats(zip(wanted, map(out.__getitem__, wanted), strict=True))


@dataclass(slots=True, eq=False)
class _Run:
    """One run's inputs, and the figures several statistics share (each computed once, on demand)."""

    equity: np.ndarray
    frame: Frame
    entry_bar: np.ndarray
    exit_bar: np.ndarray
    pl: np.ndarray
    returns: np.ndarray
    commissions: float
    first: int
    rf: float
    dd: Drawdown | None
    annual: tuple[float, float, float] | None = None
    deepest: float | None = None

    def drawdown(self) -> Drawdown:
        """Drawdown per bar and per drawdown (the one given, else computed)."""
        if self.dd is None:
            self.dd = drawdown(self.equity, self.frame.index)
        return self.dd

    def max_drawdown(self) -> float:
        """Deepest drawdown as a non-positive fraction (0 when undefined)."""
        if self.deepest is None:
            worst = float(self.dd.pct.max() if self.dd is not None else deepest_drawdown(self.equity))
            self.deepest = -(0.0 if math.isnan(worst) else worst)
        return self.deepest

    def total_return(self) -> float:
        """Return [%]."""
        equity = self.equity
        return float((equity[-1] - equity[0]) / equity[0] * 100)

    def buy_hold(self) -> float:
        """Buy & Hold Return [%] (from the first bar after the warm-up)."""
        close, first = self.frame.benchmark, self.first
        return float((close[-1] - close[first]) / close[first] * 100)

    def annualized(self) -> tuple[float, float, float]:
        """Annual return (fraction), annual volatility (%) and the Sortino ratio's downside deviation."""
        if self.annual is None:
            frame = self.frame
            g, var, mean_down, days = 0.0, _NAN, _NAN, frame.annual_days
            if frame.last is not None:
                growth = np.empty(max(frame.last.shape[0] - 1, 0))
                k, var, mean_down = period_growth(self.equity, frame.last, growth)
                g = _geometric_mean_of(growth[:k])
            base = np.float64(1 + g)  # numpy powers overflow to inf (as backtesting.py) instead of raising
            ann = float(base**days - 1)
            vol = float(np.sqrt((var + base**2) ** days - base ** (2 * days)) * 100)
            self.annual = ann, vol, float(np.sqrt(mean_down) * np.sqrt(days))
        return self.annual


Section: TypeAlias = Callable[[_Run, dict[str, Any]], None]
"""Computes a few statistics of a run into a dict."""


def _period(r: _Run, out: dict[str, Any]) -> None:
    start, end = r.frame.start, r.frame.end
    out["Start"], out["End"], out["Duration"] = start, end, end - start


def _exposure(r: _Run, out: dict[str, Any]) -> None:
    n = r.equity.shape[0]
    out["Exposure Time [%]"] = exposed_bars(r.entry_bar, r.exit_bar, n) / n * 100


def _equity(r: _Run, out: dict[str, Any]) -> None:
    out["Equity Final [$]"] = float(r.equity[-1])
    out["Return [%]"] = r.total_return()


def _equity_peak(r: _Run, out: dict[str, Any]) -> None:
    out["Equity Peak [$]"] = float(r.equity.max())


def _commissions(r: _Run, out: dict[str, Any]) -> None:
    out["Commissions [$]"] = float(r.commissions)


def _buy_hold(r: _Run, out: dict[str, Any]) -> None:
    out["Buy & Hold Return [%]"] = r.buy_hold()


def _annual(r: _Run, out: dict[str, Any]) -> None:
    ann, vol, downside = r.annualized()
    out["Return (Ann.) [%]"] = ann * 100
    out["Volatility (Ann.) [%]"] = vol
    out["Sharpe Ratio"] = (ann * 100 - r.rf * 100) / (vol or _NAN)
    out["Sortino Ratio"] = float(np.float64(ann - r.rf) / downside)


def _cagr(r: _Run, out: dict[str, Any]) -> None:
    years, equity = r.frame.years, r.equity
    out["CAGR [%]"] = float((np.float64(equity[-1] / equity[0]) ** (1 / years) - 1) * 100) if years else _NAN


def _calmar(r: _Run, out: dict[str, Any]) -> None:
    out["Calmar Ratio"] = r.annualized()[0] / (-r.max_drawdown() or _NAN)


def _alpha_beta(r: _Run, out: dict[str, Any]) -> None:
    beta, rf = _beta(r.equity, r.frame), r.rf * 100
    out["Alpha [%]"] = r.total_return() - rf - beta * (r.buy_hold() - rf)
    out["Beta"] = beta


def _beta(equity: np.ndarray, frame: Frame) -> float:
    """Covariance of equity and benchmark log returns over the benchmark's variance (as ``np.cov``)."""
    k = frame.market_dev.shape[0]
    if k <= 1:
        return _NAN
    eq = np.log(equity[1:] / equity[:-1])
    return float((eq - eq.sum() / k) @ frame.market_dev / frame.market_ss)


def _max_drawdown(r: _Run, out: dict[str, Any]) -> None:
    out["Max. Drawdown [%]"] = r.max_drawdown() * 100


def _drawdowns(r: _Run, out: dict[str, Any]) -> None:
    dd, n, unit = r.drawdown(), r.equity.shape[0], r.frame.unit
    out["Avg. Drawdown [%]"] = -_mean_full(dd.peaks, dd.ends, n) * 100
    durations = dd.durations
    if not durations.size:
        out["Max. Drawdown Duration"] = out["Avg. Drawdown Duration"] = _NAN
        return
    longest, mean = float(durations.max()), _mean_full(durations, dd.ends, n)
    if durations.dtype.kind == "f":  # backtesting.py's no-drawdown fallback reports depths
        out["Max. Drawdown Duration"], out["Avg. Drawdown Duration"] = longest, mean
        return
    out["Max. Drawdown Duration"] = _duration(longest, unit)
    out["Avg. Drawdown Duration"] = _duration(float(np.int64(mean)) if unit is not None else mean, unit)


_TRADE_FIGURES = (
    "Win Rate [%]",
    "Best Trade [%]",
    "Worst Trade [%]",
    "Profit Factor",
    "Expectancy [%]",
    "SQN",
    "Kelly Criterion",
)


def _trades(r: _Run, out: dict[str, Any]) -> None:
    k = r.pl.shape[0]
    out["# Trades"] = k
    if not k:
        out.update(dict.fromkeys(_TRADE_FIGURES, _NAN))
        return
    wins, best, worst, gains, losses, mean_return, var_pl, mean_pl, avg_win, avg_loss = trade_figures(
        r.pl, r.returns
    )
    win_rate = wins / k
    out["Win Rate [%]"] = win_rate * 100
    out["Best Trade [%]"] = best * 100
    out["Worst Trade [%]"] = worst * 100
    out["Profit Factor"] = gains / (abs(losses) or _NAN)
    out["Expectancy [%]"] = mean_return * 100
    std = math.sqrt(var_pl)
    out["SQN"] = math.sqrt(k) * mean_pl / (std or _NAN)
    out["Kelly Criterion"] = float(win_rate - (1 - win_rate) / (np.float64(avg_win) / np.float64(-avg_loss)))


def _avg_trade(r: _Run, out: dict[str, Any]) -> None:
    out["Avg. Trade [%]"] = _geometric_mean_of(r.returns + 1) * 100 if r.pl.shape[0] else _NAN


def _trade_durations(r: _Run, out: dict[str, Any]) -> None:
    k, frame = r.pl.shape[0], r.frame
    if not k:
        out["Max. Trade Duration"] = out["Avg. Trade Duration"] = _NAN
        return
    durations = frame.index[r.exit_bar] - frame.index[r.entry_bar]
    mean = float(durations.sum(dtype=np.float64) / k)
    out["Max. Trade Duration"] = _duration(float(durations.max()), frame.unit)
    out["Avg. Trade Duration"] = _duration(
        float(np.int64(mean)) if frame.unit is not None else mean, frame.unit
    )


_SECTIONS: tuple[tuple[tuple[str, ...], Section], ...] = (
    (("Start", "End", "Duration"), _period),
    (("Exposure Time [%]",), _exposure),
    (("Equity Final [$]", "Return [%]"), _equity),
    (("Equity Peak [$]",), _equity_peak),
    (("Commissions [$]",), _commissions),
    (("Buy & Hold Return [%]",), _buy_hold),
    (("Return (Ann.) [%]", "Volatility (Ann.) [%]", "Sharpe Ratio", "Sortino Ratio"), _annual),
    (("CAGR [%]",), _cagr),
    (("Calmar Ratio",), _calmar),
    (("Alpha [%]", "Beta"), _alpha_beta),
    (("Max. Drawdown [%]",), _max_drawdown),
    (("Avg. Drawdown [%]", "Max. Drawdown Duration", "Avg. Drawdown Duration"), _drawdowns),
    (("# Trades", *_TRADE_FIGURES), _trades),
    (("Avg. Trade [%]",), _avg_trade),
    (("Max. Trade Duration", "Avg. Trade Duration"), _trade_durations),
)
"""Every statistic, by the section that computes it (with the others of that section)."""


@functools.lru_cache(maxsize=256)
def _plan(names: tuple[str, ...] | None) -> tuple[tuple[Section, ...], tuple[str, ...]]:
    """The sections that compute ``names`` (every statistic for None), and the names in order."""
    if names is None:
        return tuple(section for _, section in _SECTIONS), STAT_NAMES
    unknown = sorted(set(names) - set(STAT_NAMES))
    if unknown:
        raise KeyError(f"unknown statistics {unknown}; the statistics are quanta.stats.STAT_NAMES")
    sections = tuple(section for given, section in _SECTIONS if not set(given).isdisjoint(names))
    return sections, tuple(name for name in STAT_NAMES if name in names)

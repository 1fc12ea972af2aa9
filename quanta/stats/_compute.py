"""Backtest statistics with backtesting.py 0.6.6's definitions, in numpy (docs/stats.md has the formulas).

Sums follow pandas' order (NaN-skipping means sum a zero-filled full-length array), so results match
backtesting.py to the last bit or nearly. What depends only on the data (calendar periods, the
benchmark's log returns) is prepared once in a ``Frame`` and reused by every run on that data.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = 1 - equity / np.maximum.accumulate(equity)
    n = dd.shape[0]
    iloc = (dd == 0).nonzero()[0]
    if not iloc.size or iloc[-1] != n - 1:
        iloc = np.append(iloc, n - 1)
    keep = iloc[1:] > iloc[:-1] + 1
    ends, starts = iloc[1:][keep], iloc[:-1][keep]
    if not ends.size:  # backtesting.py then reports the non-zero drawdown values themselves
        nonzero = (dd != 0).nonzero()[0]
        return Drawdown(dd, nonzero, dd[nonzero], dd[nonzero])
    bounds = np.empty(2 * ends.size, dtype=np.intp)
    bounds[0::2], bounds[1::2] = starts, ends + 1
    if bounds[-1] == n:  # reduceat runs the last segment to the end of the array
        bounds = bounds[:-1]
    peaks = np.fmax.reduceat(dd, bounds)[0::2]
    return Drawdown(dd, ends, index[ends] - index[starts], peaks)


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
    full = np.zeros(n, dtype=values.dtype)
    full[positions] = values
    return float(full.sum(dtype=np.float64) / values.size)


def _var(x: np.ndarray) -> float:
    """Sample variance (ddof=1) computed as pandas does."""
    n = x.shape[0]
    if n < 2:
        return _NAN
    avg = x.sum() / n
    return float(((avg - x) ** 2).sum() / (n - 1))


def _mean(x: np.ndarray) -> float:
    return float(x.sum() / x.shape[0]) if x.shape[0] else _NAN


def geometric_mean(returns: np.ndarray) -> float:
    """``exp(mean(log(1 + r))) - 1`` with NaN as 0; 0 when any ``1 + r <= 0``."""
    r = returns + 1
    k = r.shape[0]
    if k:
        with np.errstate(divide="ignore", invalid="ignore"):
            total = np.log(r).sum()
        if math.isfinite(total):  # no NaN and every 1 + r > 0: the common case, in one pass
            return float(np.exp(total / k) - 1)
    if np.isnan(r).any():
        r = np.where(np.isnan(r), 1.0, r)
    if (r <= 0).any():
        return 0.0
    if not r.shape[0]:
        return _NAN
    return float(np.exp(np.log(r).sum() / r.shape[0]) - 1)


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
) -> Stats:
    """All statistics of one run, keyed by backtesting.py's names (see ``STAT_NAMES``).

    ``entry_bar``/``exit_bar``/``pnl``/``returns`` describe closed trades (returns as fractions,
    net of commissions); ``warmup_bars`` is where buy & hold starts.
    """
    s = Stats()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dd = dd or drawdown(equity, frame.index)
        _overview(
            s,
            equity=equity,
            frame=frame,
            entry_bar=entry_bar,
            exit_bar=exit_bar,
            commissions=commissions,
            first=warmup_bars,
        )
        _risk(s, equity, frame, dd, risk_free_rate)
        _drawdowns(s, dd, equity.shape[0], frame.unit)
        _trades(s, frame, entry_bar=entry_bar, exit_bar=exit_bar, pl=pnl, returns=returns)
    return Stats((k, s[k]) for k in STAT_NAMES)


def _overview(
    s: Stats,
    *,
    equity: np.ndarray,
    frame: Frame,
    entry_bar: np.ndarray,
    exit_bar: np.ndarray,
    commissions: float,
    first: int,
) -> None:
    n = equity.shape[0]
    s["Start"], s["End"] = frame.start, frame.end
    s["Duration"] = frame.end - frame.start
    cover = np.bincount(entry_bar, minlength=n + 1) - np.bincount(exit_bar + 1, minlength=n + 1)
    s["Exposure Time [%]"] = np.count_nonzero(cover[:n].cumsum()) / n * 100
    s["Equity Final [$]"] = float(equity[-1])
    s["Equity Peak [$]"] = float(equity.max())
    s["Commissions [$]"] = float(commissions)
    s["Return [%]"] = float((equity[-1] - equity[0]) / equity[0] * 100)
    close = frame.benchmark
    s["Buy & Hold Return [%]"] = float((close[-1] - close[first]) / close[first] * 100)


def _risk(s: Stats, equity: np.ndarray, frame: Frame, dd: Drawdown, rf: float) -> None:
    g, day_returns, days = 0.0, np.array([_NAN]), frame.annual_days
    if frame.last is not None:
        values = equity[frame.last]
        day_returns = values[1:] / values[:-1] - 1
        if np.isnan(day_returns).any():
            day_returns = day_returns[~np.isnan(day_returns)]
        g = geometric_mean(day_returns)
    growth = np.float64(1 + g)  # numpy powers overflow to inf (as in backtesting.py) instead of raising
    ann = float(growth**days - 1)
    s["Return (Ann.) [%]"] = ann * 100
    vol = float(np.sqrt((_var(day_returns) + growth**2) ** days - growth ** (2 * days)) * 100)
    s["Volatility (Ann.) [%]"] = vol
    years = frame.years
    s["CAGR [%]"] = float((np.float64(equity[-1] / equity[0]) ** (1 / years) - 1) * 100) if years else _NAN
    s["Sharpe Ratio"] = (ann * 100 - rf * 100) / (vol or _NAN)
    downside = np.sqrt(_mean(np.minimum(day_returns, 0.0) ** 2)) * np.sqrt(days)
    s["Sortino Ratio"] = float(np.float64(ann - rf) / downside)
    worst = float(dd.pct.max())
    max_dd = -(0.0 if math.isnan(worst) else worst)
    s["Calmar Ratio"] = ann / (-max_dd or _NAN)
    beta = _beta(equity, frame)
    s["Alpha [%]"] = s["Return [%]"] - rf * 100 - beta * (s["Buy & Hold Return [%]"] - rf * 100)
    s["Beta"] = beta
    s["Max. Drawdown [%]"] = max_dd * 100


def _beta(equity: np.ndarray, frame: Frame) -> float:
    """Covariance of equity and benchmark log returns over the benchmark's variance (as ``np.cov``)."""
    k = frame.market_dev.shape[0]
    if k <= 1:
        return _NAN
    eq = np.log(equity[1:] / equity[:-1])
    return float((eq - eq.sum() / k) @ frame.market_dev / frame.market_ss)


def _drawdowns(s: Stats, dd: Drawdown, n: int, unit: int | None) -> None:
    s["Avg. Drawdown [%]"] = -_mean_full(dd.peaks, dd.ends, n) * 100
    durations = dd.durations
    if not durations.size:
        s["Max. Drawdown Duration"] = s["Avg. Drawdown Duration"] = _NAN
        return
    longest, mean = float(durations.max()), _mean_full(durations, dd.ends, n)
    if durations.dtype.kind == "f":  # backtesting.py's no-drawdown fallback reports depths
        s["Max. Drawdown Duration"], s["Avg. Drawdown Duration"] = longest, mean
        return
    s["Max. Drawdown Duration"] = _duration(longest, unit)
    s["Avg. Drawdown Duration"] = _duration(float(np.int64(mean)) if unit is not None else mean, unit)


def _trades(
    s: Stats,
    frame: Frame,
    *,
    entry_bar: np.ndarray,
    exit_bar: np.ndarray,
    pl: np.ndarray,
    returns: np.ndarray,
) -> None:
    k = pl.shape[0]
    s["# Trades"] = k
    if not k:
        for name in STAT_NAMES[22:]:
            s[name] = _NAN
        return
    win_rate = np.count_nonzero(pl > 0) / k
    s["Win Rate [%]"] = win_rate * 100
    s["Best Trade [%]"] = float(returns.max()) * 100
    s["Worst Trade [%]"] = float(returns.min()) * 100
    s["Avg. Trade [%]"] = geometric_mean(returns) * 100
    index = frame.index
    durations = index[exit_bar] - index[entry_bar]
    mean = float(durations.sum(dtype=np.float64) / k)
    s["Max. Trade Duration"] = _duration(float(durations.max()), frame.unit)
    s["Avg. Trade Duration"] = _duration(
        float(np.int64(mean)) if frame.unit is not None else mean, frame.unit
    )
    losses = float(returns[returns < 0].sum())
    s["Profit Factor"] = float(returns[returns > 0].sum()) / (abs(losses) or _NAN)
    s["Expectancy [%]"] = _mean(returns) * 100
    std = math.sqrt(_var(pl))
    s["SQN"] = math.sqrt(k) * _mean(pl) / (std or _NAN)
    avg_win, avg_loss = np.float64(_mean(pl[pl > 0])), np.float64(-_mean(pl[pl < 0]))
    s["Kelly Criterion"] = float(win_rate - (1 - win_rate) / (avg_win / avg_loss))

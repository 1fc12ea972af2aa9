"""Backtest statistics with backtesting.py 0.6.6's definitions, in numpy (docs/stats.md has the formulas).

Sums follow pandas' order (NaN-skipping means sum a zero-filled full-length array), so results match
backtesting.py to the last bit or nearly. What depends only on the data (calendar periods, the
benchmark's log returns) is prepared once in a ``Frame`` and reused by every run on that data. The
drawdowns and the sums over days and trades run in compiled loops that add in numpy's pairwise
order (see ``pairwise_sum``); logarithms, powers and the beta's dot product stay numpy's own.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quanta._jit import kernel

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
    pct, ends, starts, peaks = _drawdowns_of(equity)
    if not ends.size:  # backtesting.py then reports the non-zero drawdown values themselves
        nonzero = (pct != 0).nonzero()[0]
        return Drawdown(pct, nonzero, pct[nonzero], pct[nonzero])
    return Drawdown(pct, ends, index[ends] - index[starts], peaks)


@kernel
def _drawdowns_of(equity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The drawdown per bar and, per drawdown, its last bar, the bar before it and its depth.

    A drawdown runs between two bars at a peak (drawdown exactly 0) that are not adjacent, or
    from the last peak to the last bar; its depth ignores NaN (as ``np.fmax``). The running peak
    propagates NaN (as ``np.maximum.accumulate``).
    """
    n = equity.shape[0]
    pct = np.empty(n)
    flat = np.empty(n + 1, dtype=np.int64)  # bars where the drawdown is 0, then the last bar
    k = 0
    peak = equity[0] if n else 0.0
    for i in range(n):
        value = equity[i]
        peak = value if value > peak or math.isnan(value) else peak
        pct[i] = 1 - value / peak
        if pct[i] == 0:
            flat[k] = i
            k += 1
    if k == 0 or flat[k - 1] != n - 1:
        flat[k] = n - 1
        k += 1
    ends, starts, peaks = np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64), np.empty(k)
    m = 0
    for j in range(k - 1):
        start, end = flat[j], flat[j + 1]
        if end > start + 1:
            deepest = pct[start]
            for i in range(start + 1, end + 1):
                v = pct[i]
                deepest = v if v > deepest or math.isnan(deepest) else deepest
            ends[m], starts[m], peaks[m] = end, start, deepest
            m += 1
    return pct, ends[:m], starts[:m], peaks[:m]


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
    return float(_placed_sum(values.astype(np.float64, copy=False), positions, n, chunk) / values.size)


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
    return s  # filled in ``STAT_NAMES`` order


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
    s["Exposure Time [%]"] = _exposed_bars(entry_bar, exit_bar, n) / n * 100
    s["Equity Final [$]"] = float(equity[-1])
    s["Equity Peak [$]"] = float(equity.max())
    s["Commissions [$]"] = float(commissions)
    s["Return [%]"] = float((equity[-1] - equity[0]) / equity[0] * 100)
    close = frame.benchmark
    s["Buy & Hold Return [%]"] = float((close[-1] - close[first]) / close[first] * 100)


def _risk(s: Stats, equity: np.ndarray, frame: Frame, dd: Drawdown, rf: float) -> None:
    g, var, mean_down, days = 0.0, _NAN, _NAN, frame.annual_days
    if frame.last is not None:
        day_returns, var, mean_down = _daily(equity, frame.last)
        g = geometric_mean(day_returns)
    growth = np.float64(1 + g)  # numpy powers overflow to inf (as in backtesting.py) instead of raising
    ann = float(growth**days - 1)
    s["Return (Ann.) [%]"] = ann * 100
    vol = float(np.sqrt((var + growth**2) ** days - growth ** (2 * days)) * 100)
    s["Volatility (Ann.) [%]"] = vol
    years = frame.years
    s["CAGR [%]"] = float((np.float64(equity[-1] / equity[0]) ** (1 / years) - 1) * 100) if years else _NAN
    s["Sharpe Ratio"] = (ann * 100 - rf * 100) / (vol or _NAN)
    downside = np.sqrt(mean_down) * np.sqrt(days)
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
    wins, best, worst, gains, losses, mean_return, var_pl, mean_pl, avg_win, avg_loss = _trade_figures(
        pl, returns
    )
    win_rate = wins / k
    s["Win Rate [%]"] = win_rate * 100
    s["Best Trade [%]"] = best * 100
    s["Worst Trade [%]"] = worst * 100
    s["Avg. Trade [%]"] = geometric_mean(returns) * 100
    index = frame.index
    durations = index[exit_bar] - index[entry_bar]
    mean = float(durations.sum(dtype=np.float64) / k)
    s["Max. Trade Duration"] = _duration(float(durations.max()), frame.unit)
    s["Avg. Trade Duration"] = _duration(
        float(np.int64(mean)) if frame.unit is not None else mean, frame.unit
    )
    s["Profit Factor"] = gains / (abs(losses) or _NAN)
    s["Expectancy [%]"] = mean_return * 100
    std = math.sqrt(var_pl)
    s["SQN"] = math.sqrt(k) * mean_pl / (std or _NAN)
    s["Kelly Criterion"] = float(win_rate - (1 - win_rate) / (np.float64(avg_win) / np.float64(-avg_loss)))


# -- compiled reductions, summed in numpy's order ------------------------------------------------
# numpy adds a contiguous float64 array pairwise (blocks of 8 partial sums, halves above 128
# values); an array it must cast first is summed in buffers of 8192 values. The kernels below
# repeat exactly that, so their sums are numpy's to the bit. Logarithms and powers stay in numpy
# (its vectorised ``log``/``exp`` are not the C library's).

CAST_CHUNK = 8192  # numpy's default buffer size


@kernel
def _block_sum(a: np.ndarray, first: int, n: int) -> float:
    """numpy's sum of at most 128 values: eight partial sums, then the rest one by one."""
    if n < 8:
        total = 0.0
        for i in range(first, first + n):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[first], a[first + 1], a[first + 2], a[first + 3]
    r4, r5, r6, r7 = a[first + 4], a[first + 5], a[first + 6], a[first + 7]
    i = 8
    while i < n - n % 8:
        j = first + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    paired: float = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(first + i, first + n):
        paired += a[j]
    return paired


@kernel
def pairwise_sum(a: np.ndarray, first: int, n: int) -> float:
    """``a[first : first + n].sum()`` in numpy's pairwise order: above 128 values, the sum of the
    two halves (the first rounded down to a multiple of 8). The halving tree is walked with an
    explicit stack: numba's cache cannot hold a recursive function."""
    starts, sizes = np.empty(64, dtype=np.int64), np.empty(64, dtype=np.int64)
    lefts, stage = np.empty(64), np.zeros(64, dtype=np.int64)  # stage 1: left half pending
    top = 0
    starts[0], sizes[0] = first, n
    while True:
        if sizes[top] > 128:  # descend into the left half
            half = sizes[top] // 2 - sizes[top] // 2 % 8
            stage[top] = 1
            starts[top + 1], sizes[top + 1], stage[top + 1] = starts[top], half, 0
            top += 1
            continue
        value = _block_sum(a, starts[top], sizes[top])
        while top > 0:  # hand the value up until a parent still needs its right half
            top -= 1
            if stage[top] == 1:
                lefts[top], stage[top] = value, 2
                half = sizes[top] // 2 - sizes[top] // 2 % 8
                starts[top + 1], sizes[top + 1], stage[top + 1] = starts[top] + half, sizes[top] - half, 0
                top += 1
                break
            value = lefts[top] + value
        else:
            return value


@kernel
def _sum(a: np.ndarray) -> float:
    """``a.sum()`` of a contiguous float64 array."""
    return pairwise_sum(a, 0, a.shape[0])


@kernel
def _placed_sum(values: np.ndarray, positions: np.ndarray, n: int, chunk: int) -> float:
    """Sum of an ``n``-long zero array with ``values`` at ``positions``, in buffers of ``chunk``."""
    full = np.zeros(n)
    for i in range(values.shape[0]):
        full[positions[i]] = values[i]
    total = 0.0
    for first in range(0, n, chunk):
        total += pairwise_sum(full, first, min(chunk, n - first))
    return total


@kernel
def _sample_var(x: np.ndarray) -> float:
    """Sample variance (ddof=1) as pandas computes it: ``((mean - x) ** 2).sum() / (n - 1)``."""
    n = x.shape[0]
    if n < 2:
        return np.nan
    avg = _sum(x) / n
    squares = np.empty(n)
    for i in range(n):
        d = avg - x[i]
        squares[i] = d * d
    var: float = _sum(squares) / (n - 1)
    return var


@kernel
def _masked_mean(x: np.ndarray, sign: float) -> float:
    """Mean of the values of ``x`` with the sign of ``sign`` (NaN if none), as ``x[x > 0].mean()``."""
    picked = np.empty(x.shape[0])
    m = 0
    for v in x:
        if v * sign > 0:
            picked[m] = v
            m += 1
    return pairwise_sum(picked, 0, m) / m if m else np.nan


@kernel
def _masked_sum(x: np.ndarray, sign: float) -> float:
    """Sum of the values of ``x`` with the sign of ``sign``, as ``x[x > 0].sum()``."""
    picked = np.empty(x.shape[0])
    m = 0
    for v in x:
        if v * sign > 0:
            picked[m] = v
            m += 1
    return pairwise_sum(picked, 0, m)


@kernel
def _extreme(x: np.ndarray, sign: float) -> float:
    """``x.max()`` (``sign = 1``) or ``x.min()`` (``sign = -1``): NaN if any value is NaN."""
    best: float = x[0]
    for v in x:
        if math.isnan(v):
            return float(v)
        if v * sign > best * sign:
            best = v
    return best


@kernel
def _trade_figures(
    pl: np.ndarray, returns: np.ndarray
) -> tuple[int, float, float, float, float, float, float, float, float, float]:
    """Wins, best and worst return, sums of positive and negative returns, mean return, sample
    variance and mean of P&L, mean win and mean loss (NaN without one)."""
    wins = 0
    for v in pl:
        wins += int(v > 0)
    return (
        wins,
        _extreme(returns, 1.0),
        _extreme(returns, -1.0),
        _masked_sum(returns, 1.0),
        _masked_sum(returns, -1.0),
        _sum(returns) / returns.shape[0],
        _sample_var(pl),
        _sum(pl) / pl.shape[0],
        _masked_mean(pl, 1.0),
        _masked_mean(pl, -1.0),
    )


@kernel
def _daily(equity: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Returns between the equity at consecutive period ends (NaN ones dropped), their sample
    variance, and the mean square of their negative parts."""
    m = last.shape[0]
    returns = np.empty(max(m - 1, 0))
    k = 0
    for i in range(1, m):
        r = equity[last[i]] / equity[last[i - 1]] - 1
        if not math.isnan(r):
            returns[k] = r
            k += 1
    returns = returns[:k]
    down = np.empty(k)
    for i in range(k):
        r = returns[i] if returns[i] < 0.0 else 0.0
        down[i] = r * r
    mean_down = _sum(down) / k if k else np.nan
    return returns, _sample_var(returns), mean_down


@kernel
def _exposed_bars(entry_bar: np.ndarray, exit_bar: np.ndarray, n: int) -> int:
    """Bars during which at least one trade was open (entry to exit bar, both included)."""
    cover = np.zeros(n + 1, dtype=np.int64)
    for b in entry_bar:
        cover[b] += 1
    for b in exit_bar:
        cover[b + 1] -= 1
    open_trades = count = 0
    for i in range(n):
        open_trades += cover[i]
        count += open_trades != 0
    return count

"""Compiled loops of the statistics, adding in numpy's order so that their sums are numpy's to the bit.

numpy adds a contiguous float64 array pairwise (blocks of 8 partial sums, halves above 128 values);
an array it must cast first is summed in buffers of 8192 values. ``pairwise_sum`` repeats exactly
that. Logarithms and powers stay in numpy (its vectorised ``log``/``exp`` are not the C library's).
Kernels call only kernels of this module (see ``quanta._jit``).
"""

from __future__ import annotations

import math

import numpy as np

from quanta._jit import kernel

CAST_CHUNK = 8192  # numpy's default buffer size


@kernel
def drawdowns_of(equity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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


@kernel
def deepest_drawdown(equity: np.ndarray) -> float:
    """``drawdowns_of(equity)[0].max()`` without the arrays: the largest ``1 - equity / running
    peak``, NaN when any bar's is NaN (as numpy's ``max``)."""
    worst: float = np.nan
    peak = equity[0] if equity.shape[0] else 0.0
    for i in range(equity.shape[0]):
        value = equity[i]
        peak = value if value > peak or math.isnan(value) else peak
        pct = 1 - value / peak
        if math.isnan(pct):
            return np.nan
        worst = pct if i == 0 or pct > worst else worst
    return worst


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
def placed_sum(values: np.ndarray, positions: np.ndarray, n: int, chunk: int) -> float:
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
def trade_figures(
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
def period_growth(equity: np.ndarray, last: np.ndarray, growth: np.ndarray) -> tuple[int, float, float]:
    """The returns ``r`` between the equity at consecutive period ends, NaN ones dropped: writes
    ``1 + r`` to the start of ``growth`` (at least ``len(last) - 1`` long) and returns how many,
    their sample variance and the mean square of their negative parts."""
    m = last.shape[0]
    returns = np.empty(max(m - 1, 0))
    k = 0
    for i in range(1, m):
        r = equity[last[i]] / equity[last[i - 1]] - 1
        if not math.isnan(r):
            returns[k] = r
            growth[k] = r + 1
            k += 1
    returns = returns[:k]
    down = np.empty(k)
    for i in range(k):
        r = returns[i] if returns[i] < 0.0 else 0.0
        down[i] = r * r
    mean_down = _sum(down) / k if k else np.nan
    return k, _sample_var(returns), mean_down


@kernel
def exposed_bars(entry_bar: np.ndarray, exit_bar: np.ndarray, n: int) -> int:
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

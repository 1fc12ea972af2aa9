"""Moving-average kernels shared by every family, and the ``matype`` dispatch.

Kernels take a clean array (no leading NaN) and return a same-length array whose first
``ma_lookback(period, matype)`` values are meaningless (callers blank them).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from quanta._jit import kernel
from quanta.indicators._core import Array, on_tail
from quanta.indicators._hilbert import MAMA, hilbert

RESTART = 64  # running window sums are recomputed from scratch at least every this many bars


class MA_Type(IntEnum):  # noqa: N801 - TA-Lib's name, kept for drop-in use
    """Moving-average types accepted by ``matype`` parameters (TA-Lib's numbering)."""

    SMA = 0
    EMA = 1
    WMA = 2
    DEMA = 3
    TEMA = 4
    TRIMA = 5
    KAMA = 6
    MAMA = 7
    T3 = 8


def check_matype(value: object, name: str = "matype") -> MA_Type:
    """Validate a ``matype`` parameter."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer 0-8 (see MA_Type), got {value!r}")
    try:
        return MA_Type(int(value))
    except ValueError:
        raise ValueError(f"{name} must be in [0, 8] (see MA_Type), got {value}") from None


@kernel
def sma(x: Array, period: int) -> Array:
    """Simple moving average: TA-Lib's running total divided by the period."""
    n = len(x)
    out = np.empty(n)
    out[: min(period - 1, n)] = np.nan
    total = 0.0
    for i in range(min(period - 1, n)):
        total += x[i]
    for i in range(period - 1, n):
        total += x[i]
        window = total
        total -= x[i - period + 1]
        out[i] = window / period
    return out


@kernel
def ema_cascade(x: Array, period: int, k: float, weights: Array) -> Array:
    """``sum(weights[d] * e[d])`` for up to six EMAs in cascade: ``e[0]`` of ``x``, ``e[d]`` of
    ``e[d - 1]``, each ``e = k v + (1 - k) e``.

    Each EMA is seeded with the simple average of its first ``period`` inputs, as TA-Lib's
    ``INT_EMA`` applied to the previous one's output; the result starts at bar
    ``len(weights) * (period - 1)``. After that bar every EMA updates on every bar, with the
    states held in registers (a chain of one multiply and one add per bar).
    """
    n, depth = len(x), len(weights)
    out = np.empty(n)
    valid = depth * (period - 1)
    out[: min(valid, n)] = np.nan
    level = np.zeros(6)  # each EMA's seed total until its seed bar, then its value
    c = 1.0 - k
    for i in range(min(valid + 1, n)):
        v = x[i]
        for d in range(depth):
            ready = (d + 1) * (period - 1)  # the bar where e[d] gets its seed
            if i < ready:
                level[d] += v
                break
            level[d] = (level[d] + v) / period if i == ready else k * v + c * level[d]
            v = level[d]
    if valid < n:
        total = weights[0] * level[0]
        for d in range(1, depth):
            total += weights[d] * level[d]
        out[valid] = total
    w = np.zeros(6)
    w[:depth] = weights
    e0, e1, e2, e3, e4, e5 = level[0], level[1], level[2], level[3], level[4], level[5]
    for i in range(valid + 1, n):
        e0 = k * x[i] + c * e0
        total = w[0] * e0
        if depth > 1:
            e1 = k * e0 + c * e1
            total += w[1] * e1
        if depth > 2:
            e2 = k * e1 + c * e2
            total += w[2] * e2
        if depth > 3:
            e3 = k * e2 + c * e3
            total += w[3] * e3
        if depth > 4:
            e4 = k * e3 + c * e4
            total += w[4] * e4
        if depth > 5:
            e5 = k * e4 + c * e5
            total += w[5] * e5
        out[i] = total
    return out


@kernel
def wma(x: Array, period: int) -> Array:
    """Linearly weighted moving average (newest bar weighs ``period``).

    TA-Lib's running weighted and plain totals, recomputed from the window every few hundred
    bars so the rounding error never grows with the length of the series.
    """
    n = len(x)
    out = np.empty(n)
    out[: min(period - 1, n)] = np.nan
    divider = period * (period + 1) / 2.0
    every = max(RESTART, 4 * period)
    weighted = plain = trailing = 0.0
    countdown = 1
    for i in range(period - 1, n):
        countdown -= 1
        if countdown == 0:
            countdown = every
            plain = weighted = 0.0
            for j in range(period):
                value = x[i - period + 1 + j]
                plain += value
                weighted += value * (j + 1)
        else:
            plain += x[i]
            plain -= trailing
            weighted += x[i] * period
        trailing = x[i - period + 1]
        out[i] = weighted / divider
        weighted -= plain
    return out


def ema_of_ema(x: Array, period: int, depth: int) -> Array:
    """The ``depth``-th EMA in cascade (TRIX uses the third)."""
    weights = np.zeros(depth)
    weights[-1] = 1.0
    return ema_cascade(x, period, 2.0 / (period + 1), weights)


@kernel
def trima(x: Array, period: int) -> Array:
    """Triangular moving average: an SMA (of half the period) of an SMA, in one pass.

    Both running totals are recomputed from their windows every few hundred bars, so their
    rounding error does not grow with the series.
    """
    first = (period + 1) // 2 if period % 2 else period // 2
    second = period + 1 - first
    n = len(x)
    out = np.empty(n)
    out[: min(period - 1, n)] = np.nan
    ring = np.empty(second)  # the last ``second`` inner averages, oldest at ``slot`` once full
    inner = outer = 0.0
    slot, countdown = 0, max(RESTART, 4 * period)
    for i in range(n):
        inner += x[i]
        if i < first - 1:
            continue
        mean = inner / first
        inner -= x[i - first + 1]
        outer += mean
        ring[slot] = mean
        slot = slot + 1 if slot + 1 < second else 0
        if i < period - 1:
            continue
        out[i] = outer / second
        outer -= ring[slot]  # the oldest, about to be overwritten
        countdown -= 1
        if countdown == 0:  # totals of what stays in the windows, from scratch
            countdown = max(RESTART, 4 * period)
            inner = 0.0
            for j in range(i - first + 2, i + 1):
                inner += x[j]
            outer = 0.0
            for age in range(1, second):
                outer += ring[(slot + age) % second]
    return out


@kernel
def kama(x: Array, period: int) -> Array:
    """Kaufman adaptive moving average (seeded with the bar before the first output).

    The noise (sum of absolute one-bar changes over the window) is a running total, set to
    exactly 0 when every change in the window is 0 and recomputed every few hundred bars.
    """
    n = len(x)
    out = np.empty(n)
    out[: min(period, n)] = np.nan
    if n <= period:
        return out
    fast, slow = 2.0 / 3.0, 2.0 / 31.0
    every = max(RESTART, 4 * period)
    y = x[period - 1]
    noise = 0.0
    moved = 0  # the last bar that changed
    for j in range(1, period):
        if x[j] != x[j - 1]:
            moved = j
    countdown = 1
    for i in range(period, n):
        step = abs(x[i] - x[i - 1])
        if step != 0.0:
            moved = i
        countdown -= 1
        if countdown == 0:
            countdown = every
            noise = 0.0
            for j in range(i - period + 1, i + 1):
                noise += abs(x[j] - x[j - 1])
        else:
            noise += step
            noise -= abs(x[i - period] - x[i - period - 1])
        if i - moved >= period:
            noise = 0.0
        change = abs(x[i] - x[i - period])
        ratio = 1.0 if noise <= change else change / noise
        sc = ratio * (fast - slow) + slow
        sc *= sc
        y = sc * x[i] + (1.0 - sc) * y
        out[i] = y
    return out


def t3(x: Array, period: int, vfactor: float = 0.7) -> Array:
    """Tillson T3: six cascaded EMAs blended with the volume factor."""
    return ema_cascade(x, period, 2.0 / (period + 1), cascade_weights(int(MA_Type.T3), vfactor))


@kernel
def cascade_weights(kind: int, vfactor: float) -> Array:
    """How EMA, DEMA (``2 e1 - e2``), TEMA (``3 e1 - 3 e2 + e3``) and Tillson's T3 (``e3`` to
    ``e6`` blended with the volume factor) combine the EMAs of a cascade."""
    if kind == MA_Type.DEMA:
        return np.array([2.0, -1.0])
    if kind == MA_Type.TEMA:
        return np.array([3.0, -3.0, 1.0])
    if kind == MA_Type.T3:
        a = vfactor
        c1 = -(a**3)
        c2 = 3 * a**2 + 3 * a**3
        c3 = -6 * a**2 - 3 * a - 3 * a**3
        c4 = 1 + 3 * a + a**3 + 3 * a**2
        return np.array([0.0, 0.0, c4, c3, c2, c1])
    return np.ones(1)


@kernel
def moving_average(x: Array, period: int, kind: int) -> Array:
    """``MA(x, period, kind)`` from the first bar, for every ``kind`` but MAMA."""
    if period == 1:
        return x.copy()
    if kind == MA_Type.SMA:
        return sma(x, period)
    if kind == MA_Type.WMA:
        return wma(x, period)
    if kind == MA_Type.TRIMA:
        return trima(x, period)
    if kind == MA_Type.KAMA:
        return kama(x, period)
    return ema_cascade(x, period, 2.0 / (period + 1), cascade_weights(kind, 0.7))


@kernel
def lookback(period: int, kind: int) -> int:
    """Warm-up bars of ``MA(period, kind)``; a period of 1 is the identity."""
    if period == 1:
        return 0
    if kind == MA_Type.KAMA:
        return period
    if kind == MA_Type.MAMA:
        return 32
    levels = 2 if kind == MA_Type.DEMA else 3 if kind == MA_Type.TEMA else 6 if kind == MA_Type.T3 else 1
    return levels * (period - 1)


@kernel
def mavp(x: Array, periods: Array, shortest: int, longest: int, kind: int, start: int) -> Array:  # noqa: PLR0917
    """Per bar from ``start``, the MA of that bar's period (truncated, clamped to
    ``[shortest, longest]``), computed as TA-Lib does for outputs from ``start`` on: once per
    distinct period, seeded ``lookback`` bars before ``start``. NaN where the period is NaN."""
    n = len(x)
    out = np.empty(n)
    out[:] = np.nan
    chosen = np.zeros(n, dtype=np.int64)
    count = np.zeros(longest + 2, dtype=np.int64)
    for i in range(start, n):
        if periods[i] == periods[i]:
            q = int(min(max(periods[i], float(shortest)), float(longest)))
            chosen[i] = q
            count[q + 1] += 1
    for q in range(1, longest + 2):  # counting sort: bars of period q at order[count[q]:count[q + 1]]
        count[q] += count[q - 1]
    order = np.empty(count[longest + 1], dtype=np.int64)
    fill = count.copy()
    for i in range(start, n):
        q = chosen[i]
        if q:
            order[fill[q]] = i
            fill[q] += 1
    for q in range(shortest, longest + 1):
        if count[q + 1] > count[q]:
            offset = start - lookback(q, kind)
            values = moving_average(x[offset:], q, kind)
            for at in range(count[q], count[q + 1]):
                i = order[at]
                out[i] = values[i - offset]
    return out


def mama_only(x: Array, period: int) -> Array:
    """MAMA with TA-Lib's default limits, as used by ``matype=7`` (period is ignored)."""
    return hilbert(x, MAMA, 0.5, 0.05)[0]


@kernel
def macd(  # noqa: PLR0917 - compiled kernels take positional arguments
    x: Array, fast: int, k_fast: float, slow: int, k_slow: float, signal: int
) -> tuple[Array, Array, Array]:
    """MACD line, signal and histogram with EMAs, seeded as TA-Lib seeds them.

    The slow EMA starts at bar 0, the fast one ``slow - fast`` bars later so both are first
    defined at bar ``slow - 1``; the signal EMA of the line starts there.
    """
    n = len(x)
    line, sig, hist = np.empty(n), np.empty(n), np.empty(n)
    start = slow - 1
    valid = start + signal - 1
    line[: min(start, n)] = np.nan
    sig[: min(valid, n)] = np.nan
    hist[: min(valid, n)] = np.nan
    k_sig = 2.0 / (signal + 1)
    c_fast, c_slow, c_sig = 1.0 - k_fast, 1.0 - k_slow, 1.0 - k_sig
    f = s = g = 0.0
    for i in range(n):
        v = x[i]
        if i < start:
            s += v
            if i >= start - fast + 1:
                f += v
            continue
        if i == start:
            s = (s + v) / slow
            f = (f + v) / fast
        else:
            s = k_slow * v + c_slow * s
            f = k_fast * v + c_fast * f
        m = f - s
        line[i] = m
        if signal == 1:
            g = m
        elif i < valid:
            g += m
            continue
        elif i == valid:
            g = (g + m) / signal
        else:
            g = k_sig * m + c_sig * g
        sig[i] = g
        hist[i] = m - g
    return line, sig, hist


def ma_lookback(period: int, matype: int) -> int:
    """Warm-up bars of ``MA(period, matype)``; a period of 1 is the identity."""
    return int(lookback(int(period), int(matype)))


def ma(x: Array, period: int, matype: int) -> Array:
    """``MA(x, period, matype)`` computed from the first bar."""
    if matype == MA_Type.MAMA and period != 1:
        return mama_only(x, period)
    return moving_average(x, int(period), int(matype))


def ma_from(x: Array, period: int, matype: int, start: int) -> Array:
    """The MA as TA-Lib computes it when asked for outputs from bar ``start`` onwards.

    Recursive averages (EMA, KAMA, MAMA…) are then seeded at ``start - lookback`` rather than at
    bar 0, which composite indicators (APO, PPO, MACD, MAVP) rely on.
    """
    offset = start - ma_lookback(period, matype)
    out = on_tail(lambda v: ma(v, period, matype), x, offset)
    out[:start] = np.nan
    return out

"""Trailing-window extremes: MAX/MIN, midpoints, the stochastic %K, Williams' %R and Aroon.

Extremes use van Herk and Gil-Werman's blocks: cut the series into blocks of ``period`` bars; a
window is the tail of one block and the head of the next, so its extreme is the larger of a
suffix extreme (computed backwards once per block) and a running prefix extreme. Three
comparisons per bar whatever the data. Minima are maxima of negated values (negation is exact).
A NaN inside the window makes the output NaN.

Aroon needs the extreme's bar (ties go to the latest), so it keeps TA-Lib's scan: remember that bar
and rescan the window only when it leaves.
"""

from __future__ import annotations

import math

import numpy as np

from quanta._jit import kernel
from quanta.indicators._core import TOLERANCE, Array

HIGHEST, LOWEST, MIDPOINT, STOCHASTIC, WILLIAMS = 0, 1, 2, 3, 4  # ``window_range`` outputs


@kernel
def suffix_extremes(x: Array, start: int, period: int, sign: float, out: Array) -> None:
    """``out[k] = max(sign * x[start + k : start + period])`` for the block at ``start``."""
    best = sign * x[start + period - 1]
    out[period - 1] = best
    for k in range(period - 2, -1, -1):
        best = max(best, sign * x[start + k])
        out[k] = best


@kernel
def blank_nan_windows(x: Array, period: int, out: Array) -> None:
    """Set ``out`` to NaN wherever the trailing window of ``x`` holds a NaN."""
    for j in range(len(x)):
        if x[j] != x[j]:
            out[j : j + period] = np.nan


@kernel
def rolling_extreme(x: Array, period: int, sign: float) -> Array:
    """Trailing window maximum (``sign = 1``) or minimum (``sign = -1``), NaN before ``period - 1``."""
    n = len(x)
    out = np.empty(n)
    suffix = np.empty(period + 1)
    suffix[period] = -np.inf  # a window that is exactly one block has no suffix part
    has_nan = False
    for start in range(0, n, period):
        if start:
            suffix_extremes(x, start - period, period, sign, suffix)
        else:
            suffix[:period] = -np.inf
        best = -np.inf
        for i in range(start, min(start + period, n)):
            v = x[i]
            has_nan |= math.isnan(v)
            best = max(best, sign * v)
            out[i] = sign * max(suffix[i - start + 1], best)
    out[: min(period - 1, n)] = np.nan
    if has_nan:
        blank_nan_windows(x, period, out)
    return out


def rolling_max(x: Array, period: int) -> Array:
    """Trailing window maximum (NaN before ``period - 1``)."""
    return rolling_extreme(x, period, 1.0)


def rolling_min(x: Array, period: int) -> Array:
    """Trailing window minimum (NaN before ``period - 1``)."""
    return rolling_extreme(x, period, -1.0)


@kernel
def window_range(high: Array, low: Array, close: Array, period: int, what: int) -> Array:
    """From the highest ``high`` and lowest ``low`` of each trailing window, ``what``: either
    extreme, their midpoint, the stochastic %K ``100 (close - lowest) / (highest - lowest)`` or
    Williams' %R ``-100 (highest - close) / (highest - lowest)`` (both 0 on a flat range)."""
    n = len(high)
    out = np.empty(n)
    top_suffix, bottom_suffix = np.empty(period + 1), np.empty(period + 1)
    top_suffix[period] = bottom_suffix[period] = -np.inf
    has_nan = False
    for start in range(0, n, period):
        if start:
            suffix_extremes(high, start - period, period, 1.0, top_suffix)
            suffix_extremes(low, start - period, period, -1.0, bottom_suffix)
        else:
            top_suffix[:period] = -np.inf
            bottom_suffix[:period] = -np.inf
        top_run = bottom_run = -np.inf
        for i in range(start, min(start + period, n)):
            h, lo = high[i], low[i]
            has_nan |= math.isnan(h) or math.isnan(lo)
            top_run = max(top_run, h)
            bottom_run = max(bottom_run, -lo)
            top = max(top_suffix[i - start + 1], top_run)
            bottom = -max(bottom_suffix[i - start + 1], bottom_run)
            out[i] = range_value(top, bottom, close[i], what)
    out[: min(period - 1, n)] = np.nan
    if has_nan:
        blank_nan_windows(high, period, out)
        blank_nan_windows(low, period, out)
    return out


@kernel(inline=True)
def range_value(top: float, bottom: float, close: float, what: int) -> float:
    """One bar of ``window_range``."""
    if what == HIGHEST:
        return top
    if what == LOWEST:
        return bottom
    if what == MIDPOINT:
        return (top + bottom) / 2.0
    if abs(top - bottom) <= TOLERANCE * (abs(top) + abs(bottom)):
        return 0.0
    if what == WILLIAMS:
        return (top - close) / ((top - bottom) / -100.0)
    return (close - bottom) / ((top - bottom) / 100.0)


@kernel(inline=True)
def track(x: Array, i: int, first: int, at: int, highest: bool) -> int:
    """Bar of the extreme of ``x[first : i + 1]``, given ``at``, the one of the window before."""
    if at < first:
        at = first
        for j in range(first + 1, i + 1):
            if (x[j] >= x[at]) if highest else (x[j] <= x[at]):
                at = j
    elif (x[i] >= x[at]) if highest else (x[i] <= x[at]):
        at = i
    return at


@kernel
def aroon(high: Array, low: Array, period: int) -> tuple[Array, Array]:
    """Aroon down and up: ``100 / period * (period - bars since the extreme)`` over ``period + 1``
    bars."""
    n = len(high)
    down, up = np.empty(n), np.empty(n)
    down[: min(period, n)] = np.nan
    up[: min(period, n)] = np.nan
    factor = 100.0 / period
    hi = lo = -1
    for i in range(n):
        first = max(i - period, 0)
        hi = track(high, i, first, hi, True)
        lo = track(low, i, first, lo, False)
        if i >= period:
            up[i] = factor * (period - (i - hi))
            down[i] = factor * (period - (i - lo))
    return down, up


@kernel
def aroon_oscillator(high: Array, low: Array, period: int) -> Array:
    """Aroon up minus Aroon down: ``100 / period * (bar of the high - bar of the low)``."""
    n = len(high)
    out = np.empty(n)
    out[: min(period, n)] = np.nan
    hi = lo = -1
    for i in range(n):
        first = max(i - period, 0)
        hi = track(high, i, first, hi, True)
        lo = track(low, i, first, lo, False)
        if i >= period:
            out[i] = (100.0 / period) * (hi - lo)
    return out

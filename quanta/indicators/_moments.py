"""Accurate trailing-window sums and moments (variance, standard deviation, correlation, beta).

Running totals are recomputed from the window every ``max(64, 2 * period)`` bars, so their
rounding error never grows with the length of the series. Moments are taken about an anchor (the
first bar of each such block), so ``E[d²] - E[d]²`` does not cancel at the scale of the price
level; a window whose variance is still tiny next to that anchored second moment (a near-flat
stretch, say) is recomputed with the exact two-pass formula, and a flat window's variance is
exactly 0.
"""

from __future__ import annotations

import math

import numpy as np

from quanta._jit import kernel
from quanta.indicators._core import Array

ILL_CONDITIONED = 1e-4  # recompute a window when variance < 1e-4 × anchored second moment
BLOCK = 64  # windows per block, at least (2 × period for long periods)
VARIANCE, STDDEV, CORRELATION, BETA = 0, 1, 2, 3  # what ``moments`` returns


@kernel
def window_sum(x: Array, period: int) -> Array:
    """Trailing window sums (NaN before ``period - 1``): TA-Lib's running total, recomputed from
    the window every ``max(64, 2 * period)`` bars."""
    n = len(x)
    out = np.empty(n)
    out[: min(period - 1, n)] = np.nan
    total, countdown = 0.0, 1
    for i in range(period - 1, n):
        countdown -= 1
        if countdown == 0:
            countdown = max(BLOCK, 2 * period)
            total = 0.0
            for j in range(i - period + 1, i + 1):
                total += x[j]
        else:
            total += x[i]
            total -= x[i - period]
        out[i] = total
    return out


@kernel(inline=True)
def point(x: Array, j: int, returns: bool) -> float:
    """``x[j]``, or with ``returns`` the one-bar return ``x[j] / x[j-1] - 1`` (0 after a 0)."""
    if not returns:
        value: float = x[j]
        return value
    prev = x[j - 1]
    return 0.0 if prev == 0.0 else (x[j] - prev) / prev


@kernel(inline=True)
def back(slot: int, steps: int, size: int) -> int:
    """The ring slot ``steps`` places before ``slot``."""
    at = slot - steps
    return at + size if at < 0 else at


@kernel
def moments(x: Array, y: Array, period: int, what: int, factor: float) -> Array:  # noqa: PLR0915 - one pass
    """One statistic of each trailing window of ``period`` values, NaN during the warm-up.

    ``VARIANCE`` and ``STDDEV`` (times ``factor``) of ``x`` (population; exactly 0 on a flat
    window), the ``CORRELATION`` of ``x`` and ``y`` (0 when either is flat), or the ``BETA`` of
    ``y``'s one-bar returns on ``x``'s (0 when ``x``'s returns are flat; the first return is at
    bar 1). The last ``period + 1`` values live in rings.
    """
    returns, single = what == BETA, what <= STDDEV
    first = 1 if returns else 0  # the first bar with a value
    lookback = period - 1 + first
    n = len(x)
    out = np.empty(n)
    out[: min(lookback, n)] = np.nan
    size, inv = period + 1, 1.0 / period
    ring_x, ring_y = np.zeros(size), np.zeros(size)
    kx = ky = sx = sy = sxx = syy = sxy = 0.0
    flat_x = flat_y = 0  # values in a row equal to their predecessor
    last_x = last_y = np.nan
    slot, countdown = size - 1, 1
    for i in range(first, n):
        vx = point(x, i, returns)
        slot = slot + 1 if slot + 1 < size else 0
        ring_x[slot] = vx
        flat_x = flat_x + 1 if vx == last_x else 0
        last_x = vx
        vy = vx
        if not single:
            vy = point(y, i, returns)
            ring_y[slot] = vy
            flat_y = flat_y + 1 if vy == last_y else 0
            last_y = vy
        if i < lookback:
            continue
        countdown -= 1
        if countdown == 0:  # new anchors; totals from scratch
            countdown = max(BLOCK, 2 * period)
            kx, ky, sx, sy, sxx, syy, sxy = anchored_totals(ring_x, ring_y, slot, period, single)
        else:
            old = back(slot, period, size)
            dx, ox = vx - kx, ring_x[old] - kx
            sx += dx
            sx -= ox
            sxx += dx * dx
            sxx -= ox * ox
            if not single:
                dy, oy = vy - ky, ring_y[old] - ky
                sy += dy
                sy -= oy
                syy += dy * dy
                syy -= oy * oy
                sxy += dx * dy
                sxy -= ox * oy
        mx, my = sx * inv, sy * inv
        var_x = sxx * inv - mx * mx
        var_y = syy * inv - my * my
        cov = sxy * inv - mx * my
        shaky = var_x < ILL_CONDITIONED * (sxx * inv)
        if not single:
            shaky = shaky or var_y < ILL_CONDITIONED * (syy * inv)
        if shaky:
            var_x, var_y, cov = two_pass(ring_x, ring_y, slot, period)
        out[i] = statistic(what, var_x, var_y, cov, flat_x >= period - 1, flat_y >= period - 1, factor)
    return out


@kernel(inline=True)
def statistic(  # noqa: PLR0917 - compiled kernels take positional arguments
    what: int, var_x: float, var_y: float, cov: float, flat_x: bool, flat_y: bool, factor: float
) -> float:
    """``moments``' output for one window from its variances, covariance and flatness."""
    if what <= STDDEV:  # VARIANCE or STDDEV
        var_x = 0.0 if flat_x or var_x < 0.0 else var_x
        return var_x if what == VARIANCE else math.sqrt(var_x) * factor
    if what == CORRELATION:
        spread = var_x * var_y
        return 0.0 if flat_x or flat_y or not spread > 0.0 else cov / math.sqrt(spread)
    return 0.0 if flat_x or not var_x > 0.0 else cov / var_x


@kernel
def anchored_totals(
    ring_x: Array, ring_y: Array, slot: int, period: int, single: bool
) -> tuple[float, float, float, float, float, float, float]:
    """Anchors (the window's oldest values) and the window's totals of deviations from them, their
    squares and products, for the ``period`` values of the rings up to ``slot``."""
    size = len(ring_x)
    oldest = back(slot, period - 1, size)
    kx, ky = ring_x[oldest], ring_y[oldest]
    sx = sy = sxx = syy = sxy = 0.0
    for steps in range(period - 1, -1, -1):
        at = back(slot, steps, size)
        dx = ring_x[at] - kx
        sx += dx
        sxx += dx * dx
        if not single:
            dy = ring_y[at] - ky
            sy += dy
            syy += dy * dy
            sxy += dx * dy
    return kx, ky, sx, sy, sxx, syy, sxy


@kernel
def two_pass(ring_x: Array, ring_y: Array, slot: int, period: int) -> tuple[float, float, float]:
    """Exact variances and covariance of the ``period`` values of the rings up to ``slot``."""
    size = len(ring_x)
    mx = my = 0.0
    for steps in range(period - 1, -1, -1):
        at = back(slot, steps, size)
        mx += ring_x[at]
        my += ring_y[at]
    mx /= period
    my /= period
    vx = vy = c = 0.0
    for steps in range(period - 1, -1, -1):
        at = back(slot, steps, size)
        ax, ay = ring_x[at] - mx, ring_y[at] - my
        vx += ax * ax
        vy += ay * ay
        c += ax * ay
    return vx / period, vy / period, c / period


def variance(x: Array, period: int) -> Array:
    """Population variance over the trailing window (exactly 0 on a flat window, never < 0)."""
    return moments(x, x, period, VARIANCE, 1.0)


def stddev(x: Array, period: int, factor: float = 1.0) -> Array:
    """``factor`` × the population standard deviation over the trailing window."""
    return moments(x, x, period, STDDEV, factor)


def correlation(x: Array, y: Array, period: int) -> Array:
    """Pearson correlation over the trailing window (0 when either series is flat in it)."""
    return moments(x, y, period, CORRELATION, 1.0)


def beta(x: Array, y: Array, period: int) -> Array:
    """Beta of ``y``'s one-bar returns on ``x``'s over ``period`` returns (0 when ``x``'s are
    flat); NaN before bar ``period``."""
    return moments(x, y, period, BETA, 1.0)

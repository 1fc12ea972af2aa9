"""Wilder's directional movement system: +DM, -DM, +DI, -DI, DX, ADX and ADXR kernels.

TA-Lib seeds each running total with the plain sum of the first ``period - 1`` bar values and
then applies Wilder's update ``s = s - s / period + value``.
"""

from __future__ import annotations

import numpy as np

from quanta.indicators._core import (
    Array,
    decaying_sum,
    guarded_div,
    linear_recurrence,
    nan_array,
    true_range,
    zero_or_nan,
)


def directional_movement(high: Array, low: Array) -> tuple[Array, Array]:
    """One-bar +DM and -DM from bar 1 on (bar 0 is NaN)."""
    up = np.diff(high, prepend=np.nan)
    down = -np.diff(low, prepend=np.nan)
    plus = np.where((up > 0) & (up > down), up, 0.0)
    minus = np.where((down > 0) & (down > up), down, 0.0)
    plus[0] = minus[0] = np.nan
    return plus, minus


def wilder_total(values: Array, period: int) -> Array:
    """Wilder's running total of ``values[1:]``, first defined at bar ``period - 1``."""
    seed = float(np.sum(values[1:period]))
    return decaying_sum(values, period, seed, period - 1)


def dm_kernel(high: Array, low: Array, period: int, *, plus: bool) -> Array:
    """Smoothed +DM or -DM (raw one-bar values when ``period == 1``)."""
    dm = directional_movement(high, low)[0 if plus else 1]
    return dm if period == 1 else wilder_total(dm, period)


def di_kernel(high: Array, low: Array, close: Array, period: int, *, plus: bool) -> Array:
    """+DI or -DI: ``100 * DM / TR`` of the smoothed totals, 0 when the range total is 0.

    With ``period == 1`` TA-Lib reports the bare one-bar ratio ``DM / TR`` (no factor 100).
    """
    dm = dm_kernel(high, low, period, plus=plus)
    tr = true_range(high, low, close)
    scale = 1.0 if period == 1 else 100.0
    if period > 1:
        tr = wilder_total(tr, period)
    return guarded_div(scale * dm, tr, zero_if=zero_or_nan(tr))


def dx_kernel(high: Array, low: Array, close: Array, period: int) -> tuple[Array, Array]:
    """DX and a mask of the bars where it is defined (both DI and their sum non-zero)."""
    dm_p, dm_m = directional_movement(high, low)
    tr = true_range(high, low, close)
    sp, sm, st = (wilder_total(v, period) for v in (dm_p, dm_m, tr))
    bad_tr = zero_or_nan(st)
    di_p = guarded_div(100.0 * sp, st, zero_if=bad_tr)
    di_m = guarded_div(100.0 * sm, st, zero_if=bad_tr)
    total = di_p + di_m
    defined = ~bad_tr & (total != 0.0)
    dx = guarded_div(100.0 * np.abs(di_m - di_p), total, zero_if=~defined)
    dx[: period - 1] = np.nan
    return dx, defined


def dx_series(high: Array, low: Array, close: Array, period: int) -> Array:
    """DX, repeating the previous value where it is undefined (0 before any defined bar)."""
    dx, defined = dx_kernel(high, low, close, period)
    defined[:period] = False
    idx = np.where(defined, np.arange(len(dx)), 0)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx > 0, dx[idx], np.where(defined, dx, 0.0))


def adx_kernel(high: Array, low: Array, close: Array, period: int) -> Array:
    """ADX: mean of the first ``period`` DX values, then Wilder-smoothed over defined DX."""
    dx, defined = dx_kernel(high, low, close, period)
    out = nan_array(len(dx))
    first = 2 * period - 1
    if len(dx) <= first:
        return out
    seed = float(np.sum(np.where(defined[period : first + 1], dx[period : first + 1], 0.0))) / period
    tail = slice(first + 1, None)
    k = np.where(defined[tail], 1.0 / period, 0.0)
    out[first] = seed
    out[first + 1 :] = linear_recurrence(1.0 - k, k * np.where(defined[tail], dx[tail], 0.0), seed)
    return out

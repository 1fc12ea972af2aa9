"""Kernels built on Wilder's true range: TRANGE, ATR, NATR, ULTOSC and the directional movement
system (+DM, -DM, +DI, -DI, DX, ADX, ADXR).

TA-Lib seeds each directional running total with the plain sum of the first ``period - 1`` bar
values and then applies Wilder's update ``s = s - s / period + value``, written here as
``s (1 - 1/period) + value`` so that the loop carries a multiply and an add, not a division.
"""

from __future__ import annotations

import math

import numpy as np

from quanta._jit import kernel
from quanta.indicators._core import Array

DX, ADX, ADXR = 0, 1, 2  # what ``directional_index`` returns


@kernel(inline=True)
def movement(high: Array, low: Array, i: int) -> tuple[float, float]:
    """One-bar +DM and -DM at bar ``i >= 1``: the larger of the up and down moves, if positive."""
    up = high[i] - high[i - 1]
    down = low[i - 1] - low[i]
    plus = up if up > 0 and up > down else 0.0
    minus = down if down > 0 and down > up else 0.0
    return plus, minus


@kernel(inline=True)
def true_range_at(high: Array, low: Array, close: Array, i: int) -> float:
    """Wilder's true range at bar ``i >= 1`` (NaN propagates)."""
    rng: float = high[i] - low[i]
    up: float = abs(high[i] - close[i - 1])
    down: float = abs(low[i] - close[i - 1])
    top = rng if rng >= up or math.isnan(rng) else up
    return top if top >= down or math.isnan(top) else down


@kernel
def true_range(high: Array, low: Array, close: Array) -> Array:
    """Wilder's true range from bar 1 on (bar 0 is NaN)."""
    n = len(high)
    out = np.empty(n)
    out[: min(1, n)] = np.nan
    for i in range(1, n):
        out[i] = true_range_at(high, low, close, i)
    return out


@kernel
def atr(high: Array, low: Array, close: Array, period: int, normalized: bool) -> Array:
    """Average true range (NaN before bar ``period``), or ``100 * ATR / close`` (0 where the close
    is 0). The mean of the first ``period`` ranges seeds Wilder's ``atr (1 - 1/period) + tr /
    period``."""
    n = len(high)
    out = np.empty(n)
    out[: min(period, n)] = np.nan
    value = 0.0
    k = 1.0 / period
    decay = 1.0 - k
    for i in range(1, n):
        rng = true_range_at(high, low, close, i)
        if period == 1:
            value = rng
        elif i < period:
            value += rng
            continue
        elif i == period:
            value = (value + rng) / period
        else:
            value = value * decay + rng * k
        if not normalized:
            out[i] = value
        else:
            last = close[i]
            out[i] = 0.0 if last == 0.0 or math.isnan(last) else (value / last) * 100.0
    return out


@kernel
def ultimate_oscillator(  # noqa: PLR0917 - compiled kernels take positional arguments
    high: Array, low: Array, close: Array, short: int, medium: int, long: int
) -> Array:
    """Ultimate oscillator: buying pressure over true range summed over three windows
    (``short <= medium <= long``), weighted 4:2:1; NaN before bar ``long``.

    Window totals run (new bar in, old bar out, from rings of the last ``long + 1`` bars) and
    are recomputed every few hundred bars; a window of zero ranges totals exactly 0 and
    contributes 0.
    """
    n = len(high)
    out = np.empty(n)
    out[: min(long, n)] = np.nan
    size = long + 1
    pressure, ranges = np.zeros(size), np.zeros(size)
    bp1 = bp2 = bp3 = tr1 = tr2 = tr3 = 0.0
    ranged = 0  # the last bar with a range
    slot, countdown = 0, 1
    for i in range(1, n):
        slot = slot + 1 if slot + 1 < size else 0
        prev = close[i - 1]
        true_low = low[i] if low[i] <= prev or low[i] != low[i] else prev
        bp = close[i] - true_low
        tr = true_range_at(high, low, close, i)
        pressure[slot], ranges[slot] = bp, tr
        if tr != 0.0:
            ranged = i
        if i < long:
            continue
        countdown -= 1
        if countdown == 0:
            countdown = max(64, 2 * long)
            bp1, tr1 = ring_total(pressure, slot, short), ring_total(ranges, slot, short)
            bp2, tr2 = ring_total(pressure, slot, medium), ring_total(ranges, slot, medium)
            bp3, tr3 = ring_total(pressure, slot, long), ring_total(ranges, slot, long)
        else:
            o1, o2, o3 = slot - short, slot - medium, slot - long
            o1, o2, o3 = o1 + size if o1 < 0 else o1, o2 + size if o2 < 0 else o2, o3 + size if o3 < 0 else o3
            bp1 += bp
            bp1 -= pressure[o1]
            tr1 += tr
            tr1 -= ranges[o1]
            bp2 += bp
            bp2 -= pressure[o2]
            tr2 += tr
            tr2 -= ranges[o2]
            bp3 += bp
            bp3 -= pressure[o3]
            tr3 += tr
            tr3 -= ranges[o3]
        if i - ranged >= short:  # windows without range total exactly 0
            tr1 = 0.0
            tr2 = 0.0 if i - ranged >= medium else tr2
            tr3 = 0.0 if i - ranged >= long else tr3
        total = 4.0 * (0.0 if tr1 == 0.0 or math.isnan(tr1) else bp1 / tr1)
        total += 2.0 * (0.0 if tr2 == 0.0 or math.isnan(tr2) else bp2 / tr2)
        total += 1.0 * (0.0 if tr3 == 0.0 or math.isnan(tr3) else bp3 / tr3)
        out[i] = 100.0 * total / 7.0
    return out


@kernel
def ring_total(ring: Array, slot: int, period: int) -> float:
    """Sum of the ``period`` values of ``ring`` up to ``slot``, oldest first."""
    total = 0.0
    for back in range(period - 1, -1, -1):
        at = slot - back
        total += ring[at + len(ring) if at < 0 else at]
    return total


@kernel
def dm_kernel(high: Array, low: Array, period: int, plus: bool) -> Array:
    """Smoothed +DM or -DM (raw one-bar values when ``period == 1``), NaN before the first."""
    n = len(high)
    out = np.empty(n)
    out[: min(max(period - 1, 1), n)] = np.nan
    total = 0.0
    decay = 1.0 - 1.0 / period
    for i in range(1, n):
        value = movement(high, low, i)[0 if plus else 1]
        if period == 1:
            out[i] = value
        elif i < period - 1:
            total += value
        elif i == period - 1:
            total += value
            out[i] = total
        else:
            total = total * decay + value
            out[i] = total
    return out


@kernel
def di_kernel(high: Array, low: Array, close: Array, period: int, plus: bool) -> Array:
    """+DI or -DI: ``100 * DM / TR`` of the smoothed totals, 0 when the range total is 0.

    With ``period == 1`` TA-Lib reports the bare one-bar ratio ``DM / TR`` (no factor 100).
    """
    n = len(high)
    out = np.empty(n)
    out[: min(period, n)] = np.nan
    dm = tr = 0.0
    scale = 1.0 if period == 1 else 100.0
    decay = 1.0 - 1.0 / period
    for i in range(1, n):
        value = movement(high, low, i)[0 if plus else 1]
        rng = true_range_at(high, low, close, i)
        if i < period:
            dm += value
            tr += rng
            if i < period - 1:
                continue
        elif period > 1:
            dm = dm * decay + value
            tr = tr * decay + rng
        else:
            dm, tr = value, rng
        if i >= period:
            out[i] = 0.0 if tr == 0.0 or math.isnan(tr) else (scale * dm) / tr
    return out


@kernel
def directional_index(high: Array, low: Array, close: Array, period: int, what: int) -> Array:
    """DX, ADX or ADXR (``what``), NaN during the warm-up.

    DX repeats its previous value where it is undefined (both DIs 0, or no range), and is 0
    before any defined bar. ADX is the mean of the first ``period`` DX values from bar ``period``
    (undefined ones count as 0), then Wilder-smoothed over the defined ones; ADXR averages ADX
    now and ``period - 1`` bars ago.
    """
    n = len(high)
    out = np.empty(n)
    first_adx = 2 * period - 1
    lookback = period if what == DX else first_adx if what == ADX else 3 * period - 2
    out[: min(lookback, n)] = np.nan
    adx = np.empty(n) if what == ADXR else out
    plus = minus = tr = 0.0
    dx = adx_total = 0.0
    k = 1.0 / period
    decay = 1.0 - k
    for i in range(1, n):
        p, m = movement(high, low, i)
        rng = true_range_at(high, low, close, i)
        if i < period:
            plus += p
            minus += m
            tr += rng
            continue
        plus = plus * decay + p
        minus = minus * decay + m
        tr = tr * decay + rng
        defined = False
        if not (tr == 0.0 or math.isnan(tr)):
            di_p = (100.0 * plus) / tr
            di_m = (100.0 * minus) / tr
            total = di_p + di_m
            if total != 0.0:
                defined = True
                dx = (100.0 * abs(di_m - di_p)) / total
        if what == DX:
            out[i] = dx
            continue
        if i < first_adx:
            adx_total += dx if defined else 0.0
        elif i == first_adx:
            adx_total = (adx_total + (dx if defined else 0.0)) / period
            adx[i] = adx_total
        else:
            if defined:
                adx_total = adx_total * decay + dx * k
            adx[i] = adx_total
        if what == ADXR and i >= 3 * period - 2:
            out[i] = (adx[i] + adx[i - period + 1]) / 2.0
    return out

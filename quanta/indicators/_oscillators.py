"""Momentum kernels: RSI/CMO, the rate-of-change family, price oscillators, BOP, CCI and MFI."""

from __future__ import annotations

import math

import numpy as np

from quanta._jit import kernel
from quanta.indicators._core import TOLERANCE, Array

MOM, ROC, ROCP, ROCR, ROCR100 = 0, 1, 2, 3, 4  # ``change`` formulas
BLOCK = 64  # running window totals are recomputed from scratch at least this often


@kernel
def wilder_rsi(x: Array, period: int, cmo: bool) -> Array:
    """RSI ``100 gain / (gain + loss)`` or CMO ``100 (gain - loss) / (gain + loss)`` of Wilder's
    averages (``a = a (1 - 1/period) + value / period``) of one-bar gains and losses, seeded with
    their simple averages over bars 1…period; 0 when both averages are 0."""
    n = len(x)
    out = np.empty(n)
    out[: min(period, n)] = np.nan
    gain = loss = 0.0
    k = 1.0 / period
    c = 1.0 - k
    for i in range(1, n):
        step = x[i] - x[i - 1]
        up = step if step > 0 else 0.0
        down = -step if step < 0 else 0.0
        if i < period:
            gain += up
            loss += down
            continue
        if i == period:
            gain = (gain + up) / period
            loss = (loss + down) / period
        else:
            gain = gain * c + up * k
            loss = loss * c + down * k
        total = gain + loss
        if total == 0.0 or math.isnan(total):
            out[i] = 0.0
        else:
            out[i] = (100.0 * (gain - loss) if cmo else 100.0 * gain) / total
    return out


@kernel
def change(x: Array, period: int, formula: int) -> Array:
    """``x`` against its value ``period`` bars earlier: MOM, ROC, ROCP, ROCR or ROCR100.

    The ratios are 0 where the earlier value is 0, as in TA-Lib.
    """
    n = len(x)
    out = np.empty(n)
    out[: min(period, n)] = np.nan
    # aligned views and one loop per formula (non-negative indices, no branch): each vectorises
    now, before, dest = x[period:], x[: max(n - period, 0)], out[period:]
    if formula == MOM:
        for j in range(len(dest)):
            dest[j] = now[j] - before[j]
    elif formula == ROC:
        for j in range(len(dest)):
            dest[j] = 0.0 if before[j] == 0.0 else (now[j] / before[j] - 1.0) * 100.0
    elif formula == ROCP:
        for j in range(len(dest)):
            dest[j] = 0.0 if before[j] == 0.0 else (now[j] - before[j]) / before[j]
    elif formula == ROCR:
        for j in range(len(dest)):
            dest[j] = 0.0 if before[j] == 0.0 else now[j] / before[j]
    else:
        for j in range(len(dest)):
            dest[j] = 0.0 if before[j] == 0.0 else (now[j] / before[j]) * 100.0
    return out


@kernel
def price_oscillator(fast: Array, slow: Array, percent: bool) -> Array:
    """``fast - slow`` (APO) or ``100 (fast - slow) / slow`` (PPO, 0 where ``slow`` is 0 or NaN),
    written over ``fast``."""
    for i in range(len(fast)):
        f, s = fast[i], slow[i]
        if not percent:
            fast[i] = f - s
        else:
            fast[i] = 0.0 if s == 0.0 or math.isnan(s) else ((f - s) * 100.0) / s
    return fast


@kernel
def balance_of_power(open_: Array, high: Array, low: Array, close: Array) -> Array:
    """``(close - open) / (high - low)``, 0 when high and low are (nearly) equal."""
    out = np.empty(len(open_))
    for i in range(len(open_)):
        h, lo = high[i], low[i]
        if abs(h - lo) <= TOLERANCE * (abs(h) + abs(lo)):
            out[i] = 0.0
        else:
            out[i] = (close[i] - open_[i]) / (h - lo)
    return out


@kernel
def cci(high: Array, low: Array, close: Array, period: int) -> Array:
    """Commodity channel index of the typical price: its distance from the window mean over
    0.015 × the mean absolute deviation; 0 on a flat window. The window lives in a ring."""
    n = len(high)
    out = np.empty(n)
    out[: min(period - 1, n)] = np.nan
    ring = np.empty(period)
    slot = 0
    for i in range(n):
        tp = (high[i] + low[i] + close[i]) / 3.0
        ring[slot] = tp
        slot = slot + 1 if slot + 1 < period else 0
        if i < period - 1:
            continue
        total = 0.0
        for j in range(period):
            total += ring[j]
        mean = total / period
        dev = 0.0
        for j in range(period):
            dev += abs(ring[j] - mean)
        dev /= period
        dist = tp - mean
        if dev <= TOLERANCE * abs(mean) or dist == 0.0:
            out[i] = 0.0
        else:
            out[i] = dist / (0.015 * dev)
    return out


@kernel
def mfi(high: Array, low: Array, close: Array, volume: Array, period: int) -> Array:
    """Money flow index: ``100 * up flow / total flow`` over the window (typical price × volume,
    up or down by the typical price's move); 0 for a window without flow.

    The flows of the last ``period + 1`` bars live in rings; the window totals run, are
    recomputed every few hundred bars and are set to exactly 0 once ``period`` bars in a row
    brought no flow (as TA-Lib's "null run").
    """
    n = len(high)
    out = np.empty(n)
    out[: min(period, n)] = np.nan
    size = period + 1
    up, down = np.zeros(size), np.zeros(size)
    prev = (high[0] + low[0] + close[0]) / 3.0 if n else 0.0
    pos = neg = 0.0
    flowed, slot, countdown = 0, 0, 1  # ``flowed``: the last bar with a flow
    for i in range(1, n):
        slot = slot + 1 if slot + 1 < size else 0
        tp = (high[i] + low[i] + close[i]) / 3.0
        moved = not abs(tp - prev) <= TOLERANCE * (abs(tp) + abs(prev))
        flow = tp * volume[i]
        gain = flow if moved and tp > prev else 0.0
        loss = flow if moved and tp < prev else 0.0
        up[slot], down[slot] = gain, loss
        if gain != 0.0 or loss != 0.0:
            flowed = i
        prev = tp
        if i < period:
            continue
        countdown -= 1
        if countdown == 0:
            countdown = max(BLOCK, 2 * period)
            pos = neg = 0.0
            for back in range(period - 1, -1, -1):
                at = slot - back if slot >= back else slot - back + size
                pos += up[at]
                neg += down[at]
        else:
            old = slot - period if slot >= period else slot - period + size
            pos += gain
            pos -= up[old]
            neg += loss
            neg -= down[old]
        if i - flowed >= period:
            pos = neg = 0.0
        total = pos + neg
        out[i] = 0.0 if total == 0.0 or math.isnan(total) else (100.0 * pos) / total
    return out


@kernel
def one_bar_roc(x: Array) -> Array:
    """``(x[i] / x[i-1] - 1) * 100`` (0 after a 0), written over ``x`` (bar 0 becomes NaN)."""
    for i in range(len(x) - 1, 0, -1):
        prev = x[i - 1]
        x[i] = 0.0 if prev == 0.0 else (x[i] / prev - 1.0) * 100.0
    if len(x):
        x[0] = np.nan
    return x

"""Ehlers' Hilbert-transform homodyne discriminator (MAMA, HT_TRENDLINE, HT_DCPERIOD, HT_PHASOR).

The dominant-cycle period feeds back into the transform's gain on every bar, so the core is a
sequential loop; the few bars of history it reads are kept in rings of eight. Definitions follow
J. Ehlers, "Rocket Science for Traders" (2001), with TA-Lib's start-up: price history before the
loop's first bar counts as zero and the period starts at zero. On a flat stretch the phase is
the angle of two rounding residues, so every sum below keeps the oracle's order of operations.
"""

from __future__ import annotations

import math

import numpy as np

from quanta._jit import kernel
from quanta.indicators._core import Array

_A, _B = 0.0962, 0.5769
RAD2DEG = 180.0 / math.pi
MAMA_START = 12  # 4-bar smoother (3 bars) + 9 settling bars
TREND_START = 37  # 4-bar smoother (3 bars) + 34 settling bars
DCPERIOD, PHASOR, MAMA, TRENDLINE = 0, 1, 2, 3  # what ``hilbert`` returns


@kernel(inline=True)
def fir(h: Array, t: int) -> float:
    """Ehlers' Hilbert FIR ``A h[t] + B h[t-2] - B h[t-4] - A h[t-6]`` on a ring of eight bars
    (gain applied by caller). Summed pairwise so that a constant input gives exactly zero."""
    value: float = ((_A * h[t & 7] - _A * h[(t - 6) & 7]) - _B * h[(t - 4) & 7]) + _B * h[(t - 2) & 7]
    return value


@kernel(inline=True)
def next_period(prev: float, re: float, im: float) -> float:
    """Measured period, limited to ±50 % / −33 % of the last one and to [6, 50], then smoothed."""
    period = prev
    if im != 0.0 and re != 0.0:
        period = 360.0 / (math.atan(im / re) * RAD2DEG)
    period = 1.5 * prev if 1.5 * prev < period else period
    period = 0.67 * prev if 0.67 * prev > period else period
    period = 6.0 if period < 6.0 else period
    period = 50.0 if period > 50.0 else period
    return 0.2 * period + 0.8 * prev


@kernel
def hilbert(x: Array, what: int, fastlimit: float, slowlimit: float) -> tuple[Array, Array]:  # noqa: PLR0915
    """Run the discriminator over ``x`` and return ``what``:

    ``DCPERIOD``: the smoothed dominant-cycle period (second output empty); ``PHASOR``: I1 (the
    detrender three bars late) and Q1; ``MAMA``: MESA's adaptive average, with factor
    ``fastlimit`` over the phase's fall since the last bar (at least ``slowlimit``), and FAMA,
    following it at half that factor; ``TRENDLINE``: the dominant-cycle average, WMA-smoothed
    over 4 bars. Bars before the loop's start are NaN. One loop for all four: the discriminator's
    state is the costly part, and its rings live in registers and cache lines for the whole run.
    """
    n = len(x)
    start = TREND_START if what == TRENDLINE else MAMA_START
    first = np.empty(n)
    second = np.empty(n if what in (PHASOR, MAMA) else 0)
    first[: min(start, n)] = np.nan
    second[: min(start, n)] = np.nan
    smooth, detr, fir_d, q1 = np.zeros(8), np.zeros(8), np.zeros(8), np.zeros(8)
    total = weighted = leaving = 0.0  # the 4-bar smoother's running sums
    period = smooth_period = i2p = q2p = re = im = 0.0
    mama = fama = prev_phase = 0.0
    trend1 = trend2 = trend3 = 0.0  # the cycle average 1, 2 and 3 bars ago
    for t in range(n):
        if t < 3:  # (4 x[t] + 3 x[t-1] + 2 x[t-2] + x[t-3]) / 10 as TA-Lib's running sums
            total += x[t]
            weighted += x[t] * (t + 1.0)
            continue
        total += x[t]
        total -= leaving
        weighted += x[t] * 4.0
        leaving = x[t - 3]
        price = weighted * 0.1
        weighted -= total
        if t < start:
            continue
        slot = t & 7
        smooth[slot] = price
        gain = 0.075 * period + 0.54
        d = gain * fir(smooth, t)
        detr[slot] = d
        fd = fir(detr, t)
        fir_d[slot] = fd
        q = gain * fd
        q1[slot] = q
        ji = gain * fir_d[(t - 3) & 7]
        jq = gain * fir(q1, t)
        i1 = detr[(t - 3) & 7]
        q2 = 0.2 * (q + ji) + 0.8 * q2p
        i2 = 0.2 * (i1 - jq) + 0.8 * i2p
        re = 0.2 * (i2 * i2p + q2 * q2p) + 0.8 * re
        im = 0.2 * (i2 * q2p - q2 * i2p) + 0.8 * im
        i2p, q2p = i2, q2
        period = next_period(period, re, im)
        smooth_period = 0.33 * period + 0.67 * smooth_period
        if what == DCPERIOD:
            first[t] = smooth_period
        elif what == PHASOR:
            first[t], second[t] = i1, q
        elif what == MAMA:
            phase = math.atan(q / i1) * RAD2DEG if i1 != 0.0 else 0.0
            delta = (phase - prev_phase) * -1.0
            prev_phase = phase
            alpha = fastlimit
            if delta > 1.0:
                alpha = fastlimit / delta
                alpha = slowlimit if slowlimit > alpha else alpha
            mama = alpha * x[t] + (1.0 - alpha) * mama
            half = 0.5 * alpha
            fama = half * mama + (1.0 - half) * fama
            first[t], second[t] = mama, fama
        else:
            width = min(math.floor(smooth_period + 0.5), t + 1)
            trend = 0.0
            for i in range(width):
                trend += x[t - i]
            if width > 0:
                trend /= width
            first[t] = (4.0 * trend + 3.0 * trend1 + 2.0 * trend2 + trend3) / 10.0
            trend1, trend2, trend3 = trend, trend1, trend2
    return first, second

"""Ehlers' Hilbert-transform homodyne discriminator (MAMA, HT_TRENDLINE, HT_DCPERIOD, HT_PHASOR).

The dominant-cycle period feeds back into the transform's gain on every bar, so the core is a
sequential loop; everything that does not depend on that feedback is vectorised around it.
Definitions follow J. Ehlers, "Rocket Science for Traders" (2001), with TA-Lib's start-up:
price history before the loop's first bar counts as zero and the period starts at zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from quanta.indicators._core import Array, linear_recurrence, nan_array, rolling_sum

_A, _B = 0.0962, 0.5769
RAD2DEG = 180.0 / math.pi
MAMA_START = 12  # 4-bar smoother (3 bars) + 9 settling bars
TREND_START = 37  # 4-bar smoother (3 bars) + 34 settling bars


@dataclass(frozen=True)
class HilbertState:
    """Per-bar outputs of the discriminator (zeros before the loop start)."""

    smooth: Array
    inphase: Array  # I1: detrender delayed 3 bars
    quadrature: Array  # Q1
    period: Array
    smooth_period: Array


def smooth_price(x: Array) -> Array:
    """``(4 x[t] + 3 x[t-1] + 2 x[t-2] + x[t-3]) / 10`` (NaN for the first 3 bars).

    Kept as a running weighted sum, like TA-Lib: on a flat stretch the discriminator's phase is
    the angle of two rounding residues, so the residues must come out the same as the oracle's.
    """
    out = nan_array(len(x))
    if len(x) < 4:
        return out
    xs = x.tolist()
    total = xs[0] + xs[1] + xs[2]
    weighted = xs[0] + xs[1] * 2.0 + xs[2] * 3.0
    leaving = 0.0
    for t in range(3, len(xs)):
        total += xs[t]
        total -= leaving
        weighted += xs[t] * 4.0
        leaving = xs[t - 3]
        out[t] = weighted * 0.1
        weighted -= total
    return out


def _fir(h: list[float], t: int) -> float:
    """Ehlers' Hilbert FIR ``A h[t] + B h[t-2] - B h[t-4] - A h[t-6]`` (gain applied by caller).

    Summed pairwise so that a constant input gives exactly zero.
    """
    return ((_A * h[t] - _A * h[t - 6]) - _B * h[t - 4]) + _B * h[t - 2]


def _fir_array(h: Array) -> Array:
    """:func:`_fir` at every bar of a zero-padded array (bars before 6 are 0)."""
    out = np.zeros(len(h))
    out[6:] = ((_A * h[6:] - _A * h[:-6]) - _B * h[2:-4]) + _B * h[4:-2]
    return out


def hilbert(x: Array, start: int) -> HilbertState:
    """Run the discriminator from bar ``start`` to the end of ``x`` (``len(x) > start``).

    Only the period feeds back (through the gain), so the transform of the smoothed price is
    vectorised and the loop handles the rest; ``jI`` is the detrender's transform three bars
    late, so it is read back rather than recomputed.
    """
    n, pad = len(x), 6
    smooth = np.zeros(n + pad)
    smooth[pad + start :] = smooth_price(x)[start:]
    fir_s = _fir_array(smooth).tolist()
    detr = [0.0] * (n + pad)
    fir_d = [0.0] * (n + pad)  # raw transform of the detrender
    q1 = [0.0] * (n + pad)
    period_out = [0.0] * n
    smooth_out = [0.0] * n
    a, b = _A, _B
    period = smooth_period = i2p = q2p = re = im = 0.0
    for t in range(start + pad, n + pad):
        gain = 0.075 * period + 0.54
        d = gain * fir_s[t]
        detr[t] = d
        fd = ((a * d - a * detr[t - 6]) - b * detr[t - 4]) + b * detr[t - 2]
        fir_d[t] = fd
        q = gain * fd
        q1[t] = q
        ji = gain * fir_d[t - 3]
        jq = gain * (((a * q - a * q1[t - 6]) - b * q1[t - 4]) + b * q1[t - 2])
        q2 = 0.2 * (q + ji) + 0.8 * q2p
        i2 = 0.2 * (detr[t - 3] - jq) + 0.8 * i2p
        re = 0.2 * (i2 * i2p + q2 * q2p) + 0.8 * re
        im = 0.2 * (i2 * q2p - q2 * i2p) + 0.8 * im
        i2p, q2p = i2, q2
        period = _next_period(period, re, im)
        smooth_period = 0.33 * period + 0.67 * smooth_period
        period_out[t - pad] = period
        smooth_out[t - pad] = smooth_period
    inphase = np.zeros(n)
    inphase[3:] = np.asarray(detr[pad : n + pad - 3])
    return HilbertState(
        smooth=smooth[pad:],
        inphase=inphase,
        quadrature=np.asarray(q1[pad:]),
        period=np.asarray(period_out),
        smooth_period=np.asarray(smooth_out),
    )


def _next_period(prev: float, re: float, im: float) -> float:
    """Measured period, limited to ±50 % / −33 % of the last one and to [6, 50], then smoothed."""
    period = prev
    if im != 0.0 and re != 0.0:
        period = 360.0 / (math.atan(im / re) * RAD2DEG)
    period = min(period, 1.5 * prev)
    period = max(period, 0.67 * prev)
    period = min(max(period, 6.0), 50.0)
    return 0.2 * period + 0.8 * prev


def phase_degrees(state: HilbertState) -> Array:
    """``atan(Q1 / I1)`` in degrees, 0 where ``I1 == 0``."""
    i1, q1 = state.inphase, state.quadrature
    safe = np.where(i1 != 0.0, i1, 1.0)
    return np.where(i1 != 0.0, np.arctan(q1 / safe) * RAD2DEG, 0.0)


def mama_kernel(x: Array, fastlimit: float, slowlimit: float) -> tuple[Array, Array]:
    """MESA adaptive moving average and its following average (FAMA)."""
    n = len(x)
    if n <= MAMA_START:
        return nan_array(n), nan_array(n)
    state = hilbert(x, MAMA_START)
    phase = phase_degrees(state)[MAMA_START:]
    delta = np.maximum(np.diff(phase, prepend=0.0) * -1.0, 1.0)
    alpha = np.where(delta > 1.0, np.maximum(fastlimit / delta, slowlimit), fastlimit)
    mama = nan_array(n)
    fama = nan_array(n)
    mama[MAMA_START:] = linear_recurrence(1.0 - alpha, alpha * x[MAMA_START:], 0.0)
    half = 0.5 * alpha
    fama[MAMA_START:] = linear_recurrence(1.0 - half, half * mama[MAMA_START:], 0.0)
    return mama, fama


def trendline_kernel(x: Array) -> Array:
    """Ehlers' instantaneous trendline: the dominant-cycle average, WMA-smoothed over 4 bars."""
    n = len(x)
    out = nan_array(n)
    if n <= TREND_START:
        return out
    state = hilbert(x, TREND_START)
    itrend = np.zeros(n)
    dc = np.floor(state.smooth_period[TREND_START:] + 0.5).astype(np.int64)
    itrend[TREND_START:] = _variable_mean(x, dc, TREND_START)
    padded = np.concatenate((np.zeros(3), itrend))
    out[:] = (4.0 * padded[3:] + 3.0 * padded[2:-1] + 2.0 * padded[1:-2] + padded[:-3]) / 10.0
    return out


def _variable_mean(x: Array, width: NDArray[np.int64], start: int) -> Array:
    """Mean of the ``width[k]`` bars ending at ``start + k`` (0 where ``width`` is 0)."""
    out = np.zeros(len(width))
    for w in np.unique(width[width > 0]).tolist():
        pick = np.flatnonzero(width == w)
        sums = rolling_sum(x, w)
        out[pick] = sums[start + pick] / w
    return out

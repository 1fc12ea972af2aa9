"""Accurate trailing-window sums and moments (means, variances, covariance) in O(n).

Windows are handled in segments: each segment holds ``size`` consecutive windows and the
``period - 1`` bars before them, so its prefix sums give every window's sum with rounding at the
scale of one segment (never of the whole series), and a window of zeros sums to exactly zero.
Moments are taken about the segment's first value, so ``E[d²] - E[d]²`` does not cancel at the
scale of the price level; windows whose variance is still tiny next to that anchored second
moment (a flat stretch, say) are recomputed with the exact two-pass formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from quanta.indicators._core import Array, nan_array

ILL_CONDITIONED = 1e-4  # recompute a window when variance < 1e-4 × anchored second moment
CHUNK_CELLS = 1 << 21  # bound on window cells materialised at once by the two-pass fallback


@dataclass(frozen=True)
class Moments:
    """Window means, population variances and covariance (NaN before ``period - 1``)."""

    mean_x: Array
    mean_y: Array
    var_x: Array
    var_y: Array
    cov: Array


def _segments(x: Array, period: int) -> Array:
    """Overlapping rows of ``size + period - 1`` bars, row ``b`` starting at bar ``b * size``."""
    size = max(2 * period, 64)
    windows = len(x) - period + 1
    rows = -(-windows // size)
    padded = np.empty(rows * size + period - 1)
    padded[: len(x)] = x
    padded[len(x) :] = x[-1]
    return np.lib.stride_tricks.sliding_window_view(padded, size + period - 1)[::size]


def _sums(rows: Array, period: int, windows: int) -> Array:
    """Sum of every window (``period`` consecutive cells of a row), flattened, first ``windows``."""
    c = np.cumsum(rows, axis=1)
    out = c[:, period - 1 :].copy()
    out[:, 1:] -= c[:, : c.shape[1] - period]
    return out.ravel()[:windows]


def window_sum(x: Array, period: int) -> Array:
    """Trailing window sums (NaN before ``period - 1``); a window of zeros sums to exactly 0."""
    out = nan_array(len(x))
    if len(x) >= period:
        out[period - 1 :] = _sums(_segments(x, period), period, len(x) - period + 1)
    return out


def window_moments(x: Array, y: Array, period: int) -> Moments:
    """Trailing-window moments of ``x`` and ``y`` (pass the same array twice for one series)."""
    n = len(x)
    if n < period:
        nans = nan_array(n)
        return Moments(nans, nans, nans, nans, nans)
    windows = n - period + 1
    sx = _segments(x, period)
    kx = sx[:, :1]
    dx = sx - kx
    s1x, s2x = _sums(dx, period, windows), _sums(dx * dx, period, windows)
    anchor_x = np.repeat(kx[:, 0], sx.shape[1] - period + 1)[:windows]
    if x is y:
        return _assemble(x, y, period, (anchor_x, anchor_x), (s1x, s1x, s2x, s2x, s2x))
    sy = _segments(y, period)
    ky = sy[:, :1]
    dy = sy - ky
    sums = (
        s1x,
        _sums(dy, period, windows),
        s2x,
        _sums(dy * dy, period, windows),
        _sums(dx * dy, period, windows),
    )
    anchor_y = np.repeat(ky[:, 0], sy.shape[1] - period + 1)[:windows]
    return _assemble(x, y, period, (anchor_x, anchor_y), sums)


def _assemble(
    x: Array, y: Array, period: int, anchors: tuple[Array, Array], sums: tuple[Array, ...]
) -> Moments:
    s1x, s1y, s2x, s2y, sxy = sums
    mx, my = s1x / period, s1y / period
    var_x = s2x / period - mx * mx
    var_y = var_x if x is y else s2y / period - my * my
    cov = var_x if x is y else sxy / period - mx * my
    shaky = var_x < ILL_CONDITIONED * (s2x / period)
    if x is not y:
        shaky |= var_y < ILL_CONDITIONED * (s2y / period)
    bad = np.flatnonzero(shaky)
    if bad.size:
        _two_pass(x, y, period, bad, (var_x, var_y, cov))
    out = [nan_array(len(x)) for _ in range(5)]
    for full, part in zip(out, (anchors[0] + mx, anchors[1] + my, var_x, var_y, cov), strict=True):
        full[period - 1 :] = part
    return Moments(*out)


def _two_pass(
    x: Array, y: Array, period: int, rows: NDArray[np.intp], into: tuple[Array, Array, Array]
) -> None:
    """Recompute variances and covariance of the windows ``rows`` exactly, in place."""
    wx = np.lib.stride_tricks.sliding_window_view(x, period)
    wy = np.lib.stride_tricks.sliding_window_view(y, period)
    var_x, var_y, cov = into
    step = max(1, CHUNK_CELLS // period)
    for s in range(0, rows.size, step):
        r = rows[s : s + step]
        ax = wx[r] - wx[r].mean(axis=1, keepdims=True)
        var_x[r] = (ax * ax).mean(axis=1)
        if x is not y:
            ay = wy[r] - wy[r].mean(axis=1, keepdims=True)
            var_y[r] = (ay * ay).mean(axis=1)
            cov[r] = (ax * ay).mean(axis=1)


def flat_windows(x: Array, period: int) -> NDArray[np.bool_]:
    """Windows whose values are all equal (their variance is exactly zero)."""
    changes = np.concatenate(([0], np.cumsum(x[1:] != x[:-1])))
    flat = np.zeros(len(x), dtype=bool)
    if len(x) >= period:
        flat[period - 1 :] = changes[period - 1 :] == changes[: len(x) - period + 1]
    return flat


def variance(x: Array, period: int) -> Array:
    """Population variance over the trailing window (exactly 0 on a flat window, never < 0)."""
    var = window_moments(x, x, period).var_x
    return np.where(flat_windows(x, period), 0.0, np.maximum(var, 0.0))


def stddev(x: Array, period: int) -> Array:
    """Population standard deviation over the trailing window."""
    return np.sqrt(variance(x, period))

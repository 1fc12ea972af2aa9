"""Statistic functions: rolling variance, correlation, beta and linear regression."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from quanta._jit import kernel
from quanta.indicators._core import Array, as_inputs, check_period, check_real, run
from quanta.indicators._moments import BLOCK, beta, correlation, stddev, variance
from quanta.indicators._registry import indicator

_statistic = indicator(family="statistic")


@_statistic
def VAR(real: ArrayLike, timeperiod: int = 5, nbdev: float = 1.0) -> Array:
    """Population variance (``nbdev`` is accepted for TA-Lib compatibility and ignored, as there)."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod", 1)
    check_real(nbdev, "nbdev")
    return run(lambda v: variance(v, p), p - 1, x)


@_statistic
def STDDEV(real: ArrayLike, timeperiod: int = 5, nbdev: float = 1.0) -> Array:
    """Population standard deviation times ``nbdev``."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    k = check_real(nbdev, "nbdev")
    return run(lambda v: stddev(v, p, k), p - 1, x)


@_statistic
def CORREL(real0: ArrayLike, real1: ArrayLike, timeperiod: int = 30) -> Array:
    """Pearson correlation of two series over the window (0 when either is flat)."""
    x, y = as_inputs(real0=real0, real1=real1)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b: correlation(a, b, p), p - 1, x, y)


@_statistic
def BETA(real0: ArrayLike, real1: ArrayLike, timeperiod: int = 5) -> Array:
    """Beta of ``real1``'s returns on ``real0``'s returns over the window."""
    x, y = as_inputs(real0=real0, real1=real1)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b: beta(a, b, p), p, x, y)


VALUE, SLOPE, INTERCEPT, ANGLE, FORECAST = 0, 1, 2, 3, 4  # what ``regression`` returns


@kernel
def regression(x: Array, period: int, part: int) -> Array:
    """One part of each trailing window's least-squares line (x = bars ago), NaN before
    ``period - 1``: its value at the current bar, slope, intercept (value at the oldest bar),
    angle in degrees, or the forecast one bar ahead.

    ``sum(y)`` and ``sum(bars ago × y)`` run from bar to bar on ``y = x - anchor`` and are
    recomputed, with a new anchor, every ``max(64, 2 * period)`` bars.
    """
    n = len(x)
    out = np.empty(n)
    out[: min(period - 1, n)] = np.nan
    sum_x = period * (period - 1) * 0.5
    sum_x2 = period * (period - 1) * (2 * period - 1) / 6.0
    divisor = sum_x * sum_x - period * sum_x2
    anchor = sum_y = sum_xy = 0.0
    countdown = 1
    for i in range(period - 1, n):
        countdown -= 1
        if countdown == 0:
            countdown = max(BLOCK, 2 * period)
            anchor = x[i - period + 1]
            sum_y = sum_xy = 0.0
            for ago in range(period):
                y = x[i - ago] - anchor
                sum_y += y
                sum_xy += ago * y
        else:
            leaving = x[i - period] - anchor  # was ``period - 1`` bars ago; now out of the window
            sum_xy += sum_y - period * leaving
            sum_y += (x[i] - anchor) - leaving
        slope = (period * sum_xy - sum_x * sum_y) / divisor
        intercept = (sum_y - slope * sum_x) / period + anchor
        if part == SLOPE:
            out[i] = slope
        elif part == INTERCEPT:
            out[i] = intercept
        elif part == ANGLE:
            out[i] = math.atan(slope) * (180.0 / math.pi)
        else:
            out[i] = intercept + slope * (period if part == FORECAST else period - 1)
    return out


def _linreg(real: ArrayLike, timeperiod: int, part: int) -> Array:
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda v: regression(v, p, part), p - 1, x)


@indicator(family="statistic", overlay=True)
def LINEARREG(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Linear regression: the fitted line's value at the current bar."""
    return _linreg(real, timeperiod, VALUE)


@_statistic
def LINEARREG_SLOPE(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Slope of the linear regression line (per bar)."""
    return _linreg(real, timeperiod, SLOPE)


@indicator(family="statistic", overlay=True)
def LINEARREG_INTERCEPT(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Intercept of the linear regression line (its value at the window's oldest bar)."""
    return _linreg(real, timeperiod, INTERCEPT)


@_statistic
def LINEARREG_ANGLE(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Angle of the linear regression line, in degrees."""
    return _linreg(real, timeperiod, ANGLE)


@indicator(family="statistic", overlay=True)
def TSF(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Time series forecast: the regression line extended one bar ahead."""
    return _linreg(real, timeperiod, FORECAST)

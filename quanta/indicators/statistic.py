"""Statistic functions: rolling variance, correlation, beta and linear regression."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from quanta.indicators._core import (
    Array,
    as_inputs,
    check_period,
    check_real,
    guarded_div,
    run,
    window_dot,
)
from quanta.indicators._moments import flat_windows, stddev, variance, window_moments
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
    return run(lambda v: stddev(v, p) * k, p - 1, x)


@_statistic
def CORREL(real0: ArrayLike, real1: ArrayLike, timeperiod: int = 30) -> Array:
    """Pearson correlation of two series over the window (0 when either is flat)."""
    x, y = as_inputs(real0=real0, real1=real1)
    p = check_period(timeperiod, "timeperiod", 1)

    def kernel(a: Array, b: Array) -> Array:
        m = window_moments(a, b, p)
        spread = m.var_x * m.var_y
        flat = flat_windows(a, p) | flat_windows(b, p) | ~(spread > 0.0)
        return guarded_div(m.cov, np.sqrt(np.where(flat, 1.0, spread)), zero_if=flat)

    return run(kernel, p - 1, x, y)


def _returns(x: Array) -> Array:
    prev = x[:-1]
    return guarded_div(x[1:] - prev, prev, zero_if=prev == 0.0)


@_statistic
def BETA(real0: ArrayLike, real1: ArrayLike, timeperiod: int = 5) -> Array:
    """Beta of ``real1``'s returns on ``real0``'s returns over the window."""
    x, y = as_inputs(real0=real0, real1=real1)
    p = check_period(timeperiod, "timeperiod", 1)

    def kernel(a: Array, b: Array) -> Array:
        rx, ry = _returns(a), _returns(b)
        m = window_moments(rx, ry, p)
        flat = flat_windows(rx, p) | ~(m.var_x > 0.0)
        beta = guarded_div(m.cov, m.var_x, zero_if=flat)
        return np.concatenate(([np.nan], beta))

    return run(kernel, p, x, y)


def _regression(x: Array, period: int) -> tuple[Array, Array]:
    """Slope and intercept (value at the window's oldest bar) of the least-squares line."""
    anchor = float(x[0])  # any constant; the first bar keeps the result causal
    y = x - anchor
    sum_y = window_dot(y, np.ones(period))
    sum_xy = window_dot(y, np.arange(period - 1, -1, -1, dtype=np.float64))  # x = bars ago
    sum_x = period * (period - 1) * 0.5
    sum_x2 = period * (period - 1) * (2 * period - 1) / 6.0
    divisor = sum_x * sum_x - period * sum_x2
    slope = (period * sum_xy - sum_x * sum_y) / divisor
    intercept = (sum_y - slope * sum_x) / period + anchor
    return slope, intercept


def _linreg(real: ArrayLike, timeperiod: int, part: str) -> Array:
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")

    def kernel(v: Array) -> Array:
        slope, intercept = _regression(v, p)
        if part == "slope":
            return slope
        if part == "intercept":
            return intercept
        if part == "angle":
            return np.arctan(slope) * (180.0 / math.pi)
        return intercept + slope * (p if part == "tsf" else p - 1)

    return run(kernel, p - 1, x)


@indicator(family="statistic", overlay=True)
def LINEARREG(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Linear regression: the fitted line's value at the current bar."""
    return _linreg(real, timeperiod, "value")


@_statistic
def LINEARREG_SLOPE(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Slope of the linear regression line (per bar)."""
    return _linreg(real, timeperiod, "slope")


@indicator(family="statistic", overlay=True)
def LINEARREG_INTERCEPT(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Intercept of the linear regression line (its value at the window's oldest bar)."""
    return _linreg(real, timeperiod, "intercept")


@_statistic
def LINEARREG_ANGLE(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Angle of the linear regression line, in degrees."""
    return _linreg(real, timeperiod, "angle")


@indicator(family="statistic", overlay=True)
def TSF(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Time series forecast: the regression line extended one bar ahead."""
    return _linreg(real, timeperiod, "tsf")

"""Overlap studies: moving averages, bands and stops drawn on the price chart."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from quanta._jit import kernel
from quanta.indicators import _extremes, _hilbert, _ma
from quanta.indicators._core import (
    Array,
    as_inputs,
    check_period,
    check_real,
    run,
    run_multi,
)
from quanta.indicators._ma import check_matype, ma_lookback
from quanta.indicators._moments import stddev
from quanta.indicators._registry import indicator
from quanta.indicators._sar import SarSettings, sar_kernel

_overlap = indicator(family="overlap")


def _average(kind: _ma.MA_Type, real: ArrayLike, timeperiod: int) -> Array:
    """A plain moving average of type ``kind`` (a period of 1 returns the input)."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda v: _ma.ma(v, p, kind), ma_lookback(p, kind), x)


@_overlap
def SMA(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Simple moving average."""
    return _average(_ma.MA_Type.SMA, real, timeperiod)


@_overlap
def EMA(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Exponential moving average (``k = 2 / (timeperiod + 1)``, seeded with the first SMA)."""
    return _average(_ma.MA_Type.EMA, real, timeperiod)


@_overlap
def WMA(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Linearly weighted moving average."""
    return _average(_ma.MA_Type.WMA, real, timeperiod)


@_overlap
def DEMA(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Double exponential moving average ``2 EMA - EMA(EMA)``."""
    return _average(_ma.MA_Type.DEMA, real, timeperiod)


@_overlap
def TEMA(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Triple exponential moving average."""
    return _average(_ma.MA_Type.TEMA, real, timeperiod)


@_overlap
def TRIMA(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Triangular moving average."""
    return _average(_ma.MA_Type.TRIMA, real, timeperiod)


@_overlap
def KAMA(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Kaufman adaptive moving average."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda v: _ma.kama(v, p), p, x)


@_overlap
def T3(real: ArrayLike, timeperiod: int = 5, vfactor: float = 0.7) -> Array:
    """Tillson's triple exponential moving average T3."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod", 1)
    v = check_real(vfactor, "vfactor", 0.0, 1.0)
    return run(lambda arr: _ma.t3(arr, p, v), 6 * (p - 1), x)


@_overlap
def MA(real: ArrayLike, timeperiod: int = 30, matype: int = 0) -> Array:
    """Moving average of any ``matype`` (see :class:`MA_Type`); a period of 1 returns the input."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod", 1)
    kind = check_matype(matype)
    return run(lambda v: _ma.ma(v, p, kind), ma_lookback(p, kind), x)


@_overlap
def MAVP(
    real: ArrayLike, periods: ArrayLike, minperiod: int = 2, maxperiod: int = 30, matype: int = 0
) -> Array:
    """Moving average with a per-bar period (``periods`` truncated and clamped to the bounds)."""
    x, per = as_inputs(real=real, periods=periods)
    lo = check_period(minperiod, "minperiod", 1)
    hi = check_period(maxperiod, "maxperiod", 2)
    kind = check_matype(matype)
    lookback = ma_lookback(hi, kind)
    return run(lambda v, q: _mavp(v, q, bounds=(lo, hi), kind=kind, start=lookback), lookback, x, per)


def _mavp(x: Array, periods: Array, *, bounds: tuple[int, int], kind: int, start: int) -> Array:
    """Per bar, the MA of the bar's own period (each distinct period computed once)."""
    if kind == _ma.MA_Type.MAMA:  # MAMA ignores the period
        return np.where(np.isnan(periods), np.nan, _ma.ma_from(x, bounds[1], kind, start))
    return _ma.mavp(x, periods, bounds[0], bounds[1], int(kind), start)


@_overlap
def MIDPOINT(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Midpoint of the highest and lowest value over the period."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda v: _extremes.window_range(v, v, v, p, _extremes.MIDPOINT), p - 1, x)


@_overlap
def MIDPRICE(high: ArrayLike, low: ArrayLike, timeperiod: int = 14) -> Array:
    """Midpoint of the highest high and lowest low over the period."""
    h, lo = as_inputs(high=high, low=low)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b: _extremes.window_range(a, b, a, p, _extremes.MIDPOINT), p - 1, h, lo)


@indicator(family="overlap", outputs=("upperband", "middleband", "lowerband"))
def BBANDS(
    real: ArrayLike,
    timeperiod: int = 20,
    nbdevup: float = 2.0,
    nbdevdn: float = 2.0,
    matype: int = 0,
) -> tuple[Array, Array, Array]:
    """Bollinger bands: an MA ± multiples of the population standard deviation."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    up = check_real(nbdevup, "nbdevup")
    dn = check_real(nbdevdn, "nbdevdn")
    kind = check_matype(matype)
    upper, middle, lower = run_multi(lambda v: _bbands(v, p, up, dn, kind), ma_lookback(p, kind), 3, x)
    return upper, middle, lower


def _bbands(x: Array, p: int, up: float, dn: float, kind: int) -> tuple[Array, Array, Array]:
    middle = _ma.ma(x, p, kind)
    upper, lower = bands(middle, stddev(x, p, 1.0), up, dn)
    return upper, middle, lower


@kernel
def bands(middle: Array, std: Array, up: float, dn: float) -> tuple[Array, Array]:
    """``middle + up * std`` and ``middle - dn * std`` (the second written over ``std``)."""
    upper = np.empty(len(middle))
    for i in range(len(middle)):
        upper[i] = middle[i] + up * std[i]
        std[i] = middle[i] - dn * std[i]
    return upper, std


@indicator(family="overlap", outputs=("mama", "fama"))
def MAMA(real: ArrayLike, fastlimit: float = 0.5, slowlimit: float = 0.05) -> tuple[Array, Array]:
    """MESA adaptive moving average (Ehlers) and its following average FAMA."""
    (x,) = as_inputs(real=real)
    fast = check_real(fastlimit, "fastlimit", 0.01, 0.99)
    slow = check_real(slowlimit, "slowlimit", 0.01, 0.99)
    adaptive, following = run_multi(lambda v: _hilbert.hilbert(v, _hilbert.MAMA, fast, slow), 32, 2, x)
    return adaptive, following


@_overlap
def HT_TRENDLINE(real: ArrayLike) -> Array:
    """Hilbert transform instantaneous trendline (Ehlers)."""
    (x,) = as_inputs(real=real)
    return run(lambda v: _hilbert.hilbert(v, _hilbert.TRENDLINE, 0.0, 0.0)[0], _hilbert.TREND_START + 26, x)


@_overlap
def SAR(high: ArrayLike, low: ArrayLike, acceleration: float = 0.02, maximum: float = 0.2) -> Array:
    """Wilder's parabolic stop-and-reverse."""
    h, lo = as_inputs(high=high, low=low)
    acc = check_real(acceleration, "acceleration", 0.0)
    top = check_real(maximum, "maximum", 0.0)
    settings = SarSettings.symmetric(acc, top)
    return run(lambda a, b: np.abs(sar_kernel(a, b, settings)), 1, h, lo)


@_overlap
def SAREXT(  # noqa: PLR0917 - TA-Lib's positional signature
    high: ArrayLike,
    low: ArrayLike,
    startvalue: float = 0.0,
    offsetonreverse: float = 0.0,
    accelerationinitlong: float = 0.02,
    accelerationlong: float = 0.02,
    accelerationmaxlong: float = 0.2,
    accelerationinitshort: float = 0.02,
    accelerationshort: float = 0.02,
    accelerationmaxshort: float = 0.2,
) -> Array:
    """Parabolic SAR with separate long/short settings; short positions are reported negative."""
    h, lo = as_inputs(high=high, low=low)
    settings = SarSettings(
        start=check_real(startvalue, "startvalue"),
        offset=check_real(offsetonreverse, "offsetonreverse", 0.0),
        init_long=check_real(accelerationinitlong, "accelerationinitlong", 0.0),
        step_long=check_real(accelerationlong, "accelerationlong", 0.0),
        max_long=check_real(accelerationmaxlong, "accelerationmaxlong", 0.0),
        init_short=check_real(accelerationinitshort, "accelerationinitshort", 0.0),
        step_short=check_real(accelerationshort, "accelerationshort", 0.0),
        max_short=check_real(accelerationmaxshort, "accelerationmaxshort", 0.0),
    ).capped()
    return run(lambda a, b: sar_kernel(a, b, settings), 1, h, lo)


__all__ = [
    "BBANDS",
    "DEMA",
    "EMA",
    "HT_TRENDLINE",
    "KAMA",
    "MA",
    "MAMA",
    "MAVP",
    "MIDPOINT",
    "MIDPRICE",
    "SAR",
    "SAREXT",
    "SMA",
    "T3",
    "TEMA",
    "TRIMA",
    "WMA",
]

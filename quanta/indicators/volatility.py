"""Volatility indicators: true range and its Wilder average."""

from __future__ import annotations

from numpy.typing import ArrayLike

from quanta.indicators._core import Array, as_inputs, check_period, run
from quanta.indicators._directional import atr, true_range
from quanta.indicators._registry import indicator

_volatility = indicator(family="volatility")


@_volatility
def TRANGE(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """True range: the bar's range extended to the previous close."""
    h, lo, c = as_inputs(high=high, low=low, close=close)
    return run(true_range, 1, h, lo, c)


@_volatility
def ATR(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Average true range (Wilder smoothing seeded with the first simple average)."""
    h, lo, c = as_inputs(high=high, low=low, close=close)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b, d: atr(a, b, d, p, False), p, h, lo, c)


@_volatility
def NATR(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Normalised ATR: ``100 * ATR / close``."""
    h, lo, c = as_inputs(high=high, low=low, close=close)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b, d: atr(a, b, d, p, True), p, h, lo, c)


__all__ = ["ATR", "NATR", "TRANGE"]

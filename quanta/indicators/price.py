"""Price transforms: one representative price per bar."""

from __future__ import annotations

from numpy.typing import ArrayLike

from quanta.indicators._core import Array, as_inputs, run
from quanta.indicators._registry import indicator

_price = indicator(family="price")


@_price
def AVGPRICE(open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """Average of open, high, low and close."""
    arrays = as_inputs(open=open, high=high, low=low, close=close)
    return run(lambda o, h, lo, c: (o + h + lo + c) / 4.0, 0, *arrays)


@_price
def MEDPRICE(high: ArrayLike, low: ArrayLike) -> Array:
    """Median price: ``(high + low) / 2``."""
    arrays = as_inputs(high=high, low=low)
    return run(lambda h, lo: (h + lo) / 2.0, 0, *arrays)


@_price
def TYPPRICE(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """Typical price: ``(high + low + close) / 3``."""
    arrays = as_inputs(high=high, low=low, close=close)
    return run(lambda h, lo, c: (h + lo + c) / 3.0, 0, *arrays)


@_price
def WCLPRICE(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """Weighted close price: ``(high + low + 2 close) / 4``."""
    arrays = as_inputs(high=high, low=low, close=close)
    return run(lambda h, lo, c: (h + lo + c * 2.0) / 4.0, 0, *arrays)

"""Price transforms: one representative price per bar."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from quanta._jit import kernel
from quanta.indicators._core import Array, as_inputs, run
from quanta.indicators._registry import indicator

_price = indicator(family="price")


@_price
def AVGPRICE(open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """Average of open, high, low and close."""
    arrays = as_inputs(open=open, high=high, low=low, close=close)
    return run(_average4, 0, *arrays)


@_price
def MEDPRICE(high: ArrayLike, low: ArrayLike) -> Array:
    """Median price: ``(high + low) / 2``."""
    arrays = as_inputs(high=high, low=low)
    return run(_median, 0, *arrays)


@_price
def TYPPRICE(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """Typical price: ``(high + low + close) / 3``."""
    arrays = as_inputs(high=high, low=low, close=close)
    return run(lambda h, lo, c: _typical(h, lo, c, 1.0, 3.0), 0, *arrays)


@_price
def WCLPRICE(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """Weighted close price: ``(high + low + 2 close) / 4``."""
    arrays = as_inputs(high=high, low=low, close=close)
    return run(lambda h, lo, c: _typical(h, lo, c, 2.0, 4.0), 0, *arrays)


@kernel
def _average4(open_: Array, high: Array, low: Array, close: Array) -> Array:
    out = np.empty(len(open_))
    for i in range(len(out)):
        out[i] = (open_[i] + high[i] + low[i] + close[i]) / 4.0
    return out


@kernel
def _median(high: Array, low: Array) -> Array:
    out = np.empty(len(high))
    for i in range(len(out)):
        out[i] = (high[i] + low[i]) / 2.0
    return out


@kernel
def _typical(high: Array, low: Array, close: Array, close_weight: float, divisor: float) -> Array:
    """``(high + low + close * close_weight) / divisor`` (the close counted once exactly)."""
    out = np.empty(len(high))
    for i in range(len(out)):
        c = close[i] if close_weight == 1.0 else close[i] * close_weight
        out[i] = (high[i] + low[i] + c) / divisor
    return out

"""Volatility indicators: true range and its Wilder average."""

from __future__ import annotations

from numpy.typing import ArrayLike

from quanta.indicators._core import (
    Array,
    as_inputs,
    check_period,
    guarded_div,
    run,
    true_range,
    wilder_seeded,
    zero_or_nan,
)
from quanta.indicators._registry import indicator

_volatility = indicator(family="volatility")


def _atr(high: Array, low: Array, close: Array, period: int) -> Array:
    tr = true_range(high, low, close)
    if period == 1:
        return tr
    return wilder_seeded(tr, period, float(tr[1 : period + 1].sum()) / period, period)


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
    return run(lambda a, b, d: _atr(a, b, d, p), p, h, lo, c)


@_volatility
def NATR(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Normalised ATR: ``100 * ATR / close``."""
    h, lo, c = as_inputs(high=high, low=low, close=close)
    p = check_period(timeperiod, "timeperiod", 1)

    def kernel(a: Array, b: Array, d: Array) -> Array:
        return guarded_div(_atr(a, b, d, p), d, zero_if=zero_or_nan(d)) * 100.0

    return run(kernel, p, h, lo, c)


__all__ = ["ATR", "NATR", "TRANGE"]

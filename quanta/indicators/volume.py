"""Volume indicators: accumulation/distribution and on-balance volume."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from quanta.indicators._core import Array, as_inputs, check_period, ema_seeded, run
from quanta.indicators._registry import indicator

_volume = indicator(family="volume")


def _ad(high: Array, low: Array, close: Array, volume: Array) -> Array:
    rng = high - low
    clv = np.zeros(len(high))
    np.divide((close - low) - (high - close), rng, out=clv, where=rng > 0.0)
    return np.cumsum(clv * volume)


@_volume
def AD(high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike) -> Array:
    """Chaikin accumulation/distribution line."""
    h, lo, c, v = as_inputs(high=high, low=low, close=close, volume=volume)
    return run(_ad, 0, h, lo, c, v)


@_volume
def ADOSC(  # noqa: PLR0917 - TA-Lib's positional signature
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    volume: ArrayLike,
    fastperiod: int = 3,
    slowperiod: int = 10,
) -> Array:
    """Chaikin A/D oscillator: fast EMA minus slow EMA of the A/D line, both seeded with bar 0."""
    h, lo, c, v = as_inputs(high=high, low=low, close=close, volume=volume)
    fast = check_period(fastperiod, "fastperiod")
    slow = check_period(slowperiod, "slowperiod")

    def kernel(a: Array, b: Array, d: Array, e: Array) -> Array:
        ad = _ad(a, b, d, e)
        seed = float(ad[0])
        return ema_seeded(ad, 2.0 / (fast + 1), seed, 0) - ema_seeded(ad, 2.0 / (slow + 1), seed, 0)

    return run(kernel, max(fast, slow) - 1, h, lo, c, v)


@_volume
def OBV(real: ArrayLike, volume: ArrayLike) -> Array:
    """On-balance volume: volume added on up closes and subtracted on down closes."""
    x, v = as_inputs(real=real, volume=volume)

    def kernel(a: Array, b: Array) -> Array:
        signed = np.sign(np.diff(a)) * b[1:]
        return np.cumsum(np.concatenate((b[:1], signed)))

    return run(kernel, 0, x, v)

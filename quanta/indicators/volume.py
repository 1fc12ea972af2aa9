"""Volume indicators: accumulation/distribution and on-balance volume."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from quanta._jit import kernel
from quanta.indicators._core import Array, as_inputs, check_period, run
from quanta.indicators._registry import indicator

_volume = indicator(family="volume")


@kernel
def accumulation(high: Array, low: Array, close: Array, volume: Array) -> Array:
    """The A/D line: running total of ``volume × ((close - low) - (high - close)) / (high - low)``
    (bars with no range add nothing)."""
    out = np.empty(len(high))
    total = 0.0
    for i in range(len(high)):
        rng = high[i] - low[i]
        clv = ((close[i] - low[i]) - (high[i] - close[i])) / rng if rng > 0.0 else 0.0
        total += clv * volume[i]
        out[i] = total
    return out


@kernel
def chaikin_oscillator(high: Array, low: Array, close: Array, volume: Array, fast: int, slow: int) -> Array:  # noqa: PLR0917
    """Fast EMA minus slow EMA of the A/D line, both seeded with its first value."""
    n = len(high)
    out = np.empty(n)
    k_fast, k_slow = 2.0 / (fast + 1), 2.0 / (slow + 1)
    c_fast, c_slow = 1.0 - k_fast, 1.0 - k_slow
    ad = f = s = 0.0
    for i in range(n):
        rng = high[i] - low[i]
        clv = ((close[i] - low[i]) - (high[i] - close[i])) / rng if rng > 0.0 else 0.0
        ad += clv * volume[i]
        if i == 0:
            f = s = ad
        else:
            f = (k_fast * ad) + (c_fast * f)
            s = (k_slow * ad) + (c_slow * s)
        out[i] = f - s
    return out


@kernel
def on_balance(close: Array, volume: Array) -> Array:
    """Volume added on up closes, subtracted on down closes, from the first bar's volume."""
    out = np.empty(len(close))
    if len(close):
        out[0] = volume[0]
    for i in range(1, len(close)):
        step = close[i] - close[i - 1]
        out[i] = out[i - 1] + (volume[i] if step > 0 else -volume[i] if step < 0 else 0.0 * step)
    return out


@_volume
def AD(high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike) -> Array:
    """Chaikin accumulation/distribution line."""
    h, lo, c, v = as_inputs(high=high, low=low, close=close, volume=volume)
    return run(accumulation, 0, h, lo, c, v)


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
    return run(
        lambda a, b, d, e: chaikin_oscillator(a, b, d, e, fast, slow), max(fast, slow) - 1, h, lo, c, v
    )


@_volume
def OBV(real: ArrayLike, volume: ArrayLike) -> Array:
    """On-balance volume: volume added on up closes and subtracted on down closes."""
    x, v = as_inputs(real=real, volume=volume)
    return run(on_balance, 0, x, v)

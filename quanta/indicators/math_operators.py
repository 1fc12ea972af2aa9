"""Math operators over a trailing window: highest, lowest and sum."""

from __future__ import annotations

from numpy.typing import ArrayLike

from quanta.indicators._core import Array, as_inputs, check_period, run, run_multi
from quanta.indicators._extremes import rolling_max, rolling_min
from quanta.indicators._moments import window_sum
from quanta.indicators._registry import indicator

_math = indicator(family="math", overlay=True)


@_math
def MAX(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Highest value over the period."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda v: rolling_max(v, p), p - 1, x)


@_math
def MIN(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Lowest value over the period."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda v: rolling_min(v, p), p - 1, x)


@indicator(family="math", outputs=("min", "max"), overlay=True)
def MINMAX(real: ArrayLike, timeperiod: int = 30) -> tuple[Array, Array]:
    """Lowest and highest values over the period."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    low, high = run_multi(lambda v: (rolling_min(v, p), rolling_max(v, p)), p - 1, 2, x)
    return low, high


@indicator(family="math")
def SUM(real: ArrayLike, timeperiod: int = 30) -> Array:
    """Sum over the period."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda v: window_sum(v, p), p - 1, x)

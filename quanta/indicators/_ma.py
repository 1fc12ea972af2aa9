"""Moving-average kernels shared by every family, and the ``matype`` dispatch.

Kernels take a clean array (no leading NaN) and return a same-length array whose first
``ma_lookback(period, matype)`` values are meaningless (callers blank them).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

import numpy as np

from quanta.indicators._core import (
    Array,
    ema_sma_seed,
    linear_recurrence,
    nan_array,
    on_tail,
    rolling_sum,
    window_dot,
)
from quanta.indicators._hilbert import mama_kernel
from quanta.indicators._moments import window_sum


class MA_Type(IntEnum):  # noqa: N801 - TA-Lib's name, kept for drop-in use
    """Moving-average types accepted by ``matype`` parameters (TA-Lib's numbering)."""

    SMA = 0
    EMA = 1
    WMA = 2
    DEMA = 3
    TEMA = 4
    TRIMA = 5
    KAMA = 6
    MAMA = 7
    T3 = 8


def check_matype(value: object, name: str = "matype") -> MA_Type:
    """Validate a ``matype`` parameter."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer 0-8 (see MA_Type), got {value!r}")
    try:
        return MA_Type(int(value))
    except ValueError:
        raise ValueError(f"{name} must be in [0, 8] (see MA_Type), got {value}") from None


def sma(x: Array, period: int) -> Array:
    """Simple moving average."""
    return rolling_sum(x, period) / period  # running total, like TA-Lib's SMA


def ema(x: Array, period: int) -> Array:
    """TA-Lib EMA (seeded with the first simple average)."""
    return ema_sma_seed(x, period)


def wma(x: Array, period: int) -> Array:
    """Linearly weighted moving average (newest bar weighs ``period``)."""
    weights = np.arange(1, period + 1, dtype=np.float64)
    return window_dot(x, weights) / (period * (period + 1) / 2.0)


def ema_chain(x: Array, period: int, depth: int) -> list[Array]:
    """``depth`` EMAs applied in cascade, each seeded where the previous becomes valid."""
    out = [ema(x, period)]
    for level in range(1, depth):
        out.append(on_tail(lambda v: ema(v, period), out[-1], level * (period - 1)))
    return out


def dema(x: Array, period: int) -> Array:
    """Double EMA: ``2 e1 - e2``."""
    e1, e2 = ema_chain(x, period, 2)
    return 2.0 * e1 - e2


def tema(x: Array, period: int) -> Array:
    """Triple EMA: ``3 e1 - 3 e2 + e3``."""
    e1, e2, e3 = ema_chain(x, period, 3)
    return 3.0 * e1 - 3.0 * e2 + e3


def trima(x: Array, period: int) -> Array:
    """Triangular moving average: an SMA of an SMA."""
    first = (period + 1) // 2 if period % 2 else period // 2
    second = period + 1 - first
    return on_tail(lambda v: sma(v, second), sma(x, first), first - 1)


def kama(x: Array, period: int) -> Array:
    """Kaufman adaptive moving average (seeded with the bar before the first output)."""
    n = len(x)
    out = nan_array(n)
    if n <= period:
        return out
    change = np.abs(x[period:] - x[:-period])
    noise = window_sum(np.abs(np.diff(x)), period)[period - 1 :]
    ratio = np.where(noise <= change, 1.0, change / np.where(noise == 0.0, 1.0, noise))
    fast, slow = 2.0 / 3.0, 2.0 / 31.0
    sc = (ratio * (fast - slow) + slow) ** 2
    out[period:] = linear_recurrence(1.0 - sc, sc * x[period:], float(x[period - 1]))
    return out


def t3(x: Array, period: int, vfactor: float = 0.7) -> Array:
    """Tillson T3: six cascaded EMAs blended with the volume factor."""
    e = ema_chain(x, period, 6)
    a = vfactor
    c1 = -(a**3)
    c2 = 3 * a**2 + 3 * a**3
    c3 = -6 * a**2 - 3 * a - 3 * a**3
    c4 = 1 + 3 * a + a**3 + 3 * a**2
    return c1 * e[5] + c2 * e[4] + c3 * e[3] + c4 * e[2]


def mama_only(x: Array, period: int) -> Array:
    """MAMA with TA-Lib's default limits, as used by ``matype=7`` (period is ignored)."""
    return mama_kernel(x, 0.5, 0.05)[0]


_KERNELS: dict[MA_Type, Callable[[Array, int], Array]] = {
    MA_Type.SMA: sma,
    MA_Type.EMA: ema,
    MA_Type.WMA: wma,
    MA_Type.DEMA: dema,
    MA_Type.TEMA: tema,
    MA_Type.TRIMA: trima,
    MA_Type.KAMA: kama,
    MA_Type.MAMA: mama_only,
    MA_Type.T3: t3,
}

_LOOKBACKS: dict[MA_Type, Callable[[int], int]] = {
    MA_Type.SMA: lambda p: p - 1,
    MA_Type.EMA: lambda p: p - 1,
    MA_Type.WMA: lambda p: p - 1,
    MA_Type.DEMA: lambda p: 2 * (p - 1),
    MA_Type.TEMA: lambda p: 3 * (p - 1),
    MA_Type.TRIMA: lambda p: p - 1,
    MA_Type.KAMA: lambda p: p,
    MA_Type.MAMA: lambda p: 32,
    MA_Type.T3: lambda p: 6 * (p - 1),
}


def ma_lookback(period: int, matype: int) -> int:
    """Warm-up bars of ``MA(period, matype)``; a period of 1 is the identity."""
    return 0 if period == 1 else _LOOKBACKS[MA_Type(matype)](period)


def ma(x: Array, period: int, matype: int) -> Array:
    """``MA(x, period, matype)`` computed from the first bar."""
    if period == 1:
        return x.copy()
    return _KERNELS[MA_Type(matype)](x, period)


def ma_from(x: Array, period: int, matype: int, start: int) -> Array:
    """The MA as TA-Lib computes it when asked for outputs from bar ``start`` onwards.

    Recursive averages (EMA, KAMA, MAMA…) are then seeded at ``start - lookback`` rather than at
    bar 0, which composite indicators (APO, PPO, MACD, MAVP) rely on.
    """
    offset = start - ma_lookback(period, matype)
    out = on_tail(lambda v: ma(v, period, matype), x, offset)
    out[:start] = np.nan
    return out

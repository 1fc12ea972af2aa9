"""Candlestick patterns: +100 / -100 (bullish / bearish) where the pattern completes, else 0.

Like TA-Lib, these return int32 arrays with 0 (not NaN) during the warm-up.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quanta._jit import kernel
from quanta.indicators._core import Array, as_inputs, first_valid
from quanta.indicators._registry import indicator

IntArray = NDArray[np.int32]

_pattern = indicator(family="patterns", outputs=("integer",), overlay=False)

DOJI_PERIOD = 10  # bars averaged for the reference high-low range
DOJI_FACTOR = 0.1  # a doji's body is at most 10 % of that average range


def _run_int(kernel: Callable[..., IntArray], lookback: int, arrays: list[Array]) -> IntArray:
    """Run an integer-valued ``kernel`` after leading NaNs; the warm-up is 0, as in TA-Lib."""
    n = len(arrays[0])
    out = np.zeros(n, dtype=np.int32)
    start = first_valid(arrays)
    if n - start > lookback:
        values = kernel(*(a[start:] for a in arrays))
        out[start + lookback :] = values[lookback:]
    return out


@kernel
def _engulfing(o: Array, h: Array, lo: Array, c: Array) -> IntArray:
    """±100 where today's body engulfs yesterday's opposite-coloured one (±80 when one end ties).

    A candle is white (bullish) when ``close >= open``.
    """
    out = np.zeros(len(o), dtype=np.int32)
    for i in range(1, len(o)):
        po, pc, co, cc = o[i - 1], c[i - 1], o[i], c[i]
        prev_white, now_white = pc >= po, cc >= co
        if not prev_white and now_white and cc >= po and co <= pc:
            out[i] = 100 if cc > po and co < pc else 80 if cc > po or co < pc else 0
        elif prev_white and not now_white and co >= pc and cc <= po:
            out[i] = -100 if co > pc and cc < po else -80 if co > pc or cc < po else 0
    return out


@_pattern
def CDLENGULFING(open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike) -> IntArray:
    """Engulfing: today's body engulfs yesterday's opposite-coloured body (±80 when one end ties)."""
    arrays = as_inputs(open=open, high=high, low=low, close=close)
    return _run_int(_engulfing, 2, arrays)


@kernel
def _doji(o: Array, h: Array, lo: Array, c: Array) -> IntArray:
    """100 where the body is at most ``DOJI_FACTOR`` × the mean high-low range of the previous
    ``DOJI_PERIOD`` bars (a running total, exactly 0 over bars without range)."""
    n = len(o)
    out = np.zeros(n, dtype=np.int32)
    total, ranged = 0.0, -1  # ``ranged``: the last bar with a range
    for i in range(min(DOJI_PERIOD, n)):
        total += h[i] - lo[i]
        if h[i] != lo[i]:
            ranged = i
    for i in range(DOJI_PERIOD, n):
        if i - ranged > DOJI_PERIOD:
            total = 0.0
        average = DOJI_FACTOR * total / DOJI_PERIOD
        out[i] = 100 if abs(c[i] - o[i]) <= average else 0  # a select, not a branch
        rng = h[i] - lo[i]
        total += rng
        total -= h[i - DOJI_PERIOD] - lo[i - DOJI_PERIOD]
        if rng != 0.0:
            ranged = i
    return out


@_pattern
def CDLDOJI(open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike) -> IntArray:
    """Doji: a body no larger than 10 % of the average high-low range of the previous 10 bars."""
    arrays = as_inputs(open=open, high=high, low=low, close=close)
    return _run_int(_doji, DOJI_PERIOD, arrays)

"""Candlestick patterns: +100 / -100 (bullish / bearish) where the pattern completes, else 0.

Like TA-Lib, these return int32 arrays with 0 (not NaN) during the warm-up.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quanta.indicators._core import Array, as_inputs, first_valid
from quanta.indicators._moments import window_sum
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


def _white(open_: Array, close: Array) -> NDArray[np.bool_]:
    """TA-Lib's candle colour: white (bullish) when ``close >= open``."""
    white: NDArray[np.bool_] = close >= open_
    return white


def _engulfing(o: Array, h: Array, lo: Array, c: Array) -> IntArray:
    out = np.zeros(len(o), dtype=np.int32)
    po, pc, co, cc = o[:-1], c[:-1], o[1:], c[1:]
    prev_white, now_white = _white(po, pc), _white(co, cc)
    bull = ~prev_white & now_white & (cc >= po) & (co <= pc)
    bear = prev_white & ~now_white & (co >= pc) & (cc <= po)
    out[1:] = _strength(bull, cc > po, co < pc) - _strength(bear, co > pc, cc < po)
    return out


def _strength(match: NDArray[np.bool_], top: NDArray[np.bool_], bottom: NDArray[np.bool_]) -> IntArray:
    """100 when both body ends engulf strictly, 80 when one end ties, 0 when both tie."""
    strict = top.astype(np.int32) + bottom.astype(np.int32)
    score: IntArray = np.where(match, np.choose(strict, [0, 80, 100]), 0).astype(np.int32)
    return score


@_pattern
def CDLENGULFING(open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike) -> IntArray:
    """Engulfing: today's body engulfs yesterday's opposite-coloured body (±80 when one end ties)."""
    arrays = as_inputs(open=open, high=high, low=low, close=close)
    return _run_int(_engulfing, 2, arrays)


def _doji(o: Array, h: Array, lo: Array, c: Array) -> IntArray:
    out = np.zeros(len(o), dtype=np.int32)
    ranges = window_sum(h - lo, DOJI_PERIOD)
    average = DOJI_FACTOR * ranges[DOJI_PERIOD - 1 : -1] / DOJI_PERIOD
    body = np.abs(c - o)[DOJI_PERIOD:]
    out[DOJI_PERIOD:] = np.where(body <= average, 100, 0)
    return out


@_pattern
def CDLDOJI(open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike) -> IntArray:
    """Doji: a body no larger than 10 % of the average high-low range of the previous 10 bars."""
    arrays = as_inputs(open=open, high=high, low=low, close=close)
    return _run_int(_doji, DOJI_PERIOD, arrays)

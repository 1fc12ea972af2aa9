"""Candlestick patterns equal TA-Lib's integer signals on GOOG and on random bars."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from hypothesis import given, settings

import quanta.indicators as qi
from tests.indicators.helpers import load_goog, ohlcv

PATTERNS = ["CDLDOJI", "CDLENGULFING"]


def _same(name: str, bars: dict[str, np.ndarray]) -> None:
    args = [bars[k] for k in ("open", "high", "low", "close")]
    ours, ref = getattr(qi, name)(*args), getattr(talib, name)(*args)
    assert ours.dtype == np.int32
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("name", PATTERNS)
def test_pattern_matches_talib_on_goog(name: str) -> None:
    bars = load_goog()
    _same(name, bars)
    assert np.count_nonzero(getattr(qi, name)(bars["open"], bars["high"], bars["low"], bars["close"])) > 50


@pytest.mark.parametrize("name", PATTERNS)
@settings(max_examples=40, deadline=None, derandomize=True)
@given(bars=ohlcv())
def test_pattern_matches_talib_on_random_bars(name: str, bars: dict[str, np.ndarray]) -> None:
    _same(name, bars)

"""Streaming SMA, EMA and RSI equal the batch indicators of quanta.indicators bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanta import indicators as batch
from quanta.streaming import EMA, RSI, SMA, IndicatorSpec

CASES = [(SMA, batch.SMA), (EMA, batch.EMA), (RSI, batch.RSI)]


def streamed(indicator: SMA | EMA | RSI, values: np.ndarray) -> np.ndarray:
    return np.array([indicator.update(float(v)) for v in values])


@pytest.mark.parametrize(("streaming", "reference"), CASES)
@pytest.mark.parametrize("period", [2, 3, 14, 20, 50, 200])
def test_streaming_indicator_equals_batch_on_goog_closes(
    streaming: type[SMA | EMA | RSI], reference: object, period: int, goog_bars: pa.Table
) -> None:
    closes = goog_bars.column("close").to_numpy()
    expected = reference(closes, timeperiod=period)  # type: ignore[operator]
    assert np.array_equal(streamed(streaming(period), closes), expected, equal_nan=True)


@given(
    values=st.lists(st.floats(0.01, 1e6, allow_nan=False), min_size=0, max_size=80),
    period=st.integers(2, 30),
)
def test_streaming_indicators_equal_batch_on_any_series(values: list[float], period: int) -> None:
    x = np.array(values, dtype=float)
    for streaming, reference in CASES:
        assert np.array_equal(streamed(streaming(period), x), reference(x, timeperiod=period), equal_nan=True)


@pytest.mark.parametrize(("streaming", "reference"), [(SMA, batch.SMA), (EMA, batch.EMA)])
def test_period_one_returns_the_input(streaming: type[SMA | EMA], reference: object) -> None:
    x = np.array([3.0, 1.0, 2.0])
    assert np.array_equal(streamed(streaming(1), x), reference(x, timeperiod=1))  # type: ignore[operator]


def test_copy_is_independent_of_the_original() -> None:
    original = RSI(3)
    for value in (1.0, 2.0, 1.5, 3.0):
        original.update(value)
    twin = original.copy()
    assert twin.update(2.5) == original.update(2.5)
    twin.update(10.0)
    assert original.update(2.0) != twin.update(2.0)


def test_warm_up_is_nan_until_the_period_is_full() -> None:
    sma = SMA(3)
    assert [math.isnan(sma.update(v)) for v in (1.0, 2.0, 3.0)] == [True, True, False]


def test_indicator_spec_parses_and_names_outputs() -> None:
    spec = IndicatorSpec.parse("rsi:14")
    assert (spec.name, spec.period, spec.key) == ("RSI", 14, "rsi_14")
    assert isinstance(spec.create(), RSI)


@pytest.mark.parametrize("text", ["MACD:12", "SMA", "SMA:0", "SMA:x", ""])
def test_indicator_spec_rejects_unknown_or_bad_input(text: str) -> None:
    with pytest.raises(ValueError, match="streaming indicator"):
        IndicatorSpec.parse(text)

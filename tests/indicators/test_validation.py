"""Input handling: coercion, length checks, parameter validation, NaNs and short inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

import quanta.indicators as qi
from quanta.indicators import MA_Type


def test_lists_and_series_are_accepted_and_ndarrays_come_back() -> None:
    values = [1.0, 2.0, 4.0, 8.0, 16.0]
    series = pd.Series(values, index=pd.date_range("2024-01-01", periods=5))
    for data in (values, series, np.array(values, dtype=np.int64)):
        out = qi.SMA(data, 2)
        assert isinstance(out, np.ndarray)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, [np.nan, 1.5, 3.0, 6.0, 12.0])


def test_mismatched_lengths_are_rejected_with_the_lengths_named() -> None:
    with pytest.raises(ValueError, match=r"high=3, low=2"):
        qi.MIDPRICE([1.0, 2.0, 3.0], [1.0, 2.0])


def test_two_dimensional_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="one-dimensional"):
        qi.SMA(np.ones((3, 3)), 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: qi.RSI(x, 1), r"timeperiod must be in \[2, 100000\], got 1"),
        (lambda x: qi.SMA(x, 0), r"timeperiod must be in \[1, 100000\]"),
        (lambda x: qi.SMA(x, 100_001), r"timeperiod must be in"),
        (lambda x: qi.MACD(x, fastperiod=1), r"fastperiod must be in \[2"),
        (lambda x: qi.MA(x, 5, matype=9), r"matype must be in \[0, 8\]"),
        (lambda x: qi.T3(x, 5, vfactor=1.5), r"vfactor must be in \[0.0, 1.0\]"),
        (lambda x: qi.MAMA(x, fastlimit=0.0), r"fastlimit must be in"),
    ],
)
def test_bad_parameters_raise_clear_value_errors(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(np.arange(1.0, 50.0))  # type: ignore[operator]


@pytest.mark.parametrize("bad", [14.5, "14", None, True])
def test_non_integer_periods_raise_type_errors(bad: object) -> None:
    with pytest.raises(TypeError, match="timeperiod must be an integer"):
        qi.RSI(np.arange(1.0, 50.0), bad)  # type: ignore[arg-type]


def test_numpy_integers_and_ma_type_members_are_accepted() -> None:
    x = np.arange(1.0, 50.0)
    np.testing.assert_allclose(qi.MA(x, np.int32(5), MA_Type.EMA), talib.MA(x, 5, 1))


@pytest.mark.parametrize("n", [0, 1, 5, 14])
def test_inputs_shorter_than_the_warm_up_give_all_nan_like_talib(n: int) -> None:
    x = np.linspace(1.0, 2.0, n)
    out = qi.RSI(x, 14)
    assert out.shape == (n,)
    assert np.isnan(out).all()
    assert np.isnan(talib.RSI(x, 14)).all()


def test_all_nan_input_gives_all_nan() -> None:
    assert np.isnan(qi.EMA(np.full(40, np.nan), 5)).all()


def test_interior_nan_in_a_running_sum_propagates_like_talib() -> None:
    x = np.arange(1.0, 30.0)
    x[10] = np.nan
    ours, ref = qi.SMA(x, 3), talib.SMA(x, 3)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))


def test_leading_nan_in_any_input_delays_the_start_for_all() -> None:
    high = np.arange(10.0, 40.0)
    low = high - 1.0
    high[:3] = np.nan
    low[:5] = np.nan
    np.testing.assert_allclose(qi.MIDPRICE(high, low, 4), talib.MIDPRICE(high, low, 4))


def test_inputs_are_not_modified() -> None:
    x = np.arange(1.0, 30.0)
    before = x.copy()
    for func in (qi.SMA, qi.EMA, qi.RSI, qi.KAMA):
        func(x)
    qi.MA(x, 1)[:] = 0.0
    np.testing.assert_array_equal(x, before)

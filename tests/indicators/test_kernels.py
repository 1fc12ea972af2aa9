"""The compiled kernels behind the indicators: same bits as their Python source, exact window
extremes, no drift over long series, and an import that does not load numba."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

import quanta.indicators as qi
from quanta.indicators import _directional, _extremes, _hilbert, _ma, _moments, _oscillators, _sar, patterns
from quanta.indicators import statistic as stat
from tests.indicators.helpers import ohlcv

Bars = dict[str, np.ndarray]

KERNEL_CALLS: dict[str, Callable[[Bars], tuple[Any, tuple[Any, ...]]]] = {
    "sma": lambda b: (_ma.sma, (b["close"], 7)),
    "ema cascade (T3)": lambda b: (_ma.ema_cascade, (b["close"], 4, 0.4, _ma.cascade_weights(8, 0.7))),
    "wma": lambda b: (_ma.wma, (b["close"], 9)),
    "trima": lambda b: (_ma.trima, (b["close"], 8)),
    "kama": lambda b: (_ma.kama, (b["close"], 10)),
    "macd": lambda b: (_ma.macd, (b["close"], 12, 2 / 13, 26, 2 / 27, 9)),
    "mavp": lambda b: (_ma.mavp, (b["close"], b["periods"], 2, 30, 1, 29)),
    "mama": lambda b: (_hilbert.hilbert, (b["close"], _hilbert.MAMA, 0.5, 0.05)),
    "trendline": lambda b: (_hilbert.hilbert, (b["close"], _hilbert.TRENDLINE, 0.0, 0.0)),
    "max": lambda b: (_extremes.rolling_extreme, (b["close"], 9, 1.0)),
    "stochastic": lambda b: (
        _extremes.window_range,
        (b["high"], b["low"], b["close"], 5, _extremes.STOCHASTIC),
    ),
    "aroon": lambda b: (_extremes.aroon, (b["high"], b["low"], 14)),
    "variance": lambda b: (_moments.moments, (b["close"], b["close"], 5, _moments.VARIANCE, 1.0)),
    "correlation": lambda b: (_moments.moments, (b["high"], b["low"], 10, _moments.CORRELATION, 1.0)),
    "beta": lambda b: (_moments.moments, (b["high"], b["low"], 5, _moments.BETA, 1.0)),
    "sum": lambda b: (_moments.window_sum, (b["close"], 30)),
    "linear regression": lambda b: (stat.regression, (b["close"], 14, stat.FORECAST)),
    "sar": lambda b: (
        _sar.sar_loop,
        (b["high"], b["low"], np.array([0, 0, 0.02, 0.02, 0.2, 0.02, 0.02, 0.2])),
    ),
    "adxr": lambda b: (
        _directional.directional_index,
        (b["high"], b["low"], b["close"], 5, _directional.ADXR),
    ),
    "natr": lambda b: (_directional.atr, (b["high"], b["low"], b["close"], 14, True)),
    "ultimate": lambda b: (_directional.ultimate_oscillator, (b["high"], b["low"], b["close"], 3, 7, 14)),
    "rsi": lambda b: (_oscillators.wilder_rsi, (b["close"], 14, False)),
    "roc": lambda b: (_oscillators.change, (b["close"], 3, _oscillators.ROC)),
    "cci": lambda b: (_oscillators.cci, (b["high"], b["low"], b["close"], 14)),
    "mfi": lambda b: (_oscillators.mfi, (b["high"], b["low"], b["close"], b["volume"], 14)),
    "doji": lambda b: (patterns._doji, (b["open"], b["high"], b["low"], b["close"])),
}


def _plain(func: Any) -> Callable[..., Any]:
    """The Python source of a kernel (its wrapper's, or its numba dispatcher's)."""
    return func.py_func  # type: ignore[no-any-return]


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize("name", list(KERNEL_CALLS))
@settings(max_examples=8, deadline=None)
@given(bars=ohlcv(max_len=220))
def test_compiled_kernel_gives_the_bits_of_its_python_source(name: str, bars: Bars) -> None:
    if len(bars["close"]) < 40:
        return
    func, args = KERNEL_CALLS[name](bars)
    compiled, plain = _as_tuple(func(*args)), _as_tuple(_plain(func)(*args))
    for a, b in zip(compiled, plain, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6) | st.just(float("nan")), min_size=1, max_size=90),
    period=st.integers(1, 40),
)
def test_window_extremes_equal_a_plain_scan_and_are_nan_where_the_window_holds_a_nan(
    values: list[float], period: int
) -> None:
    x = np.asarray(values)
    for sign, pick in ((1.0, np.max), (-1.0, np.min)):
        out = _extremes.rolling_extreme(x, period, sign)
        expected = [np.nan if i < period - 1 else pick(x[i - period + 1 : i + 1]) for i in range(len(x))]
        np.testing.assert_array_equal(out, expected)


def _windows(x: np.ndarray, period: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(x, period)


def _fresh(values: np.ndarray, period: int) -> np.ndarray:
    """``values`` (one per full window) placed after a warm-up of ``period - 1`` NaNs."""
    return np.concatenate((np.full(period - 1, np.nan), values))


def _sma(x: np.ndarray, period: int) -> np.ndarray:
    return _fresh(_windows(x, period).mean(axis=1), period)


def _linreg(x: np.ndarray, period: int) -> np.ndarray:
    t = np.arange(period, dtype=np.float64)
    slope, intercept = np.polynomial.polynomial.polyfit(t, _windows(x, period).T, 1)[::-1]
    return _fresh(intercept + slope * (period - 1), period)


EXACT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "SUM": lambda x: _fresh(_windows(x, 30).sum(axis=1), 30),
    "WMA": lambda x: _fresh(_windows(x, 30) @ np.arange(1.0, 31.0) / 465.0, 30),
    "TRIMA": lambda x: np.concatenate((np.full(14, np.nan), _sma(_sma(x, 15)[14:], 16))),
    "STDDEV": lambda x: _fresh(_windows(x, 5).std(axis=1), 5),
    "LINEARREG": lambda x: _linreg(x, 14),
}


@pytest.mark.parametrize("name", list(EXACT))
def test_running_totals_do_not_drift_over_long_series(name: str) -> None:
    rng = np.random.default_rng(11)
    x = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 200_000)))  # wanders over three decades
    ours, exact = getattr(qi, name)(x), EXACT[name](x)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(exact))
    np.testing.assert_allclose(ours, exact, rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", ["SMA", "EMA", "KAMA", "T3", "MACD", "RSI"])
def test_long_series_keep_talib_parity(name: str) -> None:
    rng = np.random.default_rng(12)
    x = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 200_000)))
    for ours, ref in zip(_as_tuple(getattr(qi, name)(x)), _as_tuple(getattr(talib, name)(x)), strict=True):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_read_only_inputs_are_accepted_and_left_alone() -> None:
    x = np.linspace(1.0, 2.0, 50)
    x.flags.writeable = False
    np.testing.assert_array_equal(qi.SMA(x, 5), talib.SMA(x, 5))
    assert not x.flags.writeable


def test_importing_the_indicators_does_not_load_numba() -> None:
    code = "import sys, quanta.indicators, quanta.engine.backtest; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"

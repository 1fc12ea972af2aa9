"""Helpers for the indicator tests: GOOG bars, random OHLCV bars, and the parity assertion."""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st


def load_goog() -> dict[str, np.ndarray]:
    """GOOG daily OHLCV from bokeh_sampledata's stocks.csv.gz, as float64 arrays."""
    path = importlib.resources.files("bokeh_sampledata") / "_data" / "stocks.csv.gz"
    with importlib.resources.as_file(path) as file:
        frame = pd.read_csv(file)
    goog = frame[frame["Ticker"] == "GOOG"].sort_values("Date")
    return {
        col.lower(): goog[col].to_numpy(dtype=np.float64)
        for col in ("Open", "High", "Low", "Close", "Volume")
    }


def input_map(bars: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map TA-Lib input names (real, real0, periods…) onto a bar dictionary."""
    n = len(bars["close"])
    return {
        **bars,
        "real": bars["close"],
        "real0": bars["high"],
        "real1": bars["low"],
        "periods": (np.arange(n) % 25 + 1).astype(np.float64),
    }


def assert_same(ours: Any, ref: Any, atol: float, label: str = "") -> None:
    """Outputs equal TA-Lib's: same NaN positions, values within ``atol``."""
    ours_t: Sequence[np.ndarray] = ours if isinstance(ours, tuple) else (ours,)
    ref_t: Sequence[np.ndarray] = ref if isinstance(ref, tuple) else (ref,)
    assert len(ours_t) == len(ref_t), label
    for i, (a, b) in enumerate(zip(ours_t, ref_t, strict=True)):
        assert isinstance(a, np.ndarray), label
        assert a.dtype == np.float64, label
        np.testing.assert_array_equal(
            np.isnan(a), np.isnan(np.asarray(b, dtype=np.float64)), err_msg=f"{label} output {i}: NaN pattern"
        )
        np.testing.assert_allclose(a, b, rtol=0, atol=atol, err_msg=f"{label} output {i}")


@st.composite
def ohlcv(draw: st.DrawFn, max_len: int = 160) -> dict[str, np.ndarray]:
    """Random positive bars with ``low <= min(open, close)`` and ``high >= max(open, close)``.

    Lengths include 0, 1 and lengths shorter than any warm-up; prices stay within 0.5–5000 (the
    1e-9 bound is absolute, so the level matters), may be rounded to cents and contain flat
    stretches so ties and zero ranges occur.
    """
    n = draw(st.integers(0, max_len))
    seed = draw(st.integers(0, 2**32 - 1))
    start = draw(st.floats(1.0, 1000.0))
    vol = draw(st.sampled_from([0.001, 0.02, 0.1]))
    cents = draw(st.booleans())
    flat = draw(st.booleans())
    rng = np.random.default_rng(seed)
    close = np.clip(start * np.exp(np.cumsum(rng.normal(0.0, vol, n))), 0.5, 5000.0)
    if flat and n > 10:
        a = int(rng.integers(0, n - 5))
        close[a : a + int(rng.integers(3, 40))] = close[a]
    open_ = np.concatenate(([start], close[:-1])) if n else close.copy()
    wick = np.abs(rng.normal(0.0, vol, (2, n))) * close
    high = np.maximum(open_, close) + wick[0] * (rng.random(n) > 0.2)
    low = np.maximum(np.minimum(open_, close) - wick[1] * (rng.random(n) > 0.2), 0.01)
    volume = rng.integers(1, 1_000_000, n).astype(np.float64) * (rng.random(n) > 0.05)
    bars = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    if cents:
        bars = {k: np.round(v, 2) for k, v in bars.items()}
        bars["low"] = np.minimum(bars["low"], np.minimum(bars["open"], bars["close"]))
        bars["high"] = np.maximum(bars["high"], np.maximum(bars["open"], bars["close"]))
    return input_map(bars)

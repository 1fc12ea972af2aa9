"""Shared data and strategies for the engine tests (GOOG daily from bokeh-sampledata)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quanta.testing.strategies import load_stock


@pytest.fixture(scope="session")
def goog() -> pd.DataFrame:
    return load_stock("GOOG")


def random_bars(seed: int, n: int = 120, *, start: str = "2020-01-01", drift: float = 0.0) -> pd.DataFrame:
    """A valid random-walk OHLCV frame on business days."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(drift, 0.02, n)))
    open_ = close * np.exp(rng.normal(0, 0.01, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, n))
    volume = rng.integers(1_000, 100_000, n).astype(float)
    index = pd.bdate_range(start, periods=n, name="Date")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    )

"""Shared data and strategies for the engine tests (GOOG daily from bokeh-sampledata)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quanta import Signals, Strategy, crossover, crossovers
from quanta.indicators import SMA

STOCKS = "bokeh_sampledata/_data/stocks.csv.gz"


def load_stock(ticker: str = "GOOG") -> pd.DataFrame:
    """Open/High/Low/Close/Volume of one ticker, indexed by Date, exactly as the CSV has them."""
    path = Path(str(metadata.distribution("bokeh-sampledata").locate_file(STOCKS)))
    raw = pd.read_csv(path)
    frame = raw[raw["Ticker"] == ticker]
    frame = frame.set_index(pd.DatetimeIndex(frame["Date"], name="Date"))
    return frame[["Open", "High", "Low", "Close", "Volume"]]


@pytest.fixture(scope="session")
def goog() -> pd.DataFrame:
    return load_stock("GOOG")


class SmaCross(Strategy):
    """Close and reverse on every crossing of two moving averages."""

    fast = 10
    slow = 20

    def init(self) -> None:
        self.fast_ma = self.I(SMA, self.data.close, self.fast)
        self.slow_ma = self.I(SMA, self.data.close, self.slow)

    def next(self) -> None:
        if crossover(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy()
        elif crossover(self.slow_ma, self.fast_ma):
            self.position.close()
            self.sell()


class SmaCrossSignals(Strategy):
    """The same logic as ``SmaCross``, declared as whole-history signals."""

    fast = 10
    slow = 20

    def init(self) -> None:
        self.fast_ma = self.I(SMA, self.data.close, self.fast)
        self.slow_ma = self.I(SMA, self.data.close, self.slow)

    def signals(self) -> Signals:
        return Signals(
            entries=crossovers(self.fast_ma, self.slow_ma),
            short_entries=crossovers(self.slow_ma, self.fast_ma),
        )


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

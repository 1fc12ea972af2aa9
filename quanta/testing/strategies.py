"""Strategies and data the tests and benchmarks share: the SMA crossover of backtesting.py's docs on GOOG."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pandas as pd

from quanta import Signals, Strategy, crossover, crossovers
from quanta.indicators import SMA

BOKEH_STOCKS = "bokeh_sampledata/_data/stocks.csv.gz"


def load_stock(ticker: str = "GOOG") -> pd.DataFrame:
    """Open/High/Low/Close/Volume of one ticker, indexed by Date, as bokeh-sampledata's CSV has them."""
    path = Path(str(metadata.distribution("bokeh-sampledata").locate_file(BOKEH_STOCKS)))
    raw = pd.read_csv(path)
    frame = raw[raw["Ticker"] == ticker]
    frame = frame.set_index(pd.DatetimeIndex(frame["Date"], name="Date"))
    return frame[["Open", "High", "Low", "Close", "Volume"]]


class SmaCross(Strategy):
    """Close and reverse on every crossing of two moving averages (event-driven)."""

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

"""Data and strategies for the optimisation tests: a year and a half of GOOG, SMA crosses."""

from __future__ import annotations

import pandas as pd
import pytest

from quanta import Signals, Strategy, crossover, crossovers
from quanta.indicators import SMA
from quanta.optimize import BacktestObjective
from quanta.testing.sample_data import bokeh_stock


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
    """The same logic as whole-history signals."""

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


@pytest.fixture(scope="session")
def goog() -> pd.DataFrame:
    """GOOG daily bars from bokeh-sampledata, the last 400 of them."""
    return bokeh_stock("GOOG").tail(400).reset_index(drop=True)


@pytest.fixture(scope="session")
def objective(goog: pd.DataFrame) -> BacktestObjective:
    """SMA-cross signals on GOOG with a 0.2% commission, maximising the Sharpe ratio."""
    return BacktestObjective(strategy=SmaCrossSignals, data=goog, options={"commission": 0.002})

"""Data and strategies for the optimisation tests: a year and a half of GOOG, SMA crosses."""

from __future__ import annotations

import pandas as pd
import pytest

from quanta.optimize import BacktestObjective
from quanta.testing.sample_data import bokeh_stock
from quanta.testing.strategies import SmaCrossSignals


@pytest.fixture(scope="session")
def goog() -> pd.DataFrame:
    """GOOG daily bars from bokeh-sampledata, the last 400 of them."""
    return bokeh_stock("GOOG").tail(400).reset_index(drop=True)


@pytest.fixture(scope="session")
def objective(goog: pd.DataFrame) -> BacktestObjective:
    """SMA-cross signals on GOOG with a 0.2% commission, maximising the Sharpe ratio."""
    return BacktestObjective(strategy=SmaCrossSignals, data=goog, options={"commission": 0.002})

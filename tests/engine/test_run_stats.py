"""Statistics alone (``Backtest.run_stats``, what the optimisers call) equal the full run's, to the bit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta import Backtest, Strategy, Targets
from quanta.stats import STAT_NAMES
from quanta.testing.strategies import SmaCross, SmaCrossSignals
from tests.engine.conftest import random_bars
from tests.engine.test_vector import signal_cases, signal_strategies


def same(a: Any, b: Any) -> bool:
    """Equal values of one type; NaN (and NaT) equal themselves, and a float's sign of zero counts."""
    if type(a) is not type(b):
        return False
    if a is pd.NaT or (isinstance(a, float) and math.isnan(a)):
        return a is b or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return bool(a == b)


def assert_subset_of_full(bt: Backtest, names: tuple[str, ...], **params: Any) -> None:
    full = bt.run(**params).stats
    alone = bt.run_stats(names, **params)
    assert list(alone) == [n for n in STAT_NAMES if n in names]  # only those, in the usual order
    for name in names:
        assert same(alone[name], full[name]), (name, alone[name], full[name])


@settings(max_examples=80, deadline=None)
@given(signal_cases(), st.sets(st.sampled_from(STAT_NAMES), min_size=1))
def test_statistics_alone_equal_the_full_runs_on_random_signals(
    case: tuple[pd.DataFrame, dict[str, np.ndarray], float, dict[str, Any]], names: set[str]
) -> None:
    data, arrays, size, options = case
    per_bar, whole = signal_strategies(arrays, size)
    for strategy in (per_bar, whole):  # the broker and the vectorised fast path
        assert_subset_of_full(Backtest(data, strategy, **options), tuple(names))


@pytest.mark.parametrize("names", [STAT_NAMES, ("Sharpe Ratio",), ("Calmar Ratio", "# Trades")])
@pytest.mark.parametrize(("fast", "slow"), [(5, 20), (10, 30), (2, 3), (40, 90)])
def test_statistics_alone_equal_the_full_runs_for_sma_crosses(
    goog: pd.DataFrame, names: tuple[str, ...], fast: int, slow: int
) -> None:
    for strategy in (SmaCross, SmaCrossSignals):
        assert_subset_of_full(Backtest(goog, strategy, commission=0.002), names, fast=fast, slow=slow)


def test_statistics_alone_equal_the_full_runs_on_a_portfolio_and_an_integer_index() -> None:
    a, b = random_bars(1, 60), random_bars(2, 60)
    weights = np.full((2, 60), np.nan)
    weights[:, 10], weights[:, 30] = (0.7, 0.3), (0.2, 0.8)

    class Weights(Strategy):
        def targets(self) -> Targets:
            return Targets(weights=weights)

    assert_subset_of_full(Backtest({"A": a, "B": b}, Weights), STAT_NAMES)
    assert_subset_of_full(Backtest(a.reset_index(drop=True), SmaCrossSignals), STAT_NAMES, fast=3, slow=8)


def test_an_unknown_statistic_is_refused() -> None:
    with pytest.raises(KeyError, match="Sharpe Ration"):
        Backtest(random_bars(1, 40), SmaCrossSignals).run_stats(("Sharpe Ration",))

"""The vectorised API gives the event-driven API's results, bit for bit, on whichever internal path."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta import Backtest, Result, Signals, Strategy
from quanta.engine import _fast
from quanta.strategy import FULL_EQUITY
from quanta.testing.strategies import SmaCross, SmaCrossSignals
from tests.engine.conftest import random_bars


def assert_identical(a: Result, b: Result) -> None:
    np.testing.assert_array_equal(a.equity, b.equity)
    np.testing.assert_array_equal(a.cash, b.cash)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert a.trades.to_dict() == b.trades.to_dict()
    assert a.open_trades.to_dict() == b.open_trades.to_dict()
    assert a.orders.to_dict() == b.orders.to_dict()
    assert a.to_dict()["stats"] == b.to_dict()["stats"]


def test_sma_cross_event_and_vectorised_apis_agree(goog: pd.DataFrame) -> None:
    options: dict[str, Any] = {"cash": 10_000, "commission": 0.002}
    assert_identical(
        Backtest(goog, SmaCross, **options).run(), Backtest(goog, SmaCrossSignals, **options).run()
    )


def test_sma_cross_vectorised_fast_path_and_broker_path_agree(
    goog: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = Backtest(goog, SmaCrossSignals, commission=0.002).run(fast=7, slow=30)
    monkeypatch.setattr(_fast, "applies", lambda *_: False)
    assert_identical(fast, Backtest(goog, SmaCrossSignals, commission=0.002).run(fast=7, slow=30))


def signal_strategies(arrays: dict[str, np.ndarray], size: float) -> tuple[type[Strategy], type[Strategy]]:
    """The same rules written with ``next()`` and with ``signals()``."""
    le, lx, se, sx = (arrays[k] for k in ("entries", "exits", "short_entries", "short_exits"))

    class PerBar(Strategy):
        def next(self) -> None:
            i, pos = self.bar, self.position
            side = 1 if pos.is_long else -1 if pos.is_short else 0
            if le[i] and side != 1:
                pos.close()
                self.buy(size=size)
            elif se[i] and side != -1:
                pos.close()
                self.sell(size=size)
            elif (lx[i] and side == 1) or (sx[i] and side == -1):
                pos.close()

    class Whole(Strategy):
        def signals(self) -> Signals:
            return Signals(size=size, **arrays)

    return PerBar, Whole


@st.composite
def signal_cases(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, np.ndarray], float, dict[str, Any]]:
    n = draw(st.integers(3, 80))
    data = random_bars(draw(st.integers(0, 10_000)), n, drift=draw(st.sampled_from([-0.01, 0.0, 0.01])))
    density = draw(st.sampled_from([0.05, 0.2, 0.5]))
    rng = np.random.default_rng(draw(st.integers(0, 10_000)))
    arrays = {k: rng.random(n) < density for k in ("entries", "exits", "short_entries", "short_exits")}
    if draw(st.booleans()):
        arrays["exits"][:] = arrays["short_exits"][:] = False
    arrays["short_entries"] &= ~arrays["entries"]
    size = draw(st.sampled_from([FULL_EQUITY, 0.5, 0.1]))
    options = {
        "cash": draw(st.sampled_from([10_000.0, 300.0])),
        "commission": draw(st.sampled_from([0.0, 0.002, -0.0005])),
        "spread": draw(st.sampled_from([0.0, 0.001])),
        "margin": draw(st.sampled_from([1.0, 0.25, 0.02])),
        "trade_on_close": draw(st.booleans()),
        "finalize_trades": draw(st.booleans()),
    }
    return data, arrays, size, options


@settings(max_examples=150, deadline=None)
@given(signal_cases())
def test_random_signals_give_identical_results_on_every_path(
    case: tuple[pd.DataFrame, dict[str, np.ndarray], float, dict[str, Any]],
) -> None:
    data, arrays, size, options = case
    per_bar, whole = signal_strategies(arrays, size)
    event = Backtest(data, per_bar, **options).run()
    vector = Backtest(data, whole, **options).run()
    assert_identical(event, vector)
    original = _fast.applies
    try:
        _fast.applies = lambda *_: False  # type: ignore[assignment]
        driven = Backtest(data, whole, **options).run()
    finally:
        _fast.applies = original  # type: ignore[assignment]
    assert_identical(event, driven)


def test_signals_with_both_entries_on_one_bar_are_refused() -> None:
    data = random_bars(1, 10)
    both = np.zeros(10, dtype=bool)
    both[3] = True

    class Clash(Strategy):
        def signals(self) -> Signals:
            return Signals(entries=both, short_entries=both)

    with pytest.raises(Exception, match="entries and short_entries are both set"):
        Backtest(data, Clash).run()


def test_signals_of_the_wrong_length_are_refused() -> None:
    class Short(Strategy):
        def signals(self) -> Signals:
            return Signals(entries=np.zeros(3, dtype=bool))

    with pytest.raises(Exception, match=r"expected shape \(1, 10\)"):
        Backtest(random_bars(1, 10), Short).run()


def test_polars_and_pandas_signals_are_accepted() -> None:
    import polars as pl

    data = random_bars(3, 30)
    entries = np.zeros(30, dtype=bool)
    entries[[5, 20]] = True
    exits = np.zeros(30, dtype=bool)
    exits[12] = True

    class Mixed(Strategy):
        def signals(self) -> Signals:
            return Signals(entries=pl.Series(entries), exits=pd.Series(exits))

    result = Backtest(data, Mixed).run()
    assert result.trades.entry_bar.tolist() == [6]
    assert result.trades.exit_bar.tolist() == [13]
    assert result.open_trades.entry_bar.tolist() == [21]

"""Several symbols, one cash account: positions and cash checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta import Backtest, Strategy, Targets
from quanta.engine import DataError, StrategyError
from tests.engine.conftest import random_bars


def flat_bars(prices: list[float]) -> pd.DataFrame:
    """Bars whose open, high, low and close are all the given price."""
    p = np.asarray(prices, dtype=float)
    index = pd.bdate_range("2024-01-01", periods=len(p), name="Date")
    return pd.DataFrame({"Open": p, "High": p, "Low": p, "Close": p, "Volume": 1e6}, index=index)


@pytest.fixture
def universe() -> dict[str, pd.DataFrame]:
    return {"A": flat_bars([10, 10, 12, 12]), "B": flat_bars([20, 20, 20, 25])}


class Rotate(Strategy):
    """Half and half, then everything into B (A, left out of the mapping, is closed)."""

    def next(self) -> None:
        if self.bar == 1:
            self.rebalance({"A": 0.5, "B": 0.5})
        elif self.bar == 2:
            self.rebalance({"B": 1.0})


class RotateWeights(Strategy):
    """The same rebalances as target weights (NaN: leave alone)."""

    def targets(self) -> Targets:
        nan = np.nan
        return Targets(weights={"A": [nan, 0.5, 0.0, nan], "B": [nan, 0.5, 1.0, nan]})


@pytest.mark.parametrize("strategy", [Rotate, RotateWeights])
def test_rebalancing_shares_one_cash_account(
    universe: dict[str, pd.DataFrame], strategy: type[Strategy]
) -> None:
    result = Backtest(universe, strategy, cash=1_000).run()
    # bar 2 opens: equity 1000 -> A: int(500 / 12) = 41 units (492), B: int(500 / 20) = 25 units (500)
    # bar 3 opens: equity 8 + 41 × 12 + 25 × 25 = 1125 -> sell 41 A first, then B to int(1125 / 25) = 45
    np.testing.assert_array_equal(result.positions, [[0, 0, 41, 0], [0, 0, 25, 45]])
    np.testing.assert_array_equal(result.cash, [1000, 1000, 8, 0])
    np.testing.assert_array_equal(result.equity, [1000, 1000, 1000, 1125])
    assert result.trades.symbol.tolist() == ["A"]
    assert result.trades.pnl.tolist() == [0.0]
    assert sorted(result.open_trades.size.tolist()) == [20.0, 25.0]
    assert set(result.orders.kind.tolist()) == {"target"}


def test_rebalance_clips_to_what_the_cash_can_pay(universe: dict[str, pd.DataFrame]) -> None:
    class AllIn(Strategy):
        def next(self) -> None:
            if self.bar == 1:
                self.order_target_percent("B", 1.0)

    result = Backtest(universe, AllIn, cash=1_000, commission=0.01).run()
    # int(1000 / 20) = 50 wanted, but each unit costs 20 + 1% commission: int(1000 / 20.2) = 49
    assert result.positions[1, -1] == 49
    order = result.orders.to_pandas().iloc[0]
    assert (order.status, order.fill_size, order.reason) == ("filled", 50.0, "clipped to available margin")
    assert result.cash[-1] == pytest.approx(1000 - 49 * 20 - 49 * 20 * 0.01)


def test_orders_per_symbol_and_positions_by_name(universe: dict[str, pd.DataFrame]) -> None:
    seen: list[tuple[float, float]] = []

    class Pair(Strategy):
        def next(self) -> None:
            if self.bar == 1:
                self.buy(symbol="A", units=10)
                self.sell(symbol="B", units=5)
            seen.append((self.positions["A"].size, self.positions["B"].size))

    result = Backtest(universe, Pair, cash=1_000).run()
    assert seen == [(0, 0), (10, -5), (10, -5)]
    # short B from 20 to 25 loses 25; long A from 12 to 12 is flat
    assert result.equity[-1] == pytest.approx(1_000 - 25)


def test_a_second_order_that_the_shared_cash_cannot_pay_is_rejected(
    universe: dict[str, pd.DataFrame],
) -> None:
    class Greedy(Strategy):
        def next(self) -> None:
            if self.bar == 1:
                self.buy(symbol="A")  # all available margin
                self.buy(symbol="B", units=10)

    result = Backtest(universe, Greedy, cash=1_000).run()
    orders = result.orders.to_pandas().set_index("symbol")
    assert orders.loc["A", "status"] == "filled"
    assert (orders.loc["B", "status"], orders.loc["B", "reason"]) == ("rejected", "insufficient margin")


def test_orders_without_a_symbol_are_refused_when_there_are_several(
    universe: dict[str, pd.DataFrame],
) -> None:
    class Vague(Strategy):
        def next(self) -> None:
            self.buy()

    with pytest.raises(StrategyError, match="pass symbol="):
        Backtest(universe, Vague).run()


def test_misaligned_symbols_are_refused() -> None:
    b = flat_bars([1, 2, 3])
    b.index = b.index + pd.Timedelta(days=1)
    with pytest.raises(DataError, match="different timestamps"):
        Backtest({"A": flat_bars([1, 2, 3]), "B": b}, Rotate)


def test_a_long_frame_with_a_symbol_column_is_split_by_symbol(universe: dict[str, pd.DataFrame]) -> None:
    long = pd.concat(
        frame.reset_index().rename(columns={"Date": "ts"}).assign(symbol=name)
        for name, frame in universe.items()
    )
    result = Backtest(long, Rotate, cash=1_000).run()
    assert result.symbols == ("A", "B")
    np.testing.assert_array_equal(result.equity, [1000, 1000, 1000, 1125])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 0.002]), st.booleans())
def test_target_weights_equal_the_same_rebalances_made_in_next(
    seed: int, commission: float, toc: bool
) -> None:
    rng = np.random.default_rng(seed)
    universe = {s: random_bars(seed + k, 40) for k, s in enumerate(("A", "B", "C"))}
    weights = np.where(rng.random((3, 40)) < 0.2, rng.uniform(-0.4, 0.6, (3, 40)), np.nan)

    class PerBar(Strategy):
        def next(self) -> None:
            for k, symbol in enumerate(self.symbols):
                if not np.isnan(weights[k, self.bar]):
                    self.order_target_percent(symbol, weights[k, self.bar])

    class Whole(Strategy):
        def targets(self) -> Targets:
            return Targets(weights=weights)

    options = {"commission": commission, "trade_on_close": toc, "margin": 0.5}
    event, vector = Backtest(universe, PerBar, **options).run(), Backtest(universe, Whole, **options).run()
    np.testing.assert_array_equal(event.equity, vector.equity)
    np.testing.assert_array_equal(event.positions, vector.positions)
    assert event.trades.to_dict() == vector.trades.to_dict()
    assert event.orders.to_dict() == vector.orders.to_dict()
    marked = event.cash + (event.positions * np.stack([f["Close"] for f in universe.values()])).sum(axis=0)
    np.testing.assert_allclose(marked, event.equity, rtol=1e-12)

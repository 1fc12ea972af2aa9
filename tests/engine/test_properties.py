"""Invariants on random data: no look-ahead, and the account adds up at every bar."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta import Backtest, Result, Strategy, crossover
from quanta.indicators import SMA
from quanta.testing.strategies import SmaCrossSignals
from tests.engine.conftest import random_bars


class Busy(Strategy):
    """Uses every order type so that look-ahead anywhere in the broker would show."""

    period = 5

    def init(self) -> None:
        self.ma = self.I(SMA, self.data.close, self.period)

    def next(self) -> None:
        close, bar = self.data.close, len(self.data)
        price = close[-1]
        if crossover(close, self.ma):
            self.buy(size=0.5, sl=price * 0.93, tp=price * 1.12)
        elif crossover(self.ma, close):
            self.sell(size=0.3, limit=price * 1.005, sl=price * 1.08)
        if bar % 7 == 0 and self.position:
            self.position.close(0.5)
        if bar % 11 == 0:
            self.buy(units=3, stop=price * 1.01, trail_pct=0.05)
        if bar % 13 == 0:
            for order in self.orders:
                if not order.is_contingent:
                    order.cancel()


OPTIONS = st.fixed_dictionaries(
    {
        "commission": st.sampled_from([0.0, 0.002, (1.0, 0.001)]),
        "spread": st.sampled_from([0.0, 0.0005]),
        "trade_on_close": st.booleans(),
        "hedging": st.booleans(),
        "exclusive_orders": st.booleans(),
        "margin": st.sampled_from([1.0, 0.5]),
    }
)


def _rows(columns: tuple[np.ndarray, ...], keep: np.ndarray) -> list[tuple[Any, ...]]:
    """Rows as tuples, NaN spelt None so that equal rows compare equal."""
    values = [np.asarray(c)[keep].tolist() for c in columns]
    return [
        tuple(None if isinstance(v, float) and np.isnan(v) else v for v in row)
        for row in zip(*values, strict=True)
    ]


def placed_until(result: Result, t: int) -> list[tuple[Any, ...]]:
    """Orders placed at or before bar ``t``, as placed (kind, size and prices)."""
    o = result.orders
    keep = o.placed_bar <= t
    return _rows((o.id, o.kind, o.size, o.limit, o.stop, o.sl, o.tp, o.placed_bar), keep)


def filled_until(result: Result, t: int) -> list[tuple[Any, ...]]:
    """Fills that happened at or before bar ``t``."""
    o = result.orders
    keep = (o.fill_bar >= 0) & (o.fill_bar <= t)
    return _rows((o.id, o.fill_bar, o.fill_price, o.fill_size), keep)


def rewrite_after(data: pd.DataFrame, t: int, seed: int) -> pd.DataFrame:
    """Bars after ``t`` replaced by another (valid) random path."""
    other = random_bars(seed, len(data))
    other.index = data.index
    changed = data.copy()
    changed.iloc[t + 1 :] = other.iloc[t + 1 :].to_numpy() * (data["Close"].iloc[t] / 100)
    return changed


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(8, 70), OPTIONS)
def test_changing_bars_after_t_never_changes_what_happened_until_t(
    seed: int, other: int, t: int, options: dict[str, Any]
) -> None:
    data = random_bars(seed, 80)
    changed = rewrite_after(data, t, other)
    for strategy in (Busy, SmaCrossSignals):
        params = {"period": 4} if strategy is Busy else {"fast": 3, "slow": 8}
        before = Backtest(data, strategy, **options).run(**params)
        after = Backtest(changed, strategy, **options).run(**params)
        assert placed_until(before, t) == placed_until(after, t)
        assert filled_until(before, t) == filled_until(after, t)
        np.testing.assert_array_equal(before.equity[: t + 1], after.equity[: t + 1])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), OPTIONS)
def test_cash_plus_positions_is_equity_and_trade_pnl_sums_to_the_gain(
    seed: int, options: dict[str, Any]
) -> None:
    data = random_bars(seed, 90)
    result = Backtest(data, Busy, finalize_trades=True, **options).run()
    marked = result.cash + (result.positions * data["Close"].to_numpy()).sum(axis=0)
    np.testing.assert_allclose(marked, result.equity, rtol=1e-12, atol=1e-7)
    if not len(result.open_trades):  # finalize_trades closed everything
        gain = result.equity[-1] - 10_000
        assert result.trades.pnl.sum() == pytest.approx(gain, abs=1e-6)
        gross = (result.trades.size * (result.trades.exit_price - result.trades.entry_price)).sum()
        assert gross - result.trades.commission.sum() == pytest.approx(gain, abs=1e-6)
        assert result.stats["Commissions [$]"] == pytest.approx(result.trades.commission.sum())

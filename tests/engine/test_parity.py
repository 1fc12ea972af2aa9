"""Side by side with backtesting.py 0.6.6 on GOOG: same trades, same statistics (to 1e-6), same equity."""

from __future__ import annotations

import backtesting
import numpy as np
import pandas as pd
import pytest
from backtesting.lib import crossover as bt_crossover

from quanta import Backtest, Result, Strategy, crossover
from quanta.indicators import SMA
from quanta.testing.strategies import SmaCross, SmaCrossSignals

# backtesting.py warns where it makes a documented choice we make too (see docs/engine.md):
pytestmark = [
    # an SL/TP reachable in the bar its stop/limit parent filled is checked from the next bar
    pytest.mark.filterwarnings("ignore:.*A contingent SL/TP order would execute:UserWarning"),
    # trades still open at the end are left out of the statistics unless finalize_trades=True
    pytest.mark.filterwarnings("ignore:Some trades remain open at the end of backtest:UserWarning"),
]


class BtSmaCross(backtesting.Strategy):
    def init(self):  # type: ignore[no-untyped-def]
        self.fast = self.I(SMA, self.data.Close, 10)
        self.slow = self.I(SMA, self.data.Close, 20)

    def next(self):  # type: ignore[no-untyped-def]
        if bt_crossover(self.fast, self.slow):
            self.position.close()
            self.buy()
        elif bt_crossover(self.slow, self.fast):
            self.position.close()
            self.sell()


class BtBrackets(backtesting.Strategy):
    def init(self):  # type: ignore[no-untyped-def]
        self.fast = self.I(SMA, self.data.Close, 10)
        self.slow = self.I(SMA, self.data.Close, 20)

    def next(self):  # type: ignore[no-untyped-def]
        price = self.data.Close[-1]
        if not self.position and not self.orders and bt_crossover(self.fast, self.slow):
            self.buy(limit=price * 0.99, sl=price * 0.95, tp=price * 1.08)
        elif not self.position and not self.orders and bt_crossover(self.slow, self.fast):
            self.sell(stop=price * 0.99, sl=price * 1.05, tp=price * 0.93)
        elif self.orders and len(self.data) % 10 == 0:
            for order in self.orders:
                if not order.is_contingent:
                    order.cancel()


class Brackets(Strategy):
    """Limit entries long, stop entries short, each with a stop-loss and a take-profit."""

    def init(self) -> None:
        self.fast = self.I(SMA, self.data.close, 10)
        self.slow = self.I(SMA, self.data.close, 20)

    def next(self) -> None:
        price = self.data.close[-1]
        if not self.position and not self.orders and crossover(self.fast, self.slow):
            self.buy(limit=price * 0.99, sl=price * 0.95, tp=price * 1.08)
        elif not self.position and not self.orders and crossover(self.slow, self.fast):
            self.sell(stop=price * 0.99, sl=price * 1.05, tp=price * 0.93)
        elif self.orders and len(self.data) % 10 == 0:
            for order in self.orders:
                if not order.is_contingent:
                    order.cancel()


class BtShortOnly(backtesting.Strategy):
    def init(self):  # type: ignore[no-untyped-def]
        self.fast = self.I(SMA, self.data.Close, 10)
        self.slow = self.I(SMA, self.data.Close, 20)

    def next(self):  # type: ignore[no-untyped-def]
        if bt_crossover(self.slow, self.fast):
            self.sell()
        elif bt_crossover(self.fast, self.slow):
            self.position.close()


class ShortOnly(Strategy):
    """Short on a downward cross, cover on an upward one."""

    def init(self) -> None:
        self.fast = self.I(SMA, self.data.close, 10)
        self.slow = self.I(SMA, self.data.close, 20)

    def next(self) -> None:
        if crossover(self.slow, self.fast):
            self.sell()
        elif crossover(self.fast, self.slow):
            self.position.close()


def assert_same(ref: pd.Series, result: Result) -> None:
    """Every statistic backtesting.py reports, the trade list, and the equity curve agree."""
    for name, expected in ref.items():
        if name.startswith("_"):
            continue
        got = result.stats[name]
        if isinstance(expected, pd.Timestamp | pd.Timedelta):
            assert got == expected, name
        elif pd.isna(expected):
            assert pd.isna(got), name
        else:
            assert got == pytest.approx(float(expected), rel=0, abs=1e-6), name
    trades = ref["_trades"]
    ours = result.trades_frame()
    assert len(ours) == len(trades) > 0
    for column in ("Size", "EntryBar", "ExitBar", "EntryPrice", "ExitPrice", "SL", "TP"):
        np.testing.assert_array_equal(
            ours[column].to_numpy(float), trades[column].to_numpy(float), err_msg=column
        )
    for column in ("EntryTime", "ExitTime", "Duration"):
        assert (ours[column].to_numpy() == trades[column].to_numpy()).all(), column
    for column in ("PnL", "ReturnPct", "Commission"):
        np.testing.assert_allclose(ours[column], trades[column], rtol=1e-12, err_msg=column)
    np.testing.assert_array_equal(result.equity, ref["_equity_curve"]["Equity"].to_numpy())


VARIANTS = {
    "default": {"cash": 10_000, "commission": 0.002},
    "trade_on_close": {"cash": 10_000, "commission": 0.002, "trade_on_close": True},
    "no_commission": {"cash": 10_000, "commission": 0.0},
    "finalize_trades": {"cash": 10_000, "commission": 0.002, "finalize_trades": True},
    "finalize_on_close": {
        "cash": 10_000,
        "commission": 0.002,
        "finalize_trades": True,
        "trade_on_close": True,
    },
    "spread_and_margin": {"cash": 10_000, "commission": 0.001, "spread": 0.0005, "margin": 0.5},
}


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_sma_cross_matches_backtesting_py(goog: pd.DataFrame, options: dict[str, object]) -> None:
    ref = backtesting.Backtest(goog, BtSmaCross, **options).run()  # type: ignore[arg-type]
    assert_same(ref, Backtest(goog, SmaCross, **options).run())


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_vectorised_sma_cross_matches_backtesting_py(goog: pd.DataFrame, options: dict[str, object]) -> None:
    ref = backtesting.Backtest(goog, BtSmaCross, **options).run()  # type: ignore[arg-type]
    assert_same(ref, Backtest(goog, SmaCrossSignals, **options).run())


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_brackets_and_limit_orders_match_backtesting_py(
    goog: pd.DataFrame, options: dict[str, object]
) -> None:
    ref = backtesting.Backtest(goog, BtBrackets, **options).run()  # type: ignore[arg-type]
    result = Backtest(goog, Brackets, **options).run()
    assert_same(ref, result)
    kinds = set(result.orders.kind.tolist())
    assert {"limit", "stop", "sl", "tp"} <= kinds


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_short_only_matches_backtesting_py(goog: pd.DataFrame, options: dict[str, object]) -> None:
    ref = backtesting.Backtest(goog, BtShortOnly, **options).run()  # type: ignore[arg-type]
    result = Backtest(goog, ShortOnly, **options).run()
    assert_same(ref, result)
    assert (result.trades.size < 0).all()


def test_default_run_reproduces_the_documented_golden_numbers(goog: pd.DataFrame) -> None:
    stats = Backtest(goog, SmaCross, cash=10_000, commission=0.002).run().stats
    assert stats["# Trades"] == 93
    assert stats["Equity Final [$]"] == pytest.approx(56025.53183, abs=1e-5)
    assert stats["Max. Drawdown Duration"] == pd.Timedelta(days=830)
    assert list(stats) == [
        "Start", "End", "Duration", "Exposure Time [%]", "Equity Final [$]", "Equity Peak [$]",
        "Commissions [$]", "Return [%]", "Buy & Hold Return [%]", "Return (Ann.) [%]",
        "Volatility (Ann.) [%]", "CAGR [%]", "Sharpe Ratio", "Sortino Ratio", "Calmar Ratio", "Alpha [%]",
        "Beta", "Max. Drawdown [%]", "Avg. Drawdown [%]", "Max. Drawdown Duration", "Avg. Drawdown Duration",
        "# Trades", "Win Rate [%]", "Best Trade [%]", "Worst Trade [%]", "Avg. Trade [%]",
        "Max. Trade Duration", "Avg. Trade Duration", "Profit Factor", "Expectancy [%]", "SQN",
        "Kelly Criterion",
    ]  # fmt: skip

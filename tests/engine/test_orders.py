"""Fill rules, order types, costs and account options, on hand-made bars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quanta import Backtest, Result, Strategy
from quanta.engine import (
    FixedSlippage,
    PerShareCommission,
    StrategyError,
    VolumeShareSlippage,
)


def ohlc(rows: list[tuple[float, float, float, float]], volume: float = 1e6) -> pd.DataFrame:
    index = pd.bdate_range("2024-01-01", periods=len(rows), name="Date")
    frame = pd.DataFrame(rows, columns=["Open", "High", "Low", "Close"], index=index)
    return frame.assign(Volume=volume)


FLAT = [(100.0, 101.0, 99.0, 100.0)] * 6


def run(
    rows: list[tuple[float, float, float, float]], act: Callable[[Strategy], None], **options: Any
) -> Result:
    """Run a strategy whose ``next()`` is ``act``, on ``rows``."""

    class Scripted(Strategy):
        def next(self) -> None:
            act(self)

    return Backtest(ohlc(rows), Scripted, **options).run()


def at(bar: int, action: Callable[[Strategy], object]) -> Callable[[Strategy], None]:
    def act(s: Strategy) -> None:
        if s.bar == bar:
            action(s)

    return act


def test_market_order_fills_at_next_open() -> None:
    rows = [*FLAT[:2], (103.0, 104.0, 102.0, 103.5), *FLAT[:2]]
    result = run(rows, at(1, lambda s: s.buy(units=2)), finalize_trades=True)
    assert (result.trades.entry_bar[0], result.trades.entry_price[0]) == (2, 103.0)


def test_trade_on_close_fills_at_the_signal_bars_close() -> None:
    rows = [FLAT[0], (100.0, 101.0, 99.0, 100.5), *FLAT[:3]]
    result = run(rows, at(1, lambda s: s.buy(units=2)), trade_on_close=True, finalize_trades=True)
    assert (result.trades.entry_bar[0], result.trades.entry_price[0]) == (1, 100.5)


@pytest.mark.parametrize(
    ("bar", "price"),
    [((98.0, 99.0, 94.0, 96.0), 95.0), ((93.0, 94.0, 92.0, 93.5), 93.0)],
    ids=["touched: at the limit", "gapped through: at the open"],
)
def test_buy_limit_fills_at_the_limit_or_better(bar: tuple[float, ...], price: float) -> None:
    rows = [*FLAT[:2], (99.0, 100.0, 96.0, 97.0), bar, *FLAT[:2]]
    result = run(rows, at(1, lambda s: s.buy(units=1, limit=95.0)), finalize_trades=True)
    assert (result.trades.entry_bar[0], result.trades.entry_price[0]) == (3, price)


@pytest.mark.parametrize(
    ("bar", "price"),
    [((101.0, 106.0, 100.0, 104.0), 105.0), ((107.0, 108.0, 106.0, 107.0), 107.0)],
    ids=["touched: at the stop", "gapped through: at the open"],
)
def test_buy_stop_fills_at_the_stop_or_the_gap_open(bar: tuple[float, ...], price: float) -> None:
    rows = [*FLAT[:2], bar, *FLAT[:2]]
    result = run(rows, at(1, lambda s: s.buy(units=1, stop=105.0)), finalize_trades=True)
    assert (result.trades.entry_bar[0], result.trades.entry_price[0]) == (2, price)


def test_stop_limit_becomes_a_limit_order_once_triggered() -> None:
    rows = [*FLAT[:2], (101.0, 106.0, 100.0, 105.5), (105.5, 105.6, 103.0, 104.0), *FLAT[:2]]
    result = run(rows, at(1, lambda s: s.buy(units=1, stop=105.0, limit=104.0)), finalize_trades=True)
    # bar 2 triggers the stop but the limit (104) was below it: assumed touched before the stop
    assert (result.trades.entry_bar[0], result.trades.entry_price[0]) == (3, 104.0)
    assert result.orders.kind[0] == "stop_limit"


def test_when_stop_loss_and_take_profit_are_both_hit_in_one_bar_the_stop_loss_wins() -> None:
    rows = [*FLAT[:2], (100.0, 101.0, 99.0, 100.0), (100.0, 111.0, 94.0, 100.0), *FLAT[:2]]
    result = run(rows, at(1, lambda s: s.buy(units=1, sl=95.0, tp=110.0)))
    assert (result.trades.exit_bar[0], result.trades.exit_price[0]) == (3, 95.0)
    statuses = dict(zip(result.orders.kind.tolist(), result.orders.status.tolist(), strict=True))
    assert statuses == {"market": "filled", "sl": "filled", "tp": "canceled"}


def test_stop_loss_gapped_through_fills_at_the_open() -> None:
    rows = [*FLAT[:3], (90.0, 91.0, 89.0, 90.0), *FLAT[:2]]
    result = run(rows, at(1, lambda s: s.buy(units=1, sl=95.0)))
    assert (result.trades.exit_bar[0], result.trades.exit_price[0]) == (3, 90.0)


def test_trailing_stop_follows_the_high_and_exits_on_a_pullback() -> None:
    rows = [*FLAT[:3], (105.0, 120.0, 104.0, 118.0), (117.0, 117.5, 107.0, 108.0), *FLAT[:1]]
    result = run(rows, at(1, lambda s: s.buy(units=1, trail_pct=0.1)))
    # entry 100 -> stop 90; bar 3 high 120 -> stop 108 from bar 4 on; bar 4 low 107 hits it
    assert (result.trades.exit_bar[0], result.trades.exit_price[0]) == (4, 108.0)
    assert result.trades.sl[0] == 108.0


def test_cancel_and_replace_are_logged() -> None:
    def act(s: Strategy) -> None:
        if s.bar == 1:
            s.buy(units=1, limit=90.0, tag="a")
            s.buy(units=1, limit=91.0, tag="b")
        elif s.bar == 2:
            a, b = s.orders
            a.cancel()
            b.replace(limit=99.5)

    result = run([*FLAT, *FLAT], act, finalize_trades=True)
    log = result.orders.to_pandas()
    assert log[["status", "reason"]].values.tolist()[:3] == [
        ["canceled", "canceled by strategy"],
        ["canceled", "replaced"],
        ["filled", ""],
    ]
    assert result.trades.entry_price[0] == 99.5
    assert result.trades.tag == ("b",)


def test_an_order_the_cash_cannot_pay_is_rejected_and_logged() -> None:
    result = run(FLAT, at(1, lambda s: s.buy(units=1_000)), cash=10_000)
    assert (result.orders.status[0], result.orders.reason[0]) == ("rejected", "insufficient margin")
    assert len(result.trades) == len(result.open_trades) == 0


def test_leverage_buys_more_with_the_same_cash() -> None:
    plain = run(FLAT, at(1, lambda s: s.buy()), cash=10_000)
    levered = run(FLAT, at(1, lambda s: s.buy()), cash=10_000, margin=0.5)
    assert (plain.open_trades.size[0], levered.open_trades.size[0]) == (99, 199)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda s: s.buy(size=0), "size must be a positive number"),
        (lambda s: s.sell(size=-1), "size must be a positive number"),
        (lambda s: s.buy(size=1.5), "whole units"),
        (lambda s: s.buy(units=0.5), "units must be whole"),
        (lambda s: s.buy(sl=101.0), r"SL \(101.0\) < entry"),
        (lambda s: s.sell(tp=101.0), r"TP \(101.0\) < entry"),
        (lambda s: s.buy(limit=float("nan")), "limit must be a positive finite price"),
    ],
)
def test_impossible_orders_fail_at_the_strategys_line(
    action: Callable[[Strategy], object], message: str
) -> None:
    with pytest.raises(StrategyError, match=message) as caught:
        run(FLAT, at(1, action))
    assert caught.value.filename is not None
    assert caught.value.filename.endswith("test_orders.py")


def test_fractional_units_need_the_fractional_option() -> None:
    result = run(FLAT, at(1, lambda s: s.buy(units=0.25)), fractional=True, cash=50)
    assert result.open_trades.size[0] == 0.25
    sized = run(FLAT, at(1, lambda s: s.buy(size=0.5)), fractional=True, cash=50)
    assert sized.open_trades.size[0] == pytest.approx(0.25)


def test_exclusive_orders_close_the_previous_trade() -> None:
    def act(s: Strategy) -> None:
        if s.bar == 1:
            s.buy(units=2)
        elif s.bar == 2:
            s.sell(units=1)

    result = run(FLAT, act, exclusive_orders=True)
    assert result.trades.size.tolist() == [2.0]
    assert result.open_trades.size.tolist() == [-1.0]


def test_hedging_keeps_opposite_trades_open_together() -> None:
    def act(s: Strategy) -> None:
        if s.bar == 1:
            s.buy(units=2)
        elif s.bar == 2:
            s.sell(units=1)

    assert sorted(run(FLAT, act, hedging=True).open_trades.size.tolist()) == [-1.0, 2.0]
    netted = run(FLAT, act)
    assert (netted.trades.size.tolist(), netted.open_trades.size.tolist()) == ([1.0], [1.0])


def test_partial_close_splits_the_trade_and_its_commission() -> None:
    def act(s: Strategy) -> None:
        if s.bar == 1:
            s.buy(units=4)
        elif s.bar == 2:
            s.position.close(0.5)

    result = run(FLAT, act, commission=(1.0, 0.0), finalize_trades=True)
    assert result.trades.size.tolist() == [2.0, 2.0]
    # one $1 fee to enter 4 units, split 0.5/0.5; $1 to exit each part
    assert result.trades.commission.tolist() == [1.5, 1.5]
    assert result.equity[-1] == pytest.approx(10_000 - 3.0)


@pytest.mark.parametrize(
    ("commission", "paid"),
    [
        (0.001, 3 * 100 * 0.001 * 2),
        ((2.0, 0.001), 2 * (2.0 + 3 * 100 * 0.001)),
        (PerShareCommission(per_share=0.01, minimum=1.0), 2.0),
        (lambda size, price: 0.5 + abs(size) * 0.1, 2 * (0.5 + 0.3)),
    ],
    ids=["fraction", "fixed plus fraction", "per share with minimum", "callable"],
)
def test_commission_models_are_charged_on_entry_and_exit(commission: Any, paid: float) -> None:
    def act(s: Strategy) -> None:
        if s.bar == 1:
            s.buy(units=3)
        elif s.bar == 3:
            s.position.close()

    result = run(FLAT, act, commission=commission)
    assert result.trades.commission[0] == pytest.approx(paid)
    assert result.equity[-1] == pytest.approx(10_000 - paid)


def test_spread_raises_long_entries_and_lowers_short_entries() -> None:
    long = run(FLAT, at(1, lambda s: s.buy(units=1)), spread=0.01)
    short = run(FLAT, at(1, lambda s: s.sell(units=1)), spread=0.01)
    assert (long.open_trades.entry_price[0], short.open_trades.entry_price[0]) == (101.0, 99.0)


def test_fixed_slippage_moves_entries_and_exits_against_the_trader() -> None:
    def act(s: Strategy) -> None:
        if s.bar == 1:
            s.buy(units=1)
        elif s.bar == 3:
            s.position.close()

    result = run(FLAT, act, slippage=FixedSlippage(bps=10))
    assert result.trades.entry_price[0] == pytest.approx(100.1)
    assert result.trades.exit_price[0] == pytest.approx(99.9)


def test_volume_share_slippage_grows_with_the_order() -> None:
    rows = [(100.0, 101.0, 99.0, 100.0)] * 4
    data = ohlc(rows, volume=1_000.0)

    class Big(Strategy):
        def next(self) -> None:
            if self.bar == 1:
                self.buy(units=100)

    result = Backtest(data, Big, cash=100_000, slippage=VolumeShareSlippage(price_impact=0.1)).run()
    # (100 / 1000)² × 0.1 = 0.1% impact
    assert result.open_trades.entry_price[0] == pytest.approx(100.1)


def test_orders_that_never_fill_stay_open_in_the_log() -> None:
    result = run(FLAT, at(1, lambda s: s.buy(units=1, limit=50.0)))
    assert result.orders.status.tolist() == ["open"]
    assert np.isnan(result.orders.fill_price[0])

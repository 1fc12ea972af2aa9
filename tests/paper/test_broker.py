"""The paper broker against the engine, order kind by order kind, without the sandbox or a database.

A strategy placing limit, stop and stop-limit orders, sized in units and as fractions of the margin, is
decided bar by bar with ``decide`` and filled by ``PaperBroker``; every fill equals the engine's fill of
the same order on the same bars (bar, size, price), and the account's equity equals the engine's. Then
the broker's own rules: an order id fills once, a restart from the fills is the same account, an order
the margin cannot pay is rejected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta import Strategy
from quanta.engine import Backtest
from quanta.engine.result import Result
from quanta.paper import Account, FillEvent, OrderEvent, OrderKind, PaperBroker
from quanta.paper.broker import INSUFFICIENT, SL, TP, Lots, StepResult, bracket_parent
from quanta.paper.decide import Window, decide, frame, options
from quanta.paper.events import close_parent
from quanta.paper.models import PaperCosts, PaperSpec
from quanta.streaming import Bar
from tests.paper.conftest import ORIGIN, Brackets, ClosesLots, live_bars


class Kinds(Strategy):
    """Limit and stop buys, stop-limit sells, market closes; unit and fraction sizes; orders pile up."""

    def init(self) -> None:
        pass

    def next(self) -> None:
        bar, close = len(self.data.close), float(self.data.close[-1])
        if bar % 5 == 0:
            self.buy(limit=close * 0.999, size=0.2)
        elif bar % 5 == 1:
            self.buy(stop=close * 1.001, size=3)
        elif bar % 5 == 2:
            self.sell(stop=close * 0.999, limit=close * 0.995, size=2)
        elif bar % 5 == 3 and self.position:
            self.position.close()


SPEC = PaperSpec(
    source="",
    symbols=("GOOG",),
    capital=20_000,
    costs=PaperCosts(commission=0.002, spread=0.001, slippage=0.0005),
)


def paper_run(bars: Sequence[Bar], strategy: type[Strategy]) -> tuple[list[FillEvent], PaperBroker]:
    broker = PaperBroker("acc", capital=SPEC.capital, costs=SPEC.costs)
    windows: list[Window] = []
    fills: list[FillEvent] = []
    for bar in bars:
        fills += broker.step({"GOOG": bar}).fills
        windows.append(Window(bar.start, {"GOOG": (bar.open, bar.high, bar.low, bar.close, bar.volume)}))
        deliver(broker, decide(strategy, {}, windows, spec=SPEC, account="acc"))
    return fills, broker


def deliver(broker: PaperBroker, orders: Sequence[OrderEvent]) -> None:
    """Hand a decision to the broker, as the desk does: new orders queued, cancelled ones taken off."""
    for decided in orders:
        if decided.cancel:
            broker.cancel(decided.order_id)
        else:
            broker.accept(decided)


def test_every_order_kind_fills_as_the_engine_fills_it() -> None:
    bars = live_bars("GOOG", 400)
    fills, broker = paper_run(bars, Kinds)
    windows = [Window(b.start, {"GOOG": (b.open, b.high, b.low, b.close, b.volume)}) for b in bars]
    result = Backtest(frame(windows, SPEC.symbols), Kinds, **options(SPEC)).run()
    log = result.orders.to_pandas()
    filled = log[log.status == "filled"].copy()
    # The log is in placing order; the engine fills a bar's orders in queue order: closes ahead (the
    # latest first), then the others as placed.
    filled["queue"] = [
        -i if k == "close" else i + len(log) for i, k in zip(filled.id, filled.kind, strict=True)
    ]
    filled = filled.sort_values(["fill_bar", "queue"])
    assert set(filled.kind) == {"limit", "stop", "stop_limit", "close"}
    assert len(filled) > 40
    expected = list(zip(filled.fill_bar, filled.fill_size, filled.fill_price, filled.kind, strict=True))
    assert [((f.ts - ORIGIN) // 1000, f.size) for f in fills] == [(b, s) for b, s, _, _ in expected]
    # For an order that reduces a position the engine's log shows the price before the exit's slippage
    # (its trades have the slipped one; ``position.close()`` orders show the slipped one), and for an
    # order that closes a position and opens the other way, the opening part's price; the paper fill
    # carries the price the cash moved by (one fill, the average of the two parts).
    held, reversals = 0.0, 0
    for fill, (_, _, price, kind) in zip(fills, expected, strict=True):
        if held * (held + fill.size) < 0:
            reversals += 1
        elif held * fill.size < 0 and kind != "close":
            assert fill.price == price * (1 - math.copysign(SPEC.costs.slippage, held))
        else:
            assert fill.price == price
        held += fill.size
    assert 0 < reversals < len(fills) // 4
    assert broker.account.equity({"GOOG": bars[-1].close}) == pytest.approx(
        float(result.equity[-1]), rel=1e-12
    )


def order(n: int, size: float, **fields: object) -> OrderEvent:
    return OrderEvent(account="acc", order_id=f"acc:0:{n}", symbol="GOOG", size=size, ts=1, **fields)  # type: ignore[arg-type]


def bar(start: int, o: float, h: float, lo: float, c: float) -> Bar:
    return Bar("GOOG", "1s", start, o, h, lo, c, 1000.0, 1)


def test_an_order_id_fills_once_and_a_restart_from_the_fills_is_the_same_account() -> None:
    broker = PaperBroker("acc", capital=1_000, costs=PaperCosts(commission=0.01))
    assert broker.accept(order(0, 3))
    assert not broker.accept(order(0, 3))
    first = broker.step({"GOOG": bar(1000, 100, 101, 99, 100)}).fills
    assert not broker.accept(order(0, 3))  # already filled: the id is remembered
    assert broker.accept(order(1, -1, kind=OrderKind.LIMIT, limit=102))
    assert broker.step({"GOOG": bar(2000, 100, 101, 99, 100)}).fills == []
    second = broker.step({"GOOG": bar(3000, 101, 103, 100, 102)}).fills
    assert [(f.seq, f.size, f.price) for f in first + second] == [(1, 3.0, 100.0), (2, -1.0, 102.0)]
    again = Account.replay(1_000, first + second)
    assert (again.cash, again.positions, again.seq) == (broker.account.cash, broker.account.positions, 2)
    assert again.cash == pytest.approx(1_000 - 300 - 3 + 102 - 1.02)
    assert again.avg_price("GOOG") == 100.0


def test_an_order_the_margin_cannot_pay_is_rejected() -> None:
    broker = PaperBroker("acc", capital=1_000, costs=PaperCosts())
    broker.accept(order(0, 11))
    result = broker.step({"GOOG": bar(1000, 100, 101, 99, 100)})
    assert (result.fills, result.rejected) == ([], [("acc:0:0", INSUFFICIENT)])
    broker.accept(order(1, 0.5, relative=True))
    (fill,) = broker.step({"GOOG": bar(2000, 100, 101, 99, 100)}).fills
    assert fill.size == 5.0


def engine_run(bars: Sequence[Bar], strategy: type[Strategy]) -> Result:
    windows = [Window(b.start, {"GOOG": (b.open, b.high, b.low, b.close, b.volume)}) for b in bars]
    return Backtest(frame(windows, SPEC.symbols), strategy, **options(SPEC)).run()


@dataclass
class Run:
    """A paper run's bars, its fills, its equity at every close, its decisions and what the broker did
    itself."""

    bars: Sequence[Bar]
    fills: list[FillEvent]
    equity: list[float]
    decided: list[OrderEvent]
    steps: list[StepResult]


def paper_steps(bars: Sequence[Bar], strategy: type[Strategy]) -> Run:
    broker = PaperBroker("acc", capital=SPEC.capital, costs=SPEC.costs)
    run = Run(bars, [], [], [], [])
    windows: list[Window] = []
    for b in bars:
        run.steps.append(broker.step({"GOOG": b}))
        run.fills += run.steps[-1].fills
        run.equity.append(broker.account.equity({"GOOG": b.close}))
        windows.append(Window(b.start, {"GOOG": (b.open, b.high, b.low, b.close, b.volume)}))
        decided = decide(strategy, {}, windows, spec=SPEC, account="acc")
        run.decided += decided
        deliver(broker, decided)
    return run


def run_checked_against_the_engine(strategy: type[Strategy]) -> tuple[Run, Result]:
    """Run ``strategy`` on 400 GOOG bars at the paper broker and in the engine, and check that every fill
    is at the engine's bar with the engine's size, every stop-loss and take-profit at the engine's price,
    and the account's equity at every close the engine's. Returns both runs."""
    bars = live_bars("GOOG", 400)
    run, result = paper_steps(bars, strategy), engine_run(bars, strategy)
    log = result.orders.to_pandas()
    filled = log[log.status == "filled"]
    assert sorted(((f.ts - ORIGIN) // 1000, f.size) for f in run.fills) == sorted(
        zip(filled.fill_bar, filled.fill_size, strict=True)
    )
    exits = filled[filled.kind.isin(["sl", "tp"])]
    assert sorted(
        ((f.ts - ORIGIN) // 1000, f.size, f.price) for f in run.fills if bracket_parent(f.order_id)
    ) == (sorted(zip(exits.fill_bar, exits.fill_size, exits.fill_price, strict=True)))
    assert run.equity == pytest.approx(list(result.equity), rel=1e-12)
    return run, result


def test_brackets_fill_as_the_engine_fills_them() -> None:
    run, result = run_checked_against_the_engine(Brackets)
    log = result.orders.to_pandas()
    assert {"sl", "tp", "market", "limit", "stop", "close"} <= set(log[log.status == "filled"].kind)
    # Stop-losses filled on bars that reached the take-profit too: the stop-loss won, as in the engine.
    entries = {o.order_id: o for o in run.decided}
    both = 0
    for f in (f for f in run.fills if bracket_parent(f.order_id)):
        entry, b = entries[bracket_parent(f.order_id) or ""], run.bars[(f.ts - ORIGIN) // 1000]
        assert entry.take_profit is not None
        if f.order_id.endswith(SL) and b.low <= entry.take_profit <= b.high:
            both += 1
    assert both >= 3


class OneBracket(Strategy):
    def init(self) -> None:
        pass

    def next(self) -> None:
        if len(self.data.close) == 2:
            self.buy(size=10, sl=95, tp=105)


def test_a_bracket_reached_on_both_sides_in_its_entry_bar_stops_out_as_in_the_engine() -> None:
    bars = [
        bar(i * 1000, *prices) for i, prices in enumerate([(100, 101, 99, 100)] * 2 + [(100, 106, 94, 100)])
    ]
    fills, _ = paper_run(bars, OneBracket)
    log = engine_run(bars, OneBracket).orders.to_pandas()
    assert list(zip(log.kind, log.status, log.fill_bar, strict=True)) == [
        ("market", "filled", 2),
        ("tp", "canceled", -1),
        ("sl", "filled", 2),
    ]
    filled = log[log.status == "filled"]
    assert [f.order_id for f in fills] == ["acc:1000:0", "acc:1000:0:sl"]
    assert [(f.size, f.price) for f in fills] == list(zip(filled.fill_size, filled.fill_price, strict=True))
    assert fills[1].price == 95 * (1 - SPEC.costs.slippage)  # the stop, slipped: the stop-loss won


class Cancels(Strategy):
    """Far limit and stop orders; a few bars later some are cancelled, others replaced nearer."""

    def init(self) -> None:
        pass

    def next(self) -> None:
        bar, close = len(self.data.close), float(self.data.close[-1])
        waiting = [o for o in self.orders if not o.is_contingent]
        if bar % 3 == 0:
            self.buy(limit=close * 0.98, size=2)
            self.sell(stop=close * 0.97, size=1)
            self.buy(limit=close * 0.9, size=1).cancel()  # placed and cancelled at once: never sent
        elif bar % 3 == 1 and waiting:
            waiting[0].cancel()
        elif bar % 3 == 2 and any(o.kind == "limit" for o in waiting):
            [o for o in waiting if o.kind == "limit"][-1].replace(limit=close * 0.995)
        if bar % 10 == 0 and self.position:
            self.position.close()


def test_cancelled_and_replaced_orders_are_taken_off_as_in_the_engine() -> None:
    bars = live_bars("GOOG", 300)
    broker = PaperBroker("acc", capital=SPEC.capital, costs=SPEC.costs)
    windows: list[Window] = []
    fills: list[FillEvent] = []
    equity: list[float] = []
    cancels = 0
    for b in bars:
        fills += broker.step({"GOOG": b}).fills
        equity.append(broker.account.equity({"GOOG": b.close}))
        windows.append(Window(b.start, {"GOOG": (b.open, b.high, b.low, b.close, b.volume)}))
        decided = decide(Cancels, {}, windows, spec=SPEC, account="acc")
        cancels += sum(o.cancel and o.order_id in {w.order_id for w in broker.working} for o in decided)
        deliver(broker, decided)
    log = engine_run(bars, Cancels).orders.to_pandas()
    filled = log[log.status == "filled"]
    assert {"canceled by strategy", "replaced"} <= set(log.reason)
    assert cancels > 40  # each one an order that was still working at the paper broker
    assert len(filled) > 30
    assert sorted(((f.ts - ORIGIN) // 1000, f.size) for f in fills) == sorted(
        zip(filled.fill_bar, filled.fill_size, strict=True)
    )
    assert equity == pytest.approx(list(engine_run(bars, Cancels).equity), rel=1e-12)


class Trails(Strategy):
    """Market, limit and stop entries, long and short, with trailing stops by distance and by fraction
    (some with a take-profit or a fixed stop-loss too); now and then the strategy takes the newest lot's
    stop-loss away (its trail places a new one after the next bar) or closes everything."""

    def init(self) -> None:
        pass

    def next(self) -> None:
        bar, close = len(self.data.close), float(self.data.close[-1])
        if bar % 6 == 0:
            self.buy(size=0.2, trail_pct=0.02)
        elif bar % 6 == 1:
            self.sell(size=3, trail=close * 0.015, tp=close * 0.97)
        elif bar % 6 == 2:
            self.buy(size=2, stop=close * 1.003, trail=close * 0.01, sl=close * 0.995)
        elif bar % 6 == 3:
            self.sell(size=2, limit=close * 1.002, trail_pct=0.01)
        elif bar % 6 == 4 and self.trades:
            self.trades[-1].sl = None
        if bar % 17 == 16:
            self.position.close()


class MovesBrackets(Strategy):
    """Entries with and without brackets; then the strategy moves stop-losses (up and down), sets and
    moves take-profits, cancels them (``= None``, ``order.cancel()``), moves one with ``replace``, sets
    one twice or sets and cancels it on the same bar, and sometimes closes everything."""

    def init(self) -> None:
        pass

    def next(self) -> None:
        bar, close = len(self.data.close), float(self.data.close[-1])
        if bar % 5 == 0:
            self.buy(size=0.15, sl=close * 0.97, tp=close * 1.05)
        elif bar % 5 == 1:
            self.sell(size=2)
        elif bar % 5 == 2:
            self.buy(size=3, limit=close * 0.998)
        side = self.move(bar, close)
        brackets = [o for o in self.orders if o.is_contingent]
        if bar % 7 == 0 and brackets:
            brackets[0].cancel()
        elif bar % 11 == 0 and brackets and brackets[-1].kind == "sl":
            brackets[-1].replace(sl=close * (1 - side * 0.01))
        elif bar % 9 == 0 and self.trades:
            self.trades[0].tp = close * 2 if self.trades[0].is_long else close / 2
            self.trades[0].tp = close * (1 + side * 0.008)  # the second one counts
        elif bar % 10 == 5 and self.trades:
            self.trades[-1].sl = close * (1 - side * 0.001)
            self.trades[-1].sl = None  # set and cancelled on one bar: only the cancel of the old one is sent
        if bar % 13 == 12:
            self.position.close()

    def move(self, bar: int, close: float) -> int:
        """Move every lot's stop-loss and take-profit, or cancel the take-profit; the last lot's side."""
        side = 1
        for k, trade in enumerate(self.trades):
            side = 1 if trade.is_long else -1
            if (bar + k) % 3 == 0:
                trade.sl = close * (1 - side * (0.006 if bar % 2 else 0.02))
            if (bar + k) % 4 == 1:
                trade.tp = close * (1 + side * 0.012)
            elif (bar + k) % 4 == 3:
                trade.tp = None
        return side


def test_trailing_stops_fill_as_the_engine_fills_them() -> None:
    run, _ = run_checked_against_the_engine(Trails)
    entries = [o for o in run.decided if o.trail is not None or o.trail_pct is not None]
    assert {o.kind for o in entries} == {OrderKind.MARKET, OrderKind.LIMIT, OrderKind.STOP}
    trailed = [t for step in run.steps for t in step.trailed]
    placed_again = [o for step in run.steps for o in step.placed]
    stopped = [f for f in run.fills if bracket_parent(f.order_id) and not f.order_id.endswith(TP)]
    assert len(trailed) > 200
    assert len(placed_again) > 5
    assert len(stopped) > 40
    assert any(f.order_id in {o.order_id for o in placed_again} for f in run.fills)  # placed again, then hit
    # A trailing stop-loss fills at the level it trailed to, not where it started.
    started = {o.order_id: o.stop for step in run.steps for o in step.opened if o.stop is not None}
    assert sum(f.price != started.get(f.order_id) for f in stopped) > 20


def test_stop_losses_and_take_profits_set_moved_and_cancelled_fill_as_the_engine_fills_them() -> None:
    run, result = run_checked_against_the_engine(MovesBrackets)
    log = result.orders.to_pandas()
    assert {"sl moved", "tp moved", "canceled by strategy"} <= set(log[log.kind.isin(["sl", "tp"])].reason)
    set_ = [o for o in run.decided if not o.cancel and bracket_parent(o.order_id)]
    cancels = [o for o in run.decided if o.cancel and bracket_parent(o.order_id)]
    assert {o.kind for o in set_} == {OrderKind.STOP, OrderKind.LIMIT}
    assert all(o.order_id.startswith(f"{bracket_parent(o.order_id)}:") for o in set_)
    assert len(set_) > 100
    assert len(cancels) > 100
    assert sum(f.order_id in {o.order_id for o in set_} for f in run.fills) > 20  # moved ones filled


def test_closes_of_one_lot_and_partial_closes_fill_as_the_engine_fills_them() -> None:
    run, result = run_checked_against_the_engine(ClosesLots)
    log = result.orders.to_pandas()
    filled = log[log.status == "filled"]
    # Every fill opens or closes a lot (no order nets against another): its price is the engine's too.
    assert sorted(((f.ts - ORIGIN) // 1000, f.size, f.price) for f in run.fills) == sorted(
        zip(filled.fill_bar, filled.fill_size, filled.fill_price, strict=True)
    )
    closes = [o for o in run.decided if o.reduce_only and not bracket_parent(o.order_id)]
    assert len(closes) > 60
    assert all(close_parent(o.order_id) for o in closes)  # every close names its lot
    newer, partly, reduced_then_exited = 0, set(), 0
    lots = Lots()
    for fill in run.fills:
        entry = close_parent(fill.order_id)
        if entry is not None:
            newer += lots.open()[0][1] != entry
            if abs(fill.size) < abs(lots.size(entry, "GOOG")):
                partly.add(entry)
        reduced_then_exited += bracket_parent(fill.order_id) in partly
        lots.book(fill)
    assert newer > 10  # a close of a lot other than the oldest
    assert len(partly) > 10  # lots partly closed …
    assert reduced_then_exited > 3  # … whose brackets then closed what was left, as in the engine


@settings(max_examples=12, deadline=None)
@given(cut=st.integers(min_value=1, max_value=119))
@pytest.mark.parametrize("strategy", [Kinds, Brackets, Cancels, Trails, MovesBrackets, ClosesLots])
def test_a_broker_rebuilt_from_its_fills_and_working_orders_continues_identically(
    strategy: type[Strategy], cut: int
) -> None:
    bars = live_bars("GOOG", 120)
    whole, _ = paper_run(bars, strategy)
    before, broker = paper_run(bars[:cut], strategy)
    rebuilt = PaperBroker(
        "acc",
        capital=SPEC.capital,
        costs=SPEC.costs,
        fills=before,
        working=broker.working,
        seen=broker.seen,
        trails=broker.trails,
    )
    windows = [Window(b.start, {"GOOG": (b.open, b.high, b.low, b.close, b.volume)}) for b in bars[:cut]]
    after: list[FillEvent] = []
    for bar_ in bars[cut:]:
        after += rebuilt.step({"GOOG": bar_}).fills
        windows.append(
            Window(bar_.start, {"GOOG": (bar_.open, bar_.high, bar_.low, bar_.close, bar_.volume)})
        )
        deliver(rebuilt, decide(strategy, {}, windows, spec=SPEC, account="acc"))
    assert before + after == whole

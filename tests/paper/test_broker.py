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

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta import Strategy
from quanta.engine import Backtest
from quanta.paper import Account, FillEvent, OrderEvent, OrderKind, PaperBroker
from quanta.paper.broker import INSUFFICIENT
from quanta.paper.decide import UnsupportedOrderError, Window, decide, frame, options
from quanta.paper.models import PaperCosts, PaperSpec
from quanta.streaming import Bar
from tests.paper.conftest import ORIGIN, live_bars


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
        for order in decide(strategy, {}, windows, spec=SPEC, account="acc"):
            broker.accept(order)
    return fills, broker


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


@settings(max_examples=12, deadline=None)
@given(cut=st.integers(min_value=1, max_value=119))
def test_a_broker_rebuilt_from_its_fills_and_working_orders_continues_identically(cut: int) -> None:
    bars = live_bars("GOOG", 120)
    whole, _ = paper_run(bars, Kinds)
    before, broker = paper_run(bars[:cut], Kinds)
    rebuilt = PaperBroker(
        "acc", capital=SPEC.capital, costs=SPEC.costs, fills=before, working=broker.working, seen=broker.seen
    )
    windows = [Window(b.start, {"GOOG": (b.open, b.high, b.low, b.close, b.volume)}) for b in bars[:cut]]
    after: list[FillEvent] = []
    for bar_ in bars[cut:]:
        after += rebuilt.step({"GOOG": bar_}).fills
        windows.append(
            Window(bar_.start, {"GOOG": (bar_.open, bar_.high, bar_.low, bar_.close, bar_.volume)})
        )
        for decided in decide(Kinds, {}, windows, spec=SPEC, account="acc"):
            rebuilt.accept(decided)
    assert before + after == whole


class Bracketed(Strategy):
    def init(self) -> None:
        pass

    def next(self) -> None:
        if not self.position and not self.orders:
            self.buy(size=1, trail_pct=0.05)


class WithStopLoss(Strategy):
    def init(self) -> None:
        pass

    def next(self) -> None:
        if not self.position and not self.orders:
            self.buy(size=1, sl=float(self.data.close[-1]) * 0.9)


@pytest.mark.parametrize("strategy", [Bracketed, WithStopLoss])
def test_brackets_are_refused_rather_than_silently_dropped(strategy: type[Strategy]) -> None:
    with pytest.raises(UnsupportedOrderError, match="brackets"):
        paper_run(live_bars("GOOG", 10), strategy)

"""The desk end to end on the in-process bus: sandboxed runners, the simulated broker, the database.

The reference is the engine: a paper account fed a stock's daily bars one by one fills exactly the
orders a backtest on the same bars fills, at the same bars, sizes and prices, and ends with its equity.
Stopping and restarting the desk, killing a runner, or delivering bars twice changes nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import pytest

from quanta import Strategy
from quanta.engine import Backtest
from quanta.engine.result import Result
from quanta.paper import Account, OrderEvent, PaperBroker, PaperDesk, PaperSpec
from quanta.paper.broker import Trail, bracket_parent
from quanta.paper.decide import Window, decide, frame, options
from quanta.paper.events import FillEvent, OrderKind, close_parent, decode_fill, decode_order
from quanta.paper.models import PaperCosts
from quanta.paper.runner import RunnerError
from quanta.paper.store import PaperStore, Restored
from quanta.settings import Settings
from quanta.streaming import Bar, InProcessBus, Topics, encode_bar
from quanta.testing.strategies import SmaCross, load_stock
from tests.paper.conftest import BACKENDS, ORIGIN, SMA_CROSS, Brackets, ClosesLots, live_bars, source_of

pytestmark = pytest.mark.anyio

COSTS = PaperCosts(commission=0.002, spread=0.0005, slippage=0.0002)
SPEC = PaperSpec(source=SMA_CROSS, symbols=("GOOG",), capital=10_000, costs=COSTS)


async def feed(bus: InProcessBus, topics: Topics, bars: Sequence[Bar], desk: PaperDesk, until: int) -> None:
    for bar in bars:
        await bus.publish(topics.bars(bar.interval), bar.symbol, encode_bar(bar), timestamp_ms=bar.start)
    await wait_for(lambda: desk.steps >= until)


async def wait_for(condition: object, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def engine_run(bars: Sequence[Bar], spec: PaperSpec, strategy: type[Strategy] = SmaCross) -> Result:
    """The engine's backtest of ``strategy`` on one symbol's ``bars``, with ``spec``'s capital and costs."""
    windows = [Window(b.start, {b.symbol: (b.open, b.high, b.low, b.close, b.volume)}) for b in bars]
    return Backtest(frame(windows, spec.symbols), strategy, **options(spec)).run()


def compiled(source: str, name: str) -> type[Strategy]:
    namespace: dict[str, object] = {}
    exec(compile(source, f"{name.lower()}.py", "exec"), namespace)  # the reference, in this process
    strategy = namespace[name]
    assert isinstance(strategy, type)
    assert issubclass(strategy, Strategy)
    return strategy


def filled_orders(result: Result) -> pd.DataFrame:
    log = result.orders.to_pandas()
    return log[log.status == "filled"]


def fill_rows(result: Result) -> list[tuple[int, float, float]]:
    """The engine's fills as ``(bar, size, price)``, in the order of its log."""
    filled = filled_orders(result)
    return [
        (int(b), float(s), float(p))
        for b, s, p in zip(filled.fill_bar, filled.fill_size, filled.fill_price, strict=True)
    ]


def engine_fills(bars: Sequence[Bar], spec: PaperSpec) -> list[tuple[int, float, float]]:
    """The fills of the engine's backtest of the SMA cross on ``bars``, as ``(bar, size, price)``."""
    return fill_rows(engine_run(bars, spec))


def as_rows(fills: Sequence[FillEvent]) -> list[tuple[int, float, float]]:
    return [((f.ts - ORIGIN) // 1000, f.size, f.price) for f in fills]


def assert_fills_as_the_engine(
    fills: Sequence[FillEvent],
    result: Result,
    *,
    bars: Sequence[Bar],
    capital: float,
    stored: Sequence[FillEvent],
) -> None:
    """Every published fill at the engine's bar with the engine's size, every stop-loss and
    take-profit at the engine's price; the fills numbered 1, 2, … and ``stored`` as published; and the
    account's equity at the last close of each symbol in ``bars`` the engine's final equity."""
    filled = filled_orders(result)
    assert sorted(((f.ts - ORIGIN) // 1000, f.size) for f in fills) == sorted(
        zip(filled.fill_bar, filled.fill_size, strict=True)
    )
    exits = filled[filled.kind.isin(["sl", "tp"])]
    assert sorted(
        ((f.ts - ORIGIN) // 1000, f.size, f.price) for f in fills if bracket_parent(f.order_id)
    ) == sorted(zip(exits.fill_bar, exits.fill_size, exits.fill_price, strict=True))
    assert [f.seq for f in fills] == list(range(1, len(fills) + 1))
    assert list(stored) == list(fills)
    equity = Account.replay(capital, stored).equity({b.symbol: b.close for b in bars})
    assert equity == pytest.approx(float(result.equity[-1]), rel=1e-12)


async def run_desk(
    settings: Settings,
    bars: Sequence[Bar],
    *,
    spec: PaperSpec = SPEC,
    account: str = "pp_test",
    steps: int | None = None,
) -> list[FillEvent]:
    """The fills the desk publishes running ``spec`` as ``account`` on ``bars``, once it has taken
    ``steps`` of them (all, by default)."""
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen = bus.subscribe(topics.fills)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add(account, spec)
        await feed(bus, topics, bars, desk, len(bars) if steps is None else steps)
    bus.close()
    return [decode_fill(m.value) async for m in fills_seen]


@dataclass(frozen=True)
class Held:
    """An account on the desk at one moment: the live broker's working orders, trailing stops and open
    lots, and the account as the store holds it then."""

    working: list[OrderEvent]
    trails: dict[str, Trail]
    lots: list[tuple[str, str, float]]
    stored: Restored


def held(desk: PaperDesk, settings: Settings, account: str, spec: PaperSpec) -> Held:
    live = desk.account_state(account)
    assert live is not None
    stored = PaperStore(settings).load(account, spec.symbols)
    return Held(working=live.working, trails=live.trails, lots=live.lots.open(), stored=stored)


@dataclass(frozen=True)
class Restart:
    """A desk run across a restart: the fills and orders published, and the account as the first desk
    stopped with it, as the second took it up (before any bar) and as the second ended."""

    fills: list[FillEvent]
    orders: list[OrderEvent]
    stopped: Held
    resumed: Held
    ended: Held


async def run_across_a_restart(
    settings: Settings, bars: Sequence[Bar], spec: PaperSpec, account: str, *, cut: int, again: int = 6
) -> Restart:
    """Run ``spec`` as ``account`` on the desk over ``bars``, stop the desk after ``bars[:cut]``, start a
    new one and feed it the rest from ``again`` bars before the cut (done already: skipped). Checks that
    each time a desk stops, the store holds the orders it has working."""
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen, orders_seen = bus.subscribe(topics.fills), bus.subscribe(topics.orders)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add(account, spec)
        await feed(bus, topics, bars[:cut], desk, cut)
        stopped = held(desk, settings, account, spec)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add(account, spec)
        resumed = held(desk, settings, account, spec)
        await feed(bus, topics, bars[cut - again :], desk, len(bars) - cut)
        ended = held(desk, settings, account, spec)
    bus.close()
    assert stopped.stored.working == stopped.working
    assert ended.stored.working == ended.working
    return Restart(
        fills=[decode_fill(m.value) async for m in fills_seen],
        orders=[decode_order(m.value) async for m in orders_seen],
        stopped=stopped,
        resumed=resumed,
        ended=ended,
    )


async def run_until_it_fails(
    settings: Settings,
    account: str,
    spec: PaperSpec,
    *,
    bars: int,
    done: Callable[[], bool] = lambda: False,
    decide_seconds: float = 10.0,
) -> tuple[list[tuple[str, RunnerError]], list[str]]:
    """Run ``spec`` as ``account`` on the desk over ``bars`` GOOG bars until the desk reports a failure
    (or ``done``): the failures reported, as ``(account, error)``, and the accounts the desk runs then."""
    bus, topics = InProcessBus(), Topics(namespace="t.")
    failures: list[tuple[str, RunnerError]] = []

    async def failed(account: str, error: RunnerError) -> None:
        failures.append((account, error))

    async with PaperDesk(bus, topics, settings, decide_seconds=decide_seconds) as desk:
        desk.on_failure = failed
        await desk.add(account, spec)
        for bar in live_bars("GOOG", bars):
            await bus.publish(topics.bars("1s"), bar.symbol, encode_bar(bar))
        await wait_for(lambda: failures or done())
        return failures, desk.accounts


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
async def test_paper_fills_equal_the_engine_backtest_on_the_same_bars(settings: Settings) -> None:
    bars = live_bars("GOOG", 300)
    published = await run_desk(settings, bars)
    result = engine_run(bars, SPEC)
    assert len(fill_rows(result)) > 10
    assert as_rows(published) == fill_rows(result)
    stored = PaperStore(settings).fills("pp_test")
    assert_fills_as_the_engine(published, result, bars=bars, capital=SPEC.capital, stored=stored)


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
async def test_a_desk_restarted_mid_stream_ends_as_if_it_never_stopped(settings: Settings) -> None:
    bars = live_bars("GOOG", 300)
    run = await run_across_a_restart(settings, bars, SPEC, "pp_test", cut=140, again=10)
    result = engine_run(bars, SPEC)
    assert as_rows(run.fills) == fill_rows(result)
    stored = PaperStore(settings).fills("pp_test")
    assert_fills_as_the_engine(run.fills, result, bars=bars, capital=SPEC.capital, stored=stored)


async def test_a_killed_runner_is_started_again_on_the_stored_bars(settings: Settings) -> None:
    bars = live_bars("GOOG", 240)
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen = bus.subscribe(topics.fills)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_test", SPEC)
        await feed(bus, topics, bars[:100], desk, 100)
        process = desk._accounts["pp_test"].runner._process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        await feed(bus, topics, bars[100:], desk, 240)
        assert desk.accounts == ["pp_test"]
    bus.close()
    published = [decode_fill(m.value) async for m in fills_seen]
    assert as_rows(published) == engine_fills(bars, SPEC)


async def test_bars_delivered_twice_and_later_revisions_change_nothing(settings: Settings) -> None:
    bars = live_bars("GOOG", 200)
    revised = [
        Bar(b.symbol, b.interval, b.start, b.open, b.high * 2, b.low, b.close * 3, b.volume, 1, 1)
        for b in bars
    ]
    twice = [x for pair in zip(bars, bars, revised, strict=True) for x in pair]
    published = await run_desk(settings, twice, steps=200)
    assert as_rows(published) == engine_fills(bars, SPEC)


FAILING = """
from quanta import Strategy


class Boom(Strategy):
    def init(self):
        pass

    def next(self):
        if len(self.data.close) == 30:
            1 / 0
        if len(self.data.close) == 5:
            self.buy(size=3)
"""


async def test_a_strategy_that_raises_stops_its_account_with_the_line(settings: Settings) -> None:
    spec = SPEC.model_copy(update={"source": FAILING})
    failures, accounts = await run_until_it_fails(settings, "pp_boom", spec, bars=40)
    assert accounts == []
    ((account, error),) = failures
    assert (account, error.kind, error.line) == ("pp_boom", "strategy", 11)
    assert "ZeroDivisionError" in error.message
    assert [f.size for f in PaperStore(settings).fills("pp_boom")] == [3.0]  # what it did before stays


LIMIT_AT_BAR_10 = """
from quanta import Strategy


class Limits(Strategy):
    def init(self):
        pass

    def next(self):
        if len(self.data.close) == 5:
            self.buy(size=2)
        if len(self.data.close) == 10:
            self.buy(size=1, limit=self.data.close[-1] * 0.99)
"""


@pytest.mark.parametrize(
    ("allowed", "refused"),
    [((OrderKind.MARKET,), "limit"), ((OrderKind.MARKET, OrderKind.LIMIT), None)],
    ids=["market-only", "market-and-limit"],
)
async def test_an_order_type_the_rules_do_not_allow_stops_the_account_with_the_reason(
    settings: Settings, allowed: tuple[OrderKind, ...], refused: str | None
) -> None:
    spec = SPEC.model_copy(update={"source": LIMIT_AT_BAR_10, "order_kinds": allowed})
    failures, accounts = await run_until_it_fails(
        settings, "pp_rules", spec, bars=20, done=lambda: len(PaperStore(settings).fills("pp_rules")) == 2
    )
    if refused is None:
        assert (failures, accounts) == ([], ["pp_rules"])
    else:
        [(_, error)] = failures
        assert (error.kind, accounts) == ("strategy", [])
        assert error.message == "limit orders are not allowed here (allowed: market)"
        assert [f.size for f in PaperStore(settings).fills("pp_rules")] == [2.0]  # the market buy stays


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("import os\n", "forbidden"),
        (
            "from quanta import Strategy\nclass S(Strategy):\n    def init(self):\n        open('/x')\n",
            "forbidden",
        ),
        ("def broken(:\n", "syntax"),
    ],
)
async def test_refused_code_never_starts(settings: Settings, source: str, kind: str) -> None:
    async with PaperDesk(InProcessBus(), Topics(), settings) as desk:
        with pytest.raises(RunnerError) as caught:
            await desk.add("pp_bad", SPEC.model_copy(update={"source": source}))
        assert caught.value.kind == kind
        assert desk.accounts == []


SLOW = """
from quanta import Strategy


class Slow(Strategy):
    def init(self):
        pass

    def next(self):
        while True:
            pass
"""


async def test_a_strategy_that_takes_too_long_is_stopped(settings: Settings) -> None:
    spec = SPEC.model_copy(update={"source": SLOW})
    failures, _ = await run_until_it_fails(settings, "pp_slow", spec, bars=3, decide_seconds=1.0)
    assert failures[0][1].kind == "time-limit"


ROTATION = """
from quanta import Strategy


class Rotation(Strategy):
    def init(self):
        pass

    def next(self):
        step = len(self.data.index) % 6
        if step == 0:
            self.buy(symbol="GOOG", size=0.3)
        elif step == 1:
            self.sell(symbol="AAPL", size=20, limit=float(self.data["AAPL"].close[-1]) * 1.002)
        elif step == 4:
            for symbol in ("GOOG", "AAPL"):
                self.positions[symbol].close()
"""


def aligned_bars(count: int) -> dict[str, list[Bar]]:
    """The same ``count`` trading days of GOOG and AAPL (from 2005) as 1-second bars."""
    frames = {s: load_stock(s) for s in ("GOOG", "AAPL")}
    days = frames["GOOG"].index.intersection(frames["AAPL"].index)
    days = days[days >= "2005-01-01"][:count]
    return {
        s: [
            Bar(s, "1s", ORIGIN + i * 1000, r.Open, r.High, r.Low, r.Close, float(r.Volume), 16)
            for i, r in enumerate(frame.loc[days].itertuples(index=False))
        ]
        for s, frame in frames.items()
    }


async def test_an_account_of_two_symbols_steps_when_both_bars_are_in(settings: Settings) -> None:
    series = aligned_bars(150)
    spec = SPEC.model_copy(update={"source": ROTATION, "symbols": ("GOOG", "AAPL")})
    arriving = [
        b
        for g, a in zip(series["GOOG"], series["AAPL"], strict=True)
        for b in ((a, g) if g.start % 3000 else (g, a))
    ]
    published = await run_desk(settings, arriving, spec=spec, account="pp_two", steps=150)
    windows = [
        Window(
            g.start, {s: (b.open, b.high, b.low, b.close, b.volume) for s, b in (("GOOG", g), ("AAPL", a))}
        )
        for g, a in zip(series["GOOG"], series["AAPL"], strict=True)
    ]
    result = Backtest(frame(windows, spec.symbols), compiled(ROTATION, "Rotation"), **options(spec)).run()
    assert {f.symbol for f in published} == {"GOOG", "AAPL"}
    filled = filled_orders(result)
    assert sorted(((f.ts - ORIGIN) // 1000, f.symbol, f.size) for f in published) == sorted(
        (int(b), str(s), float(z))
        for b, s, z in zip(filled.fill_bar, filled.symbol, filled.fill_size, strict=True)
    )
    stored = PaperStore(settings).fills("pp_two")
    assert_fills_as_the_engine(published, result, bars=arriving, capital=spec.capital, stored=stored)


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
async def test_brackets_fill_as_the_engine_across_a_desk_restart(settings: Settings) -> None:
    bars = live_bars("GOOG", 200)
    spec = SPEC.model_copy(update={"source": source_of(Brackets)})
    run = await run_across_a_restart(settings, bars, spec, "pp_br", cut=86)
    # It stopped with a bracketed lot and two waiting entries: brackets and bracketed entries stored.
    assert sum(o.order_id.endswith((":sl", ":tp")) for o in run.stopped.working) == 2
    assert sum(o.stop_loss is not None for o in run.stopped.working) == 2
    result = engine_run(bars, spec, Brackets)
    stored = PaperStore(settings).fills("pp_br")
    assert_fills_as_the_engine(run.fills, result, bars=bars, capital=spec.capital, stored=stored)
    assert filled_orders(result).kind.isin(["sl", "tp"]).sum() > 40
    entries = {o.order_id: o for o in run.orders}
    both = [  # stop-losses filled on a bar that reached the take-profit too: the stop-loss won
        f
        for f in run.fills
        if f.order_id.endswith(":sl")
        and bars[(f.ts - ORIGIN) // 1000].low
        <= (entries[f.order_id[:-3]].take_profit or 0.0)
        <= bars[(f.ts - ORIGIN) // 1000].high
    ]
    assert both


CANCELS = """
from quanta import Strategy


class Cancels(Strategy):
    def init(self):
        pass

    def next(self):
        bar, close = len(self.data.close), float(self.data.close[-1])
        waiting = [o for o in self.orders if not o.is_contingent]
        if bar % 3 == 0:
            self.buy(limit=close * 0.98, size=2)
            self.sell(stop=close * 0.97, size=1)
        elif bar % 3 == 1 and waiting:
            waiting[0].cancel()
        elif bar % 3 == 2 and any(o.kind == "limit" for o in waiting):
            [o for o in waiting if o.kind == "limit"][-1].replace(limit=close * 0.995)
        if bar % 10 == 0 and self.position:
            self.position.close()
"""


async def test_cancelled_and_replaced_orders_go_through_the_orders_topic(settings: Settings) -> None:
    bars = live_bars("GOOG", 150)
    spec = SPEC.model_copy(update={"source": CANCELS})
    # Cancelled orders stay cancelled at a restart.
    run = await run_across_a_restart(settings, bars, spec, "pp_cx", cut=70, again=0)
    cancels = [o for o in run.orders if o.cancel]
    placed = {o.order_id: o for o in run.orders if not o.cancel}
    assert len(cancels) > 20
    assert all(placed[c.order_id].ts < c.ts for c in cancels)  # a cancel names an order decided earlier
    result = engine_run(bars, spec, compiled(CANCELS, "Cancels"))
    stored = PaperStore(settings).fills("pp_cx")
    assert_fills_as_the_engine(run.fills, result, bars=bars, capital=spec.capital, stored=stored)
    assert not {f.order_id for f in run.fills} & {c.order_id for c in cancels}


TRAILS_AND_MOVES = """
from quanta import Strategy


class TrailsAndMoves(Strategy):
    def init(self):
        pass

    def next(self):
        bar, close = len(self.data.close), float(self.data.close[-1])
        if bar % 4 == 0:
            self.buy(size=0.2, trail_pct=0.02, tp=close * 1.03)
        elif bar % 4 == 1:
            self.sell(size=3, trail=close * 0.015)
        elif bar % 4 == 2:
            self.buy(size=2, limit=close * 0.998, sl=close * 0.97)
        for k, trade in enumerate(self.trades):
            side = 1 if trade.is_long else -1
            if (bar + k) % 3 == 0:
                trade.sl = close * (1 - side * 0.01)
            if (bar + k) % 5 == 1:
                trade.tp = close * (1 + side * 0.012)
            elif (bar + k) % 5 == 3:
                trade.tp = None
        if bar % 9 == 4 and self.trades:
            self.trades[-1].sl = None  # a trailing lot gets a new one after the next bar
        if bar % 13 == 12:
            self.position.close()
"""


def a_cut_with_moved_stops(
    bars: Sequence[Bar], spec: PaperSpec, strategy: type[Strategy]
) -> tuple[int, dict[str, float]]:
    """The first bar after 60 at whose end the broker holds a stop-loss the trail moved on that bar and
    one the strategy set: where stopping the desk tests that both are stored. Returns it and the
    stop-losses working then whose level the trail moved, with their levels."""
    broker = PaperBroker("pp_tm", capital=spec.capital, costs=spec.costs)
    windows: list[Window] = []
    trailed: set[str] = set()
    for n, b in enumerate(bars, start=1):
        trailed |= {order_id for order_id, _ in broker.step({"GOOG": b}).trailed}
        windows.append(Window(b.start, {"GOOG": (b.open, b.high, b.low, b.close, b.volume)}))
        for order in decide(strategy, {}, windows, spec=spec, account="pp_tm"):
            _ = broker.cancel(order.order_id) if order.cancel else broker.accept(order)
        working = {o.order_id: o for o in broker.working}
        moved = {i: o.stop for i, o in working.items() if i in trailed and o.stop is not None}
        set_ = [i for i in working if bracket_parent(i) and not i.endswith((":sl", ":tp"))]
        if n > 60 and moved and set_:
            return n, moved
    raise AssertionError("no such bar")


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
async def test_trailing_and_moved_stops_fill_as_the_engine_across_a_desk_restart(settings: Settings) -> None:
    bars = live_bars("GOOG", 200)
    spec = SPEC.model_copy(update={"source": TRAILS_AND_MOVES})
    strategy = compiled(TRAILS_AND_MOVES, "TrailsAndMoves")
    cut, moved = a_cut_with_moved_stops(bars, spec, strategy)
    run = await run_across_a_restart(settings, bars, spec, "pp_tm", cut=cut)
    stored = run.stopped.stored  # trailed levels, moved stops and take-profits stored
    assert {o.order_id: o.stop for o in stored.working if o.order_id in moved} == moved
    assert run.stopped.trails.items() <= stored.trails.items()  # (and entries that opened no lot)
    result = engine_run(bars, spec, strategy)
    assert {"sl moved", "tp moved"} <= set(result.orders.to_pandas().reason)
    fills = PaperStore(settings).fills("pp_tm")
    assert_fills_as_the_engine(run.fills, result, bars=bars, capital=spec.capital, stored=fills)
    assert filled_orders(result).kind.isin(["sl", "tp"]).sum() > 40
    assert any(":trail:" in f.order_id for f in run.fills)  # a trailing stop placed again, then hit
    assert any(o.trail_pct is not None for o in run.orders)
    assert any(o.trail is not None for o in run.orders)
    brackets = [o for o in run.orders if bracket_parent(o.order_id) is not None]
    assert sum(not o.cancel for o in brackets) > 40  # set
    assert sum(o.cancel for o in brackets) > 40  # moved, cancelled


def a_cut_with_a_newer_lot_closing(bars: Sequence[Bar], spec: PaperSpec, strategy: type[Strategy]) -> int:
    """The first bar after 60 at whose end a close of a lot other than the oldest is working and a lot
    has been partly closed before: where stopping the desk tests that both survive."""
    broker = PaperBroker("pp_cl", capital=spec.capital, costs=spec.costs)
    windows: list[Window] = []
    partly = False
    for n, b in enumerate(bars, start=1):
        for fill in broker.step({"GOOG": b}).fills:
            entry = close_parent(fill.order_id)
            partly |= entry is not None and broker.lots.size(entry, "GOOG") != 0  # closed in part
        windows.append(Window(b.start, {"GOOG": (b.open, b.high, b.low, b.close, b.volume)}))
        for order in decide(strategy, {}, windows, spec=spec, account="pp_cl"):
            _ = broker.cancel(order.order_id) if order.cancel else broker.accept(order)
        lots = broker.lots.open()
        closing = [close_parent(o.order_id) for o in broker.working]
        if n > 60 and partly and lots and any(c not in {None, lots[0][1]} for c in closing):
            return n
    raise AssertionError("no such bar")


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
async def test_closes_of_one_lot_fill_as_the_engine_across_a_desk_restart(settings: Settings) -> None:
    bars = live_bars("GOOG", 200)
    spec = SPEC.model_copy(update={"source": source_of(ClosesLots)})
    cut = a_cut_with_a_newer_lot_closing(bars, spec, ClosesLots)
    run = await run_across_a_restart(settings, bars, spec, "pp_cl", cut=cut)
    assert any(close_parent(o.order_id) for o in run.stopped.working)
    assert run.resumed.lots == run.stopped.lots  # the lots, from the stored fills, as they were
    result = engine_run(bars, spec, ClosesLots)
    stored = PaperStore(settings).fills("pp_cl")
    assert_fills_as_the_engine(run.fills, result, bars=bars, capital=spec.capital, stored=stored)
    log = result.orders.to_pandas()
    assert (log.kind == "close").sum() > 30
    # Every fill opens or closes a lot (none nets against another): its price is the engine's too.
    assert sorted(as_rows(run.fills)) == sorted(fill_rows(result))
    assert sum(bracket_parent(f.order_id) is not None for f in run.fills) > 20
    assert sum(close_parent(o.order_id) is not None for o in run.orders) == (log.kind == "close").sum()


TRAIL_AND_TAKE_PROFIT = """
from quanta import Strategy


class TrailAndTakeProfit(Strategy):
    def init(self):
        pass

    def next(self):
        if len(self.data.close) == 5:
            self.buy(size=2, trail_pct=0.5)
        if len(self.data.close) == 10:
            self.trades[0].tp = self.data.close[-1] * 2
"""


@pytest.mark.parametrize(
    ("allowed", "message"),
    [
        ((OrderKind.MARKET,), "stop orders are not allowed here (allowed: market)"),
        ((OrderKind.MARKET, OrderKind.STOP), "limit orders are not allowed here (allowed: market, stop)"),
    ],
    ids=["trailing-stop", "take-profit-set"],
)
async def test_a_trailing_stop_counts_as_a_stop_and_a_take_profit_set_later_as_a_limit(
    settings: Settings, allowed: tuple[OrderKind, ...], message: str
) -> None:
    spec = SPEC.model_copy(update={"source": TRAIL_AND_TAKE_PROFIT, "order_kinds": allowed})
    failures, _ = await run_until_it_fails(settings, "pp_rules", spec, bars=20)
    [(_, error)] = failures
    assert (error.kind, error.message) == ("strategy", message)

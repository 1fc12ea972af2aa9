"""The desk end to end on the in-process bus: sandboxed runners, the simulated broker, the database.

The reference is the engine: a paper account fed a stock's daily bars one by one fills exactly the
orders a backtest on the same bars fills, at the same bars, sizes and prices, and ends with its equity.
Stopping and restarting the desk, killing a runner, or delivering bars twice changes nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence

import pytest

from quanta import Strategy
from quanta.engine import Backtest
from quanta.paper import Account, PaperBroker, PaperDesk, PaperSpec
from quanta.paper.broker import bracket_parent
from quanta.paper.decide import Window, decide, frame, options
from quanta.paper.events import FillEvent, OrderKind, close_parent, decode_fill, decode_order
from quanta.paper.models import PaperCosts
from quanta.paper.runner import RunnerError
from quanta.paper.store import PaperStore
from quanta.settings import Settings
from quanta.streaming import Bar, InProcessBus, Topics, encode_bar
from quanta.testing.strategies import SmaCross, load_stock
from tests.paper.conftest import BACKENDS, ORIGIN, SMA_CROSS, live_bars

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


def engine_fills(bars: Sequence[Bar], spec: PaperSpec) -> list[tuple[int, float, float]]:
    windows = [Window(b.start, {b.symbol: (b.open, b.high, b.low, b.close, b.volume)}) for b in bars]
    result = Backtest(frame(windows, spec.symbols), SmaCross, **options(spec)).run()
    orders = result.orders.to_pandas()
    filled = orders[orders.status == "filled"]
    return [
        (int(b), float(s), float(p))
        for b, s, p in zip(filled.fill_bar, filled.fill_size, filled.fill_price, strict=True)
    ]


def as_rows(fills: Sequence[FillEvent]) -> list[tuple[int, float, float]]:
    return [((f.ts - ORIGIN) // 1000, f.size, f.price) for f in fills]


async def run_desk(settings: Settings, bars: Sequence[Bar], *, account: str = "pp_test") -> list[FillEvent]:
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen = bus.subscribe(topics.fills)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add(account, SPEC)
        await feed(bus, topics, bars, desk, len(bars))
    bus.close()
    return [decode_fill(m.value) async for m in fills_seen]


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
async def test_paper_fills_equal_the_engine_backtest_on_the_same_bars(settings: Settings) -> None:
    bars = live_bars("GOOG", 300)
    published = await run_desk(settings, bars)
    expected = engine_fills(bars, SPEC)
    assert len(expected) > 10
    assert as_rows(published) == expected
    assert [f.seq for f in published] == list(range(1, len(published) + 1))
    assert PaperStore(settings).fills("pp_test") == published


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
async def test_a_desk_restarted_mid_stream_ends_as_if_it_never_stopped(settings: Settings) -> None:
    bars = live_bars("GOOG", 300)
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen = bus.subscribe(topics.fills)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_test", SPEC)
        await feed(bus, topics, bars[:140], desk, 140)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_test", SPEC)
        await feed(bus, topics, bars[130:], desk, 160)  # ten bars again: already done, skipped
    bus.close()
    published = [decode_fill(m.value) async for m in fills_seen]
    assert as_rows(published) == engine_fills(bars, SPEC)
    assert [f.seq for f in published] == list(range(1, len(published) + 1))
    assert PaperStore(settings).fills("pp_test") == published


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
    published = await run_desk_on(settings, twice, steps=200)
    assert as_rows(published) == engine_fills(bars, SPEC)


async def run_desk_on(settings: Settings, bars: Sequence[Bar], *, steps: int) -> list[FillEvent]:
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen = bus.subscribe(topics.fills)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_test", SPEC)
        await feed(bus, topics, bars, desk, steps)
    bus.close()
    return [decode_fill(m.value) async for m in fills_seen]


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
    bus, topics = InProcessBus(), Topics(namespace="t.")
    failures: list[tuple[str, RunnerError]] = []

    async def failed(account: str, error: RunnerError) -> None:
        failures.append((account, error))

    async with PaperDesk(bus, topics, settings) as desk:
        desk.on_failure = failed
        await desk.add("pp_boom", SPEC.model_copy(update={"source": FAILING}))
        for bar in live_bars("GOOG", 40):
            await bus.publish(topics.bars("1s"), bar.symbol, encode_bar(bar))
        await wait_for(lambda: failures)
        assert desk.accounts == []
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
    bus, topics = InProcessBus(), Topics(namespace="t.")
    failures: list[RunnerError] = []

    async def failed(account: str, error: RunnerError) -> None:
        failures.append(error)

    spec = SPEC.model_copy(update={"source": LIMIT_AT_BAR_10, "order_kinds": allowed})
    async with PaperDesk(bus, topics, settings) as desk:
        desk.on_failure = failed
        await desk.add("pp_rules", spec)
        for bar in live_bars("GOOG", 20):
            await bus.publish(topics.bars("1s"), bar.symbol, encode_bar(bar))
        await wait_for(lambda: failures or len(PaperStore(settings).fills("pp_rules")) == 2)
        accounts = desk.accounts
    if refused is None:
        assert (failures, accounts) == ([], ["pp_rules"])
    else:
        [error] = failures
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
    bus, topics = InProcessBus(), Topics(namespace="t.")
    failures: list[RunnerError] = []

    async def failed(account: str, error: RunnerError) -> None:
        failures.append(error)

    async with PaperDesk(bus, topics, settings, decide_seconds=1.0) as desk:
        desk.on_failure = failed
        await desk.add("pp_slow", SPEC.model_copy(update={"source": SLOW}))
        for bar in live_bars("GOOG", 3):
            await bus.publish(topics.bars("1s"), bar.symbol, encode_bar(bar))
        await wait_for(lambda: failures)
    assert failures[0].kind == "time-limit"


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
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen = bus.subscribe(topics.fills)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_two", spec)
        await feed(bus, topics, arriving, desk, 150)
    bus.close()
    published = [decode_fill(m.value) async for m in fills_seen]
    windows = [
        Window(
            g.start, {s: (b.open, b.high, b.low, b.close, b.volume) for s, b in (("GOOG", g), ("AAPL", a))}
        )
        for g, a in zip(series["GOOG"], series["AAPL"], strict=True)
    ]
    namespace: dict[str, object] = {}
    exec(compile(ROTATION, "rotation.py", "exec"), namespace)  # the reference run, in this process
    result = Backtest(frame(windows, spec.symbols), namespace["Rotation"], **options(spec)).run()  # type: ignore[arg-type]
    log = result.orders.to_pandas()
    filled = log[log.status == "filled"]
    assert {f.symbol for f in published} == {"GOOG", "AAPL"}
    assert sorted(((f.ts - ORIGIN) // 1000, f.symbol, f.size) for f in published) == sorted(
        (int(b), str(s), float(z))
        for b, s, z in zip(filled.fill_bar, filled.symbol, filled.fill_size, strict=True)
    )
    store = PaperStore(settings)
    equity = Account.replay(spec.capital, store.fills("pp_two")).equity(
        {"GOOG": series["GOOG"][-1].close, "AAPL": series["AAPL"][-1].close}
    )
    assert equity == pytest.approx(float(result.equity[-1]), rel=1e-12)


BRACKETS = """
from quanta import Strategy


class Brackets(Strategy):
    def init(self):
        pass

    def next(self):
        bar, close = len(self.data.close), float(self.data.close[-1])
        if bar % 4 == 0:
            self.buy(size=0.2, sl=close * 0.99, tp=close * 1.01)
        elif bar % 4 == 1:
            self.sell(size=2, limit=close * 1.002, sl=close * 1.02, tp=close * 0.98)
        elif bar % 4 == 2:
            self.buy(size=3, stop=close * 1.003, sl=close * 0.985, tp=close * 1.006)
        elif bar % 8 == 7:
            self.position.close()
"""


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
async def test_brackets_fill_as_the_engine_across_a_desk_restart(settings: Settings) -> None:
    bars = live_bars("GOOG", 200)
    spec = SPEC.model_copy(update={"source": BRACKETS})
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen, orders_seen = bus.subscribe(topics.fills), bus.subscribe(topics.orders)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_br", spec)
        await feed(bus, topics, bars[:86], desk, 86)  # stops with a bracketed lot and two waiting entries
        working = desk.account_state("pp_br")
        assert working is not None
        assert sum(o.order_id.endswith((":sl", ":tp")) for o in working.working) == 2
        assert sum(o.stop_loss is not None for o in working.working) == 2
        assert PaperStore(settings).load("pp_br", spec.symbols).working == working.working
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_br", spec)
        await feed(bus, topics, bars[80:], desk, 114)  # six bars again: skipped
        live = desk.account_state("pp_br")
        assert live is not None
        stored = PaperStore(settings).load("pp_br", spec.symbols).working
        assert stored == live.working  # brackets and bracketed entries stored as they work
    bus.close()
    published = [decode_fill(m.value) async for m in fills_seen]
    entries = {o.order_id: o for o in [decode_order(m.value) async for m in orders_seen]}
    namespace: dict[str, object] = {}
    exec(compile(BRACKETS, "brackets.py", "exec"), namespace)  # the reference run, in this process
    windows = [Window(b.start, {b.symbol: (b.open, b.high, b.low, b.close, b.volume)}) for b in bars]
    result = Backtest(frame(windows, spec.symbols), namespace["Brackets"], **options(spec)).run()  # type: ignore[arg-type]
    log = result.orders.to_pandas()
    filled = log[log.status == "filled"]
    assert sorted(((f.ts - ORIGIN) // 1000, f.size) for f in published) == sorted(
        zip(filled.fill_bar, filled.fill_size, strict=True)
    )
    exits = filled[filled.kind.isin(["sl", "tp"])]
    assert len(exits) > 40
    assert sorted(
        ((f.ts - ORIGIN) // 1000, f.size, f.price) for f in published if f.order_id[-3:] in {":sl", ":tp"}
    ) == sorted(zip(exits.fill_bar, exits.fill_size, exits.fill_price, strict=True))
    both = [  # stop-losses filled on a bar that reached the take-profit too: the stop-loss won
        f
        for f in published
        if f.order_id.endswith(":sl")
        and bars[(f.ts - ORIGIN) // 1000].low
        <= (entries[f.order_id[:-3]].take_profit or 0.0)
        <= bars[(f.ts - ORIGIN) // 1000].high
    ]
    assert both
    assert [f.seq for f in published] == list(range(1, len(published) + 1))
    assert PaperStore(settings).fills("pp_br") == published
    equity = Account.replay(spec.capital, published).equity({"GOOG": bars[-1].close})
    assert equity == pytest.approx(float(result.equity[-1]), rel=1e-12)


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
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen, orders_seen = bus.subscribe(topics.fills), bus.subscribe(topics.orders)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_cx", spec)
        await feed(bus, topics, bars[:70], desk, 70)
    async with PaperDesk(bus, topics, settings) as desk:  # cancelled orders stay cancelled at a restart
        await desk.add("pp_cx", spec)
        await feed(bus, topics, bars[70:], desk, 80)
    bus.close()
    published = [decode_fill(m.value) async for m in fills_seen]
    records = [decode_order(m.value) async for m in orders_seen]
    cancels = [o for o in records if o.cancel]
    placed = {o.order_id: o for o in records if not o.cancel}
    assert len(cancels) > 20
    assert all(placed[c.order_id].ts < c.ts for c in cancels)  # a cancel names an order decided earlier
    namespace: dict[str, object] = {}
    exec(compile(CANCELS, "cancels.py", "exec"), namespace)  # the reference run, in this process
    windows = [Window(b.start, {b.symbol: (b.open, b.high, b.low, b.close, b.volume)}) for b in bars]
    result = Backtest(frame(windows, spec.symbols), namespace["Cancels"], **options(spec)).run()  # type: ignore[arg-type]
    log = result.orders.to_pandas()
    filled = log[log.status == "filled"]
    assert sorted(((f.ts - ORIGIN) // 1000, f.size) for f in published) == sorted(
        zip(filled.fill_bar, filled.fill_size, strict=True)
    )
    assert not {f.order_id for f in published} & {c.order_id for c in cancels}
    equity = Account.replay(spec.capital, PaperStore(settings).fills("pp_cx")).equity(
        {"GOOG": bars[-1].close}
    )
    assert equity == pytest.approx(float(result.equity[-1]), rel=1e-12)


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


def compiled(source: str, name: str) -> type[Strategy]:
    namespace: dict[str, object] = {}
    exec(compile(source, f"{name.lower()}.py", "exec"), namespace)  # the reference, in this process
    strategy = namespace[name]
    assert isinstance(strategy, type)
    assert issubclass(strategy, Strategy)
    return strategy


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
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen, orders_seen = bus.subscribe(topics.fills), bus.subscribe(topics.orders)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_tm", spec)
        await feed(bus, topics, bars[:cut], desk, cut)
        live = desk.account_state("pp_tm")
        assert live is not None
        stored = PaperStore(settings).load("pp_tm", spec.symbols)
        assert stored.working == live.working  # trailed levels, moved stops and take-profits stored
        assert {o.order_id: o.stop for o in stored.working if o.order_id in moved} == moved
        assert live.trails.items() <= stored.trails.items()  # (and entries that opened no lot)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_tm", spec)
        await feed(bus, topics, bars[cut - 6 :], desk, len(bars) - cut)  # six bars again: skipped
        live = desk.account_state("pp_tm")
        assert live is not None
        assert PaperStore(settings).load("pp_tm", spec.symbols).working == live.working
    bus.close()
    published = [decode_fill(m.value) async for m in fills_seen]
    records = [decode_order(m.value) async for m in orders_seen]
    windows = [Window(b.start, {b.symbol: (b.open, b.high, b.low, b.close, b.volume)}) for b in bars]
    result = Backtest(frame(windows, spec.symbols), strategy, **options(spec)).run()
    log = result.orders.to_pandas()
    assert {"sl moved", "tp moved"} <= set(log.reason)
    filled = log[log.status == "filled"]
    assert sorted(((f.ts - ORIGIN) // 1000, f.size) for f in published) == sorted(
        zip(filled.fill_bar, filled.fill_size, strict=True)
    )
    exits = filled[filled.kind.isin(["sl", "tp"])]
    assert len(exits) > 40
    assert sorted(
        ((f.ts - ORIGIN) // 1000, f.size, f.price) for f in published if bracket_parent(f.order_id)
    ) == (sorted(zip(exits.fill_bar, exits.fill_size, exits.fill_price, strict=True)))
    assert any(":trail:" in f.order_id for f in published)  # a trailing stop placed again, then hit
    assert any(o.trail_pct is not None for o in records)
    assert any(o.trail is not None for o in records)
    assert sum(bracket_parent(o.order_id) is not None and not o.cancel for o in records) > 40  # set
    assert sum(bracket_parent(o.order_id) is not None and o.cancel for o in records) > 40  # moved, cancelled
    assert [f.seq for f in published] == list(range(1, len(published) + 1))
    assert PaperStore(settings).fills("pp_tm") == published
    equity = Account.replay(spec.capital, published).equity({"GOOG": bars[-1].close})
    assert equity == pytest.approx(float(result.equity[-1]), rel=1e-12)


CLOSES_LOTS = """
from quanta import Strategy


class ClosesLots(Strategy):
    def init(self):
        pass

    def next(self):
        bar, close = len(self.data.close), float(self.data.close[-1])
        side = 1 if bar // 40 % 2 == 0 else -1
        if bar % 40 == 39:
            self.position.close()
            return
        order = self.buy if side > 0 else self.sell
        if bar % 4 == 0:
            order(size=0.1, sl=close * (1 - side * 0.05), tp=close * (1 + side * 0.06))
        elif bar % 4 == 1:
            order(size=5, sl=close * (1 - side * 0.03), tp=close * (1 + side * 0.04))
        elif bar % 4 == 2:
            order(size=7)
        trades = self.trades
        if bar % 5 == 3 and len(trades) >= 2:
            trades[-1].close()
        elif bar % 5 == 1 and len(trades) >= 3:
            trades[1].close(0.5)
        elif bar % 7 == 6 and trades:
            trades[-1].close(1 / 3)
            trades[-1].close(1 / 3)
"""


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
    spec = SPEC.model_copy(update={"source": CLOSES_LOTS})
    strategy = compiled(CLOSES_LOTS, "ClosesLots")
    cut = a_cut_with_a_newer_lot_closing(bars, spec, strategy)
    bus, topics = InProcessBus(), Topics(namespace="t.")
    fills_seen, orders_seen = bus.subscribe(topics.fills), bus.subscribe(topics.orders)
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_cl", spec)
        await feed(bus, topics, bars[:cut], desk, cut)
        live = desk.account_state("pp_cl")
        assert live is not None
        assert any(close_parent(o.order_id) for o in live.working)
        assert PaperStore(settings).load("pp_cl", spec.symbols).working == live.working
        lots = live.lots.open()
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.add("pp_cl", spec)
        live = desk.account_state("pp_cl")
        assert live is not None
        assert live.lots.open() == lots  # the lots, from the stored fills, as they were
        await feed(bus, topics, bars[cut - 6 :], desk, len(bars) - cut)  # six bars again: skipped
    bus.close()
    published = [decode_fill(m.value) async for m in fills_seen]
    records = [decode_order(m.value) async for m in orders_seen]
    windows = [Window(b.start, {b.symbol: (b.open, b.high, b.low, b.close, b.volume)}) for b in bars]
    result = Backtest(frame(windows, spec.symbols), strategy, **options(spec)).run()
    log = result.orders.to_pandas()
    filled = log[log.status == "filled"]
    assert (log.kind == "close").sum() > 30
    # Every fill opens or closes a lot (none nets against another): bar, size and price the engine's.
    assert sorted(((f.ts - ORIGIN) // 1000, f.size, f.price) for f in published) == sorted(
        zip(filled.fill_bar, filled.fill_size, filled.fill_price, strict=True)
    )
    assert sum(bracket_parent(f.order_id) is not None for f in published) > 20
    assert sum(close_parent(o.order_id) is not None for o in records) == (log.kind == "close").sum()
    assert [f.seq for f in published] == list(range(1, len(published) + 1))
    assert PaperStore(settings).fills("pp_cl") == published
    equity = Account.replay(spec.capital, published).equity({"GOOG": bars[-1].close})
    assert equity == pytest.approx(float(result.equity[-1]), rel=1e-12)


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
    bus, topics = InProcessBus(), Topics(namespace="t.")
    failures: list[RunnerError] = []

    async def failed(account: str, error: RunnerError) -> None:
        failures.append(error)

    spec = SPEC.model_copy(update={"source": TRAIL_AND_TAKE_PROFIT, "order_kinds": allowed})
    async with PaperDesk(bus, topics, settings) as desk:
        desk.on_failure = failed
        await desk.add("pp_rules", spec)
        for bar in live_bars("GOOG", 20):
            await bus.publish(topics.bars("1s"), bar.symbol, encode_bar(bar))
        await wait_for(lambda: failures)
    [error] = failures
    assert (error.kind, error.message) == ("strategy", message)

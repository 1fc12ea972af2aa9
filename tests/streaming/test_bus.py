"""The in-process bus and the jobs on it: ticks in, the same bars as the operators alone, end to end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pyarrow as pa
import pytest

from quanta.streaming import (
    BarConfig,
    BarJob,
    BarPipeline,
    DeadLetterReason,
    EmbeddedMarket,
    InProcessBus,
    Message,
    TickFeed,
    TickReplay,
    Topics,
    decode_bar,
    decode_dead_letter,
    encode_tick,
    replay_ticks,
)
from quanta.streaming.transport import merge
from tests.streaming.conftest import ORIGIN, bars_of, tick

pytestmark = pytest.mark.anyio

CONFIG = BarConfig(intervals=("1s", "1m"), out_of_orderness_ms=200, allowed_lateness_ms=1000)


async def read_all(bus: InProcessBus, topic: str) -> list[Message]:
    async with bus.subscribe(topic, from_beginning=True) as subscription:
        subscription.end()
        return [message async for message in subscription]


async def test_subscriber_gets_records_in_order_with_offsets() -> None:
    bus = InProcessBus()
    subscription = bus.subscribe("t")
    for i in range(3):
        await bus.publish("t", "k", b"%d" % i, timestamp_ms=i)
    bus.close()
    got = [(m.value, m.offset, m.timestamp_ms) async for m in subscription]
    assert got == [(b"0", 0, 0), (b"1", 1, 1), (b"2", 2, 2)]


async def test_late_subscriber_gets_the_retained_history_from_the_beginning() -> None:
    bus = InProcessBus(retain=2)
    for i in range(3):
        await bus.publish("t", None, b"%d" % i)
    assert [m.value for m in await read_all(bus, "t")] == [b"1", b"2"]
    live = bus.subscribe("t")
    await bus.publish("t", None, b"3")
    bus.close()
    assert [m.value async for m in live] == [b"3"]


async def test_slow_subscriber_holds_the_publisher_back_and_loses_nothing() -> None:
    bus = InProcessBus(max_pending=4)
    subscription = bus.subscribe("t")

    async def produce() -> None:
        for i in range(100):
            await bus.publish("t", None, b"%d" % i)
        bus.close()

    producer = asyncio.create_task(produce())
    got = []
    async for message in subscription:
        assert subscription.pending <= 4
        got.append(int(message.value))
        await asyncio.sleep(0)
    await producer
    assert got == list(range(100))


async def test_stop_ends_iteration_and_unsubscribes() -> None:
    bus = InProcessBus()
    subscription = bus.subscribe("t")
    await bus.publish("t", None, b"a")
    subscription.stop()
    await bus.publish("t", None, b"b")
    assert [m async for m in subscription] == []


async def test_feed_and_bar_job_on_the_bus_equal_the_operators_alone(two_symbols: pa.Table) -> None:
    ticks = list(replay_ticks(two_symbols, seed=2, origin_ms=ORIGIN, speed=1.0))
    pipeline = BarPipeline(CONFIG)
    expected = bars_of([o for t in ticks for o in pipeline.process(t)] + pipeline.flush())
    async with EmbeddedMarket(TickReplay(ticks), config=CONFIG) as market:
        await market.wait()
    got = []
    for interval in ("1s", "1m"):
        got += [decode_bar(m.value) for m in await read_all(market.bus, market.topics.bars(interval))]
    assert market.feed.published == market.job.processed == len(ticks)
    for key in {(b.symbol, b.interval) for b in expected}:
        assert [b for b in got if (b.symbol, b.interval) == key] == [
            b for b in expected if (b.symbol, b.interval) == key
        ]


async def test_bar_job_routes_malformed_late_and_failing_records_to_dead_letters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus = InProcessBus(retain=100)
    topics = Topics(namespace="t.")
    job = BarJob(
        bus, config=BarConfig(intervals=("1s",), out_of_orderness_ms=0, allowed_lateness_ms=0), topics=topics
    )
    running = asyncio.create_task(job.run())
    await asyncio.sleep(0)
    for record in (
        encode_tick(tick(0, 10.0)),
        b"not json",
        encode_tick(tick(1500, 11.0)),
        encode_tick(tick(10, 12.0)),  # its window fired at 1500: late
        b'{"v":9}',
    ):
        await bus.publish(topics.ticks, "X", record)
    original = job.pipeline.process_record

    def explode(value: bytes, key: str | None = None) -> list:
        if value == b"boom":
            raise ZeroDivisionError("a bug")
        return original(value, key)

    monkeypatch.setattr(job.pipeline, "process_record", explode)
    await bus.publish(topics.ticks, "X", b"boom")
    await bus.publish(topics.ticks, "X", encode_tick(tick(2500, 13.0)))
    bus.end_topic(topics.ticks)
    await running
    letters = [decode_dead_letter(m.value) for m in await read_all(bus, topics.dead_letters)]
    assert [(letter.reason, letter.payload) for letter in letters] == [
        (DeadLetterReason.MALFORMED, b"not json"),
        (DeadLetterReason.LATE, encode_tick(tick(10, 12.0))),
        (DeadLetterReason.UNSUPPORTED_VERSION, b'{"v":9}'),
        (DeadLetterReason.ERROR, b"boom"),
    ]
    assert "ZeroDivisionError: a bug" in letters[-1].detail
    bars = [decode_bar(m.value) for m in await read_all(bus, topics.bars("1s"))]
    assert [(b.start - ORIGIN, b.close) for b in bars] == [(0, 10.0), (1000, 11.0), (2000, 13.0)]
    assert (job.processed, job.bars, job.dead_letters) == (7, 3, 4)


async def test_paced_replay_releases_ticks_on_the_event_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    ticks = [tick(0, 1.0), tick(250, 1.0), tick(1000, 1.0)]
    replay = TickReplay(ticks, pace_origin_ms=ORIGIN, clock=lambda: now[0], sleep=sleep)
    got = [t async for t in replay.stream()]
    assert got == ticks
    assert [s for s in slept if s] == [0.25, 0.75]


async def test_feed_publishes_ticks_keyed_by_symbol_with_event_time() -> None:
    bus = InProcessBus()
    topics = Topics()
    subscription = bus.subscribe(topics.ticks)
    count = await TickFeed(bus, topics=topics).run([tick(5, 1.0, symbol="AB")])
    bus.close()
    (message,) = [m async for m in subscription]
    assert count == 1
    assert (message.key, message.timestamp_ms, message.value) == (
        "AB",
        ORIGIN + 5,
        encode_tick(tick(5, 1.0, symbol="AB")),
    )


async def test_bar_job_publishes_the_open_windows_as_forming_bars_between_ticks() -> None:
    bus = InProcessBus(retain=1000)
    topics = Topics(namespace="f.")
    config = BarConfig(intervals=("1s",), out_of_orderness_ms=500, allowed_lateness_ms=0, indicators=())
    job = BarJob(bus, config=config, topics=topics, forming_every=0.02)
    running = asyncio.create_task(job.run())
    async with bus.subscribe(topics.forming("1s")) as forming:
        for ts, price in ((0, 10.0), (300, 12.0)):
            await bus.publish(topics.ticks, "X", encode_tick(tick(ts, price)))
            first = decode_bar((await anext(forming)).value)
            assert (first.start, first.close, first.forming) == (ORIGIN, price, True)
        await asyncio.sleep(0.1)  # no new tick: no new forming bar
        await bus.publish(topics.ticks, "X", encode_tick(tick(1600, 9.0)))  # fires the first window
        latest = decode_bar((await anext(forming)).value)
        bus.end_topic(topics.ticks)
        await running
    assert (latest.start - ORIGIN, latest.close) == (1000, 9.0)
    assert job.forming_bars == 3
    bars = [decode_bar(m.value) for m in await read_all(bus, topics.bars("1s"))]
    assert [(b.start - ORIGIN, b.close, b.forming) for b in bars] == [(0, 12.0, False), (1000, 9.0, False)]


async def test_a_forming_only_job_publishes_nothing_but_forming_bars() -> None:
    bus = InProcessBus(retain=1000)
    topics = Topics(namespace="o.")
    config = BarConfig(intervals=("1s",), out_of_orderness_ms=0, allowed_lateness_ms=0, indicators=())
    job = BarJob(bus, config=config, topics=topics, forming_every=0.01, forming_only=True)
    running = asyncio.create_task(job.run())
    await asyncio.sleep(0)
    for ts in (0, 1500, 3000):
        await bus.publish(topics.ticks, "X", encode_tick(tick(ts, 10.0)))
        await asyncio.sleep(0.05)
    await bus.publish(topics.ticks, "X", b"not json")
    bus.end_topic(topics.ticks)
    await running
    forming = [decode_bar(m.value) for m in await read_all(bus, topics.forming("1s"))]
    assert [b.start - ORIGIN for b in forming] == [0, 1000, 3000]
    assert await read_all(bus, topics.bars("1s")) == []
    assert await read_all(bus, topics.dead_letters) == []
    with pytest.raises(ValueError, match="forming_only needs forming_every"):
        BarJob(bus, forming_every=None, forming_only=True)


async def test_merge_yields_every_sources_items_in_their_order_and_fails_with_a_source() -> None:
    async def source(name: str, count: int, pause: float) -> AsyncIterator[str]:
        for i in range(count):
            await asyncio.sleep(pause)
            yield f"{name}{i}"

    got = [item async for item in merge(source("a", 5, 0.003), source("b", 3, 0.005), source("c", 0, 0))]
    assert sorted(got) == ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2"]
    assert [g for g in got if g[0] == "a"] == ["a0", "a1", "a2", "a3", "a4"]

    async def failing() -> AsyncIterator[str]:
        yield "x"
        raise ConnectionError("broker gone")

    async def endless() -> AsyncIterator[str]:
        while True:
            await asyncio.sleep(0.01)
            yield "tick"

    with pytest.raises(ConnectionError, match="broker gone"):
        async for _ in merge(endless(), failing()):
            pass

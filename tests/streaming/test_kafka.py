"""Against the session's real Kafka broker: feed → Kafka → bar job → consumers, equal to in process.

The fault tests stop the broker mid-stream (cleanly, or with SIGKILL) and start it again on the same
log folder while the feed keeps publishing: every tick arrives once and the bars are identical.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterable

import pyarrow as pa
import pytest

from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.streaming import (
    Bar,
    BarConfig,
    BarJob,
    BarPipeline,
    DeadLetterReason,
    Message,
    Tick,
    TickFeed,
    Topics,
    decode_bar,
    decode_dead_letter,
    decode_tick,
    replay_ticks,
)
from quanta.testing.services import KafkaBroker
from tests.streaming.conftest import ORIGIN, bars_of

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]

CONFIG = BarConfig(intervals=("1s", "1m"), out_of_orderness_ms=200, allowed_lateness_ms=1000)


@pytest.fixture
def topics() -> Topics:
    return Topics(namespace=f"test-{uuid.uuid4().hex[:8]}.")


async def create_topics(bootstrap: str, topics: Topics, *, partitions: int = 3) -> None:
    names = [topics.ticks, topics.dead_letters, *(topics.bars(i) for i in CONFIG.intervals)]
    await ensure_topics(bootstrap, names, partitions=partitions)


def in_process(ticks: Iterable[Tick]) -> list[Bar]:
    pipeline = BarPipeline(CONFIG)
    return bars_of([o for t in ticks for o in pipeline.process(t)] + pipeline.flush())


async def read(bootstrap: str, topic: str, count: int, *, timeout: float = 60.0) -> list[Message]:
    """Exactly the first ``count`` records of ``topic``, and proof that no more follow within a second."""
    got: list[Message] = []
    async with KafkaTransport(bootstrap).subscribe(topic, from_beginning=True) as subscription:

        async def take(limit: int) -> None:
            async for message in subscription:
                got.append(message)
                if len(got) >= limit:
                    return

        await asyncio.wait_for(take(count), timeout)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(take(count + 1), 1.0)
    return got


async def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def per_series(bars: Iterable[Bar]) -> dict[tuple[str, str], list[Bar]]:
    out: dict[tuple[str, str], list[Bar]] = {}
    for bar in bars:
        out.setdefault((bar.symbol, bar.interval), []).append(bar)
    return out


class Run:
    """A feed and a bar job on their own Kafka clients; ``go`` runs both until every tick is in bars."""

    def __init__(self, bootstrap: str, topics: Topics, *, flush_every: int = 500) -> None:
        self.feed_side = KafkaTransport(bootstrap, client_id="test-feed")
        self.job_side = KafkaTransport(bootstrap, client_id="test-bars")
        self.feed = TickFeed(self.feed_side, topics=topics, flush_every=flush_every)
        self.job = BarJob(self.job_side, config=CONFIG, topics=topics, group=f"{topics.namespace}bars")

    async def go(self, source: AsyncIterator[Tick] | list[Tick]) -> BarJob:
        try:
            running = asyncio.create_task(self.job.run())
            published = await self.feed.run(source)
            await wait_until(lambda: self.job.processed >= published)
            self.job.stop()
            await running
        finally:
            await self.feed_side.aclose()
            await self.job_side.aclose()
        return self.job


async def run_job_and_feed(
    bootstrap: str, topics: Topics, source: AsyncIterator[Tick] | list[Tick]
) -> BarJob:
    return await Run(bootstrap, topics).go(source)


async def check_topics(bootstrap: str, topics: Topics, ticks: list[Tick], expected: list[Bar]) -> None:
    """The ticks topic holds every tick once; each bar topic holds exactly the in-process bars."""
    stored = [decode_tick(m.value) for m in await read(bootstrap, topics.ticks, len(ticks))]
    assert sorted(stored, key=lambda t: (t.symbol, t.seq)) == sorted(ticks, key=lambda t: (t.symbol, t.seq))
    for interval in CONFIG.intervals:
        wanted = [b for b in expected if b.interval == interval]
        got = [decode_bar(m.value) for m in await read(bootstrap, topics.bars(interval), len(wanted))]
        assert per_series(got) == per_series(wanted)


async def test_bars_through_kafka_equal_the_in_process_run(
    kafka_bootstrap: str, topics: Topics, two_symbols: pa.Table
) -> None:
    ticks = list(replay_ticks(two_symbols, seed=4, origin_ms=ORIGIN))
    await create_topics(kafka_bootstrap, topics)
    job = await run_job_and_feed(kafka_bootstrap, topics, ticks)
    expected = in_process(ticks)
    assert (job.processed, job.bars, job.dead_letters) == (len(ticks), len(expected), 0)
    await check_topics(kafka_bootstrap, topics, ticks, expected)


async def test_bad_records_in_kafka_go_to_the_dead_letter_topic(kafka_bootstrap: str, topics: Topics) -> None:
    await create_topics(kafka_bootstrap, topics, partitions=1)
    async with KafkaTransport(kafka_bootstrap) as transport:
        for value in (b"\x00garbage", b'{"v":2,"s":"GOOG"}'):
            await transport.publish(topics.ticks, "GOOG", value)
        await transport.flush()
    job = await run_job_and_feed(
        kafka_bootstrap,
        topics,
        [Tick("GOOG", ORIGIN, 10.0, 1.0, 0), Tick("GOOG", ORIGIN + 5000, 11.0, 1.0, 1)],
    )
    letters = [decode_dead_letter(m.value) for m in await read(kafka_bootstrap, topics.dead_letters, 2)]
    assert [(x.reason, x.payload, x.key) for x in letters] == [
        (DeadLetterReason.MALFORMED, b"\x00garbage", "GOOG"),
        (DeadLetterReason.UNSUPPORTED_VERSION, b'{"v":2,"s":"GOOG"}', "GOOG"),
    ]
    assert (job.processed, job.dead_letters) == (4, 2)


async def slowly(
    ticks: list[Tick], *, every: int = 100, pause: float = 0.02, hold: asyncio.Event | None = None
) -> AsyncIterator[Tick]:
    """The ticks, paced; with ``hold``, the second half waits until it is set (the broker is down)."""
    for index, tick in enumerate(ticks):
        if index % every == 0:
            await asyncio.sleep(pause)
        if hold is not None and index == len(ticks) // 2:
            await hold.wait()
        yield tick


@pytest.mark.slow
@pytest.mark.parametrize("crash", [False, True], ids=["clean-stop", "sigkill"])
async def test_broker_restart_mid_stream_loses_and_duplicates_nothing(
    kafka_broker: KafkaBroker, kafka_bootstrap: str, topics: Topics, two_symbols: pa.Table, crash: bool
) -> None:
    ticks = list(replay_ticks(two_symbols, seed=9, origin_ms=ORIGIN))
    await create_topics(kafka_bootstrap, topics)
    # The feed waits for acknowledgements only at the end, so it keeps publishing through the outage.
    run = Run(kafka_bootstrap, topics, flush_every=len(ticks) + 1)
    seen_at: dict[str, int] = {}
    broker_down = asyncio.Event()  # a slow clean stop on a loaded machine must not outlast the feed

    async def fault() -> None:
        await wait_until(lambda: run.feed.published >= len(ticks) // 4)
        await asyncio.to_thread(kafka_broker.stop, kill=crash)
        seen_at["down"] = run.feed.published
        broker_down.set()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(kafka_broker.start)
        seen_at["up"] = run.feed.published

    try:
        faulting = asyncio.create_task(fault())
        job = await run.go(slowly(ticks, hold=broker_down))
        await faulting
    finally:
        kafka_broker.start()
    # The broker went away while the feed was publishing, which went on meanwhile.
    assert 0 < seen_at["down"] < seen_at["up"]
    assert seen_at["down"] < len(ticks)
    expected = in_process(ticks)
    assert (job.processed, job.bars, job.dead_letters) == (len(ticks), len(expected), 0)
    await check_topics(kafka_bootstrap, topics, ticks, expected)


async def test_publish_many_picks_the_partitions_and_order_that_publish_does(
    kafka_bootstrap: str, topics: Topics
) -> None:
    await ensure_topics(kafka_bootstrap, [topics.ticks, topics.dead_letters], partitions=3)
    keys = [f"K{i}" for i in range(12)]
    async with KafkaTransport(kafka_bootstrap) as transport:
        for index, key in enumerate(keys):
            await transport.publish(topics.ticks, key, b"one %d" % index, timestamp_ms=ORIGIN)
        records = [(key, b"many %d" % index, ORIGIN) for index, key in enumerate(keys * 3)]
        await transport.publish_many(topics.dead_letters, records)
        await transport.flush()
    one = {m.key: m.partition for m in await read(kafka_bootstrap, topics.ticks, len(keys))}
    many = await read(kafka_bootstrap, topics.dead_letters, len(records))

    assert {m.key: m.partition for m in many} == one
    assert len(set(one.values())) > 1
    for key in keys:
        assert [m.value for m in many if m.key == key] == [v for k, v, _ in records if k == key]

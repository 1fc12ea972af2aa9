"""The streaming jobs, over any :class:`~quanta.streaming.transport.Transport`.

:class:`TickFeed` publishes a source's ticks to ``quanta.ticks``; :class:`BarJob` turns them into
bars (:class:`~quanta.streaming.operators.BarPipeline`) on ``quanta.bars.<interval>`` and dead
letters on ``quanta.ticks.dlq``. :class:`EmbeddedMarket` runs both on an in-process bus — the live
market with no server. ``pipelines.feed`` and ``pipelines.bars`` run the same jobs over Kafka.

Delivery: the job commits its consumer offsets only after the bars and dead letters of the
committed ticks are stored (``transport.flush()``), and skips records it has already processed
(same partition, offset not beyond the last one) when a broker outage makes the group hand them out
again. With the idempotent producer this gives every tick exactly once into the bars for as long as
the job runs; its window state lives in memory, so a crashed job restarts with empty windows.

Forming bars: every ``forming_every`` seconds the bar job also publishes the windows still open
(:meth:`~quanta.streaming.operators.BarPipeline.forming`) to ``quanta.bars.<interval>.forming``, best
effort and outside the commit protocol, so charts move with the ticks instead of a window (plus the
out-of-orderness wait) later. ``forming_only=True`` publishes nothing else: next to the Flink bars job,
which emits each window once, at its close.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from types import TracebackType
from typing import Self

from quanta.aio import cancel_and_wait
from quanta.streaming.bus import InProcessBus
from quanta.streaming.events import Bar, DeadLetter, DeadLetterReason, Tick
from quanta.streaming.operators import BarConfig, BarPipeline, Output
from quanta.streaming.schema import encode_bar, encode_dead_letter, encode_tick
from quanta.streaming.sources import ExchangeAdapter
from quanta.streaming.transport import Message, Subscription, Topics, Transport

log = logging.getLogger(__name__)

DEFAULT_GROUP = "quanta-bars"
_CHUNK = 4096


class TickFeed:
    """Publishes ticks to the ticks topic, keyed by symbol, with the event time as record time."""

    def __init__(
        self, transport: Transport, *, topics: Topics | None = None, flush_every: int = 20_000
    ) -> None:
        self.transport = transport
        self.topic = (topics or Topics()).ticks
        self.flush_every = flush_every
        self.published = 0

    async def run(self, ticks: ExchangeAdapter | AsyncIterable[Tick] | Iterable[Tick]) -> int:
        """Publish every tick; return how many (all stored once this returns).

        A plain iterable (a replay as fast as possible) goes out in chunks through ``publish_many``;
        a paced source tick by tick, so that no tick waits for the next one.
        """
        if isinstance(ticks, Iterable) and not isinstance(ticks, ExchangeAdapter):
            await self._run_chunked(iter(ticks))
        else:
            async for tick in _ticks(ticks):
                await self.transport.publish(self.topic, tick.symbol, encode_tick(tick), timestamp_ms=tick.ts)
                self.published += 1
                if self.published % self.flush_every == 0:
                    await self.transport.flush()
        await self.transport.flush()
        return self.published

    async def _run_chunked(self, ticks: Iterator[Tick]) -> None:
        while chunk := list(itertools.islice(ticks, _CHUNK)):
            await self.transport.publish_many(self.topic, [(t.symbol, encode_tick(t), t.ts) for t in chunk])
            before, self.published = self.published, self.published + len(chunk)
            if before // self.flush_every != self.published // self.flush_every:
                await self.transport.flush()
            await asyncio.sleep(0)


async def _ticks(source: ExchangeAdapter | AsyncIterable[Tick] | Iterable[Tick]) -> AsyncIterator[Tick]:
    if isinstance(source, ExchangeAdapter):
        async for tick in source.stream():
            yield tick
    elif isinstance(source, AsyncIterable):
        async for tick in source:
            yield tick
    else:
        for count, tick in enumerate(source):
            if count % 512 == 0:
                await asyncio.sleep(0)
            yield tick


class BarJob:
    """Ticks topic in, bar topics and the dead-letter topic out (see the module docstring)."""

    def __init__(
        self,
        transport: Transport,
        *,
        config: BarConfig | None = None,
        topics: Topics | None = None,
        group: str = DEFAULT_GROUP,
        commit_every: int = 20_000,
        commit_seconds: float = 1.0,
        forming_every: float | None = 0.1,
        forming_only: bool = False,
    ) -> None:
        if forming_only and not forming_every:
            msg = "forming_only needs forming_every (seconds between forming bars)"
            raise ValueError(msg)
        self.transport = transport
        self.pipeline = BarPipeline(config)
        self.topics = topics or Topics()
        self.group = group
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self.forming_every = forming_every
        self.forming_only = forming_only
        self.processed = 0  # tick records taken in, dead letters included
        self.bars = 0
        self.forming_bars = 0
        self.dead_letters = 0
        self.redelivered = 0
        self._subscription: Subscription | None = None
        self._stopping = False
        self._done: dict[tuple[str, int], int] = {}  # last processed offset per partition

    def stop(self) -> None:
        """Finish after the current record: flush the open windows, publish, commit, return."""
        self._stopping = True
        if self._subscription is not None:
            self._subscription.stop()

    async def run(self) -> None:
        """Process ticks until the subscription ends or :meth:`stop` is called."""
        subscription = self.transport.subscribe(self.topics.ticks, group=self.group, from_beginning=True)
        async with subscription, self._forming_publisher():
            self._subscription = subscription
            if self._stopping:
                subscription.stop()
            uncommitted, last_commit = 0, time.monotonic()
            async for message in subscription:
                if self._seen(message):
                    continue
                outputs = self._process(message)
                if outputs and not self.forming_only:  # most ticks close no window: no coroutine for nothing
                    await self._emit(outputs)
                self.processed += 1
                uncommitted += 1
                if uncommitted >= self.commit_every or time.monotonic() - last_commit > self.commit_seconds:
                    await self._commit(subscription)
                    uncommitted, last_commit = 0, time.monotonic()
            if not self.forming_only:
                await self._emit(self.pipeline.flush())
            await self._commit(subscription)

    @contextlib.asynccontextmanager
    async def _forming_publisher(self) -> AsyncIterator[None]:
        if not self.forming_every:
            yield
            return
        task = asyncio.create_task(self._publish_forming(self.forming_every), name="quanta-forming-bars")
        try:
            yield
        finally:
            await cancel_and_wait(task)

    async def _publish_forming(self, every: float) -> None:
        """Best effort: a failed publish is logged and the next round goes on (charts catch up)."""
        failing = False
        while True:
            await asyncio.sleep(every)
            try:
                for bar in self.pipeline.forming():
                    topic = self.topics.forming(bar.interval)
                    await self.transport.publish(topic, bar.symbol, encode_bar(bar), timestamp_ms=bar.start)
                    self.forming_bars += 1
            except Exception as exc:
                if not failing:
                    log.warning("publishing forming bars failed (will keep trying): %s", exc)
                failing = True
            else:
                failing = False

    def _seen(self, message: Message) -> bool:
        if message.offset < 0:
            return False
        where = (message.topic, message.partition)
        if message.offset <= self._done.get(where, -1):
            self.redelivered += 1
            return True
        self._done[where] = message.offset
        return False

    def _process(self, message: Message) -> list[Output]:
        try:
            return self.pipeline.process_record(message.value, message.key)
        except Exception as exc:  # a bug must not stop the market: park the record with the reason
            log.exception("tick record %s:%s failed", message.partition, message.offset)
            return [
                DeadLetter(DeadLetterReason.ERROR, f"{type(exc).__name__}: {exc}", message.value, message.key)
            ]

    async def _emit(self, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, Bar):
                await self.transport.publish(
                    self.topics.bars(out.interval), out.symbol, encode_bar(out), timestamp_ms=out.start
                )
                self.bars += 1
            else:
                await self.transport.publish(self.topics.dead_letters, out.key, encode_dead_letter(out))
                self.dead_letters += 1

    async def _commit(self, subscription: Subscription) -> None:
        await self.transport.flush()
        await subscription.commit()


class EmbeddedMarket:
    """A live market in this process: ``source`` → :class:`TickFeed` → :class:`BarJob` on a bus.

    ``async with EmbeddedMarket(source) as market:`` then subscribe to
    ``market.topics.bars("1s")`` on ``market.bus``; leaving the block stops both jobs.
    """

    def __init__(
        self,
        source: ExchangeAdapter | Iterable[Tick],
        *,
        config: BarConfig | None = None,
        topics: Topics | None = None,
        bus: InProcessBus | None = None,
    ) -> None:
        self.source = source
        self.bus = bus or InProcessBus()
        self.topics = topics or Topics()
        self.feed = TickFeed(self.bus, topics=self.topics)
        self.job = BarJob(self.bus, config=config, topics=self.topics)
        self._tasks: list[asyncio.Task[object]] = []

    async def __aenter__(self) -> Self:
        self._tasks = [
            asyncio.create_task(self.job.run(), name="quanta-bars"),
            asyncio.create_task(self.feed.run(self.source), name="quanta-feed"),
        ]
        await asyncio.sleep(0)  # let the job subscribe before the first tick
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def wait(self) -> None:
        """Until a finite source ends and all its ticks are in bars; then close the bus."""
        await self._tasks[1]
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the feed, let the job read what was published and flush its windows, close the bus."""
        job, feed = self._tasks
        if isinstance(self.source, ExchangeAdapter):
            await self.source.aclose()
        feed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feed
        self.bus.end_topic(self.topics.ticks)
        await job
        self.bus.close()

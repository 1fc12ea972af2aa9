"""The transport interface: publish keyed records to topics, subscribe to a topic's records.

Two implementations carry bytes with the same semantics: :class:`quanta.streaming.bus.InProcessBus`
(asyncio, the embedded default) and ``pipelines.kafka.KafkaTransport`` (aiokafka, when
``QUANTA_KAFKA_BOOTSTRAP`` is set). The jobs in :mod:`quanta.streaming.jobs` see only this interface.

Records with the same key keep their order. A subscription is an async iterator of
:class:`Message`; ``commit()`` marks every message it returned so far as processed (Kafka commits the
consumer group's offsets; the bus has nothing to remember) and ``stop()`` ends the iteration after
the current message, so a job can flush before it closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self, TypeVar

from quanta.aio import cancel_and_wait

T = TypeVar("T")

Record = tuple[str | None, bytes, int | None]
"""``(key, value, timestamp_ms)`` of a record to publish."""


@dataclass(frozen=True, slots=True)
class Message:
    """One record as a subscriber receives it."""

    topic: str
    key: str | None
    value: bytes
    timestamp_ms: int | None = None
    partition: int = 0
    offset: int = -1


class Subscription(Protocol):
    """Records of one topic, in order per partition (per key)."""

    def __aiter__(self) -> Self: ...

    async def __anext__(self) -> Message: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None:
        """Everything returned so far is processed (a consumer group resumes after it)."""
        ...

    def stop(self) -> None:
        """End the iteration after the current message."""
        ...


class Transport(Protocol):
    """Keyed records in, subscriptions out."""

    async def publish(
        self, topic: str, key: str | None, value: bytes, *, timestamp_ms: int | None = None
    ) -> None:
        """Send a record (it may be buffered until :meth:`flush`)."""
        ...

    async def publish_many(self, topic: str, records: Sequence[Record]) -> None:
        """Send ``(key, value, timestamp_ms)`` records in this order, as :meth:`publish` one by one would
        (same partitions, same order per key), at a lower cost per record."""
        ...

    async def flush(self) -> None:
        """Wait until every record published so far is stored; raise if one could not be."""
        ...

    def subscribe(
        self, topic: str, *, group: str | None = None, from_beginning: bool = False
    ) -> Subscription:
        """A subscription to ``topic``: from the first retained record, or from now on."""
        ...


@dataclass(frozen=True, kw_only=True)
class Topics:
    """Topic names; ``namespace`` prefixes them all (tests use one per test)."""

    namespace: str = ""

    @property
    def ticks(self) -> str:
        """Ticks from the feed, keyed by symbol."""
        return f"{self.namespace}quanta.ticks"

    @property
    def dead_letters(self) -> str:
        """Tick records that were malformed, of an unknown version or too late, with the reason."""
        return f"{self.namespace}quanta.ticks.dlq"

    def bars(self, interval: str) -> str:
        """Bars of one interval (``quanta.bars.1s``, ``quanta.bars.1m``), keyed by symbol."""
        return f"{self.namespace}quanta.bars.{interval}"

    def forming(self, interval: str) -> str:
        """Provisional bars of the windows still open (``quanta.bars.1s.forming``), keyed by symbol:
        best effort, for charts — never an input to trading or scores."""
        return f"{self.namespace}quanta.bars.{interval}.forming"

    @property
    def orders(self) -> str:
        """Paper-trading orders from deployments' runners, keyed by account (``quanta.paper.events``)."""
        return f"{self.namespace}quanta.orders"

    @property
    def fills(self) -> str:
        """Fills of paper orders by the simulated broker, keyed by account."""
        return f"{self.namespace}quanta.fills"

    @property
    def scores(self) -> str:
        """Competition entries' scores, keyed by competition."""
        return f"{self.namespace}quanta.scores"


async def merge(*sources: AsyncIterable[T]) -> AsyncGenerator[T]:
    """The items of every source as they come (each source's in its order); ends when all have ended,
    raises the first failure of one. For a few hundred items a second (bar topics), not for ticks."""
    queue: asyncio.Queue[T] = asyncio.Queue(maxsize=1024)

    async def drain(source: AsyncIterable[T]) -> None:
        async for item in source:
            await queue.put(item)

    pending = {asyncio.create_task(drain(source)) for source in sources}
    try:
        while pending or not queue.empty():
            if not queue.empty():
                yield queue.get_nowait()
                continue
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({getter, *pending}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
            else:
                await cancel_and_wait(getter)  # a cancelled get leaves its item in the queue
            for task in done - {getter}:
                pending.discard(task)
                task.result()  # a failed source fails the merge
    finally:
        await cancel_and_wait(*pending)

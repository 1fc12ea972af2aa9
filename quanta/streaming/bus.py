"""The in-process transport: asyncio queues with the interface of the Kafka transport.

Each topic keeps its last ``retain`` records, so a subscriber that asks ``from_beginning`` (a page
opening late, say) first gets that history. Every subscriber gets every record (the ``group`` of a
subscription is accepted and ignored). A subscriber's queue holds at most ``max_pending`` records;
a publisher waits while one is full, so a fast feed is held back rather than lost.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from quanta.streaming.transport import Message, Record


@dataclass
class _Topic:
    history: deque[Message]
    subscribers: list[BusSubscription] = field(default_factory=list)
    next_offset: int = 0


class InProcessBus:
    """Publish/subscribe inside one process (see the module docstring)."""

    def __init__(self, *, retain: int = 10_000, max_pending: int = 10_000) -> None:
        self.retain = retain
        self.max_pending = max_pending
        self._topics: dict[str, _Topic] = {}
        self._closed = False

    async def publish(
        self, topic: str, key: str | None, value: bytes, *, timestamp_ms: int | None = None
    ) -> None:
        """Deliver a record to every current subscriber of ``topic``, waiting while one is full."""
        if self._closed:
            msg = "the bus is closed"
            raise RuntimeError(msg)
        state = self._topic(topic)
        message = Message(topic, key, value, timestamp_ms, 0, state.next_offset)
        state.next_offset += 1
        state.history.append(message)
        for subscriber in list(state.subscribers):
            await subscriber.deliver(message)

    async def publish_many(self, topic: str, records: Sequence[Record]) -> None:
        """:meth:`publish` each record in turn."""
        for key, value, timestamp_ms in records:
            await self.publish(topic, key, value, timestamp_ms=timestamp_ms)

    async def flush(self) -> None:
        """Nothing to wait for: publishing delivered the record already."""

    def subscribe(
        self, topic: str, *, group: str | None = None, from_beginning: bool = False
    ) -> BusSubscription:
        """Subscribe now; ``from_beginning`` first replays the retained history."""
        del group  # every subscriber gets every record
        state = self._topic(topic)
        history = list(state.history) if from_beginning else []
        subscription = BusSubscription(self, topic, history, self.max_pending)
        if self._closed:
            subscription.end()
        else:
            state.subscribers.append(subscription)
        return subscription

    def end_topic(self, topic: str) -> None:
        """End the current subscriptions of ``topic`` once they have read what they were sent."""
        state = self._topics.get(topic)
        for subscriber in list(state.subscribers if state else []):
            subscriber.end()

    def close(self) -> None:
        """End every subscription once it has read what it was sent; no more publishing."""
        self._closed = True
        for topic in list(self._topics):
            self.end_topic(topic)

    def _topic(self, topic: str) -> _Topic:
        state = self._topics.get(topic)
        if state is None:
            state = self._topics[topic] = _Topic(deque(maxlen=self.retain))
        return state

    def _unsubscribe(self, subscription: BusSubscription) -> None:
        state = self._topics.get(subscription.topic)
        if state is not None and subscription in state.subscribers:
            state.subscribers.remove(subscription)


class BusSubscription:
    """An async iterator over one topic's records on an :class:`InProcessBus`."""

    def __init__(self, bus: InProcessBus, topic: str, history: Sequence[Message], max_pending: int) -> None:
        self.topic = topic
        self._queue: asyncio.Queue[Message] = asyncio.Queue(max(max_pending, 1) + len(history))
        for message in history:
            self._queue.put_nowait(message)
        self._bus = bus
        self._ended = False
        self._wakeup = asyncio.Event()

    @property
    def pending(self) -> int:
        """Records delivered and not read yet."""
        return self._queue.qsize()

    async def deliver(self, message: Message) -> None:
        """Queue a record for this subscriber, waiting while its queue is full (the bus calls this)."""
        if not self._ended:
            await self._queue.put(message)
            self._wakeup.set()

    def end(self) -> None:
        """No more records will come: the iteration ends after the queued ones."""
        self._ended = True
        self._bus._unsubscribe(self)
        self._wakeup.set()

    def stop(self) -> None:
        """End the iteration after the current message; queued records are dropped."""
        self.end()
        while not self._queue.empty():
            self._queue.get_nowait()

    async def commit(self) -> None:
        """Nothing to remember in process."""

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        while self._queue.empty():
            if self._ended:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._queue.get_nowait()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

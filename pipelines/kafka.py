"""The Kafka transport: :class:`quanta.streaming.Transport` over aiokafka.

The producer is idempotent with ``acks=all``: a record the broker did not acknowledge is sent
again, and the broker drops the copy if the first attempt did land, so retries through a broker
outage neither lose nor duplicate records. Records carry the key (a symbol) and the event time.
A subscription is a consumer-group member without auto-commit: offsets move only when the job calls
``commit()`` after it has stored what the records produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner

from quanta.streaming import Message
from quanta.streaming.transport import Record

log = logging.getLogger(__name__)

_POLL_MS = 200
DEFAULT_PARTITIONS = 3
"""Partitions of the topics the jobs and the app create (ticks, bars, forming bars, dead letters)."""


class KafkaTransport:
    """Publish and subscribe through a Kafka cluster at ``bootstrap`` (``host:port[,host:port]``)."""

    def __init__(self, bootstrap: str, *, client_id: str = "quanta", linger_ms: int = 5) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self._linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._failure: BaseException | None = None

    async def start(self) -> None:
        """Connect the producer (subscribing alone needs no producer)."""
        if self._producer is None:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                enable_idempotence=True,
                acks="all",
                linger_ms=self._linger_ms,
                max_batch_size=256 * 1024,
                request_timeout_ms=60_000,
                retry_backoff_ms=200,
            )
            await self._producer.start()

    async def aclose(self) -> None:
        """Send what is buffered and disconnect."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def publish(
        self, topic: str, key: str | None, value: bytes, *, timestamp_ms: int | None = None
    ) -> None:
        """Queue a record; :meth:`flush` waits for its acknowledgement."""
        await self.start()
        assert self._producer is not None
        future = await self._producer.send(
            topic, value=value, key=None if key is None else key.encode(), timestamp_ms=timestamp_ms
        )
        self._track(future)

    async def publish_many(self, topic: str, records: Sequence[Record]) -> None:
        """Queue records as aiokafka batches, one per partition at a time (``send_batch``): the same
        partitions as :meth:`publish` (murmur2 of the key, as aiokafka's default partitioner), the same
        order per key, a fraction of the cost per record. :meth:`flush` waits for them."""
        await self.start()
        assert self._producer is not None
        producer = self._producer
        partitions = sorted(await producer.partitions_for(topic))
        partitioner = DefaultPartitioner()
        batches: dict[int, Any] = {}
        chosen: dict[str, int] = {}  # murmur2 in pure Python costs more than the rest: once per key
        for key, value, timestamp_ms in records:
            raw = None if key is None else key.encode()
            partition = chosen.get(key) if key is not None else None
            if partition is None:
                partition = partitioner(raw, partitions, partitions)
                if key is not None:
                    chosen[key] = partition
            batch = batches.get(partition)
            if batch is None:
                batch = batches[partition] = producer.create_batch()
            if batch.append(key=raw, value=value, timestamp=timestamp_ms) is None:  # full: send it
                self._track(await producer.send_batch(batch, topic, partition=partition))
                batch = batches[partition] = producer.create_batch()
                batch.append(key=raw, value=value, timestamp=timestamp_ms)
        for partition, batch in batches.items():
            self._track(await producer.send_batch(batch, topic, partition=partition))

    async def flush(self) -> None:
        """Wait until every published record is acknowledged; raise the first failure."""
        if self._producer is not None:
            await self._producer.flush()
        if self._pending:
            await asyncio.wait(list(self._pending))
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def subscribe(
        self, topic: str, *, group: str | None = None, from_beginning: bool = False
    ) -> KafkaSubscription:
        """A consumer of ``topic`` in ``group`` (a fresh private consumer without one)."""
        return KafkaSubscription(self.bootstrap, topic, group=group, from_beginning=from_beginning)

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._pending.add(future)
        future.add_done_callback(self._settled)

    def _settled(self, future: asyncio.Future[Any]) -> None:
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None and self._failure is None:
            self._failure = future.exception()


class KafkaSubscription:
    """An async iterator over a topic's records for one consumer (see :class:`KafkaTransport`)."""

    def __init__(self, bootstrap: str, topic: str, *, group: str | None, from_beginning: bool) -> None:
        self.topic = topic
        self.group = group
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            isolation_level="read_committed",
            max_poll_records=2000,
        )
        self._buffer: deque[ConsumerRecord[bytes, bytes]] = deque()
        self._returned: dict[TopicPartition, int] = {}  # next offset to commit per partition
        self._started = False
        self._stopping = False

    async def start(self) -> None:
        """Join the group and wait for partitions, so that "from now on" starts now."""
        if self._started:
            return
        await self._consumer.start()
        self._started = True
        while not self._consumer.assignment():  # polling makes the consumer join its group
            batches = await self._consumer.getmany(timeout_ms=50)
            self._buffer.extend(_interleaved(batches.values()))
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)  # pins "latest" to now

    async def aclose(self) -> None:
        """Leave the group and disconnect (uncommitted records go to the next member)."""
        if self._started:
            self._started = False
            await self._consumer.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        await self.start()
        while not self._buffer:
            if self._stopping:
                raise StopAsyncIteration
            batches = await self._consumer.getmany(timeout_ms=_POLL_MS)
            self._buffer.extend(_interleaved(batches.values()))
        if self._stopping:
            raise StopAsyncIteration
        record = self._buffer.popleft()
        self._returned[TopicPartition(record.topic, record.partition)] = record.offset + 1
        key = None if record.key is None else record.key.decode(errors="replace")
        return Message(
            record.topic, key, record.value or b"", record.timestamp, record.partition, record.offset
        )

    async def commit(self) -> None:
        """Commit the offsets after every record returned so far; retried later if the broker is away."""
        if self.group is None or not self._returned:
            return
        offsets = dict(self._returned)
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:  # the next commit covers these offsets too
            log.warning("offset commit failed, retrying with the next one: %s", exc)

    def stop(self) -> None:
        """End the iteration after the current record."""
        self._stopping = True


def _interleaved(batches: Iterable[list[ConsumerRecord[bytes, bytes]]]) -> list[ConsumerRecord[bytes, bytes]]:
    """One list of every partition's records, each partition's kept in order."""
    out: list[ConsumerRecord[bytes, bytes]] = []
    for records in batches:
        out.extend(records)
    return out


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], *, partitions: int = 1, replicas: int = 1
) -> None:
    """Create the topics that do not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, partitions, replicas) for name in topics if name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was quicker
                await admin.create_topics(missing)
    finally:
        await admin.close()

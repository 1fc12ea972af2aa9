"""Rooms shared between app workers through Redis pub/sub.

Each worker subscribes to every room channel (``quanta:collab:<room>``) once and ignores what it
published itself. A message is ``kind (1 byte) | sender worker (16 bytes) | body``:

``U`` an update a worker applied from its own client; the others apply it (not store it);
``A`` an awareness (presence) update;
``Q`` "I just opened this room, here is my state vector": the others answer with ``R``;
``R`` ``target worker | state vector | update``: the update the target lacks, and what the answering
   worker has seen, so the target can send back (as ``U``) what the answering worker lacks.

Yjs updates commute and applying one twice changes nothing, so every copy converges whatever the order
and however often a message arrives; the ``Q``/``R`` exchange covers what a worker missed before it
subscribed or while Redis was unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol

import redis.asyncio as aioredis
from pycrdt import Decoder, write_message
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CHANNEL_PREFIX: Final = "quanta:collab:"
_ID_BYTES: Final = 16
_RETRY_SECONDS: Final = 1.0
_CONFIRM_SECONDS: Final = 10.0


class Kind(StrEnum):
    """What a relayed message carries."""

    UPDATE = "U"
    AWARENESS = "A"
    QUERY = "Q"
    REPLY = "R"


@dataclass(frozen=True, kw_only=True)
class Relayed:
    """A decoded relay message."""

    kind: Kind
    sender: bytes
    body: bytes


def encode(kind: Kind, sender: bytes, body: bytes) -> bytes:
    """The bytes published for a message."""
    return kind.encode() + sender + body


def decode(data: bytes) -> Relayed:
    """The message of published bytes; ``ValueError`` if they are not one."""
    kind = Kind(data[:1].decode())
    return Relayed(kind=kind, sender=data[1 : 1 + _ID_BYTES], body=data[1 + _ID_BYTES :])


def reply_body(target: bytes, state_vector: bytes, update: bytes) -> bytes:
    """The body of an ``R`` message."""
    return target + write_message(state_vector) + write_message(update)


def read_reply(body: bytes) -> tuple[bytes, bytes, bytes]:
    """``(target, state vector, update)`` of an ``R`` body."""
    decoder = Decoder(body[_ID_BYTES:])
    state_vector, update = decoder.read_message(), decoder.read_message()
    if state_vector is None or update is None:
        msg = "a relay reply without its state vector or update"
        raise ValueError(msg)
    return body[:_ID_BYTES], state_vector, update


Deliver = Callable[[str, Relayed], None]
"""Called on the event loop with each message another worker published: ``(room, message)``."""


class Relay(Protocol):
    """How a worker's rooms reach the same rooms in other workers."""

    worker_id: bytes

    async def start(self, deliver: Deliver, on_resubscribe: Callable[[], None]) -> None:
        """Subscribe; return once messages published from now on will be delivered."""

    def publish(self, room: str, kind: Kind, body: bytes) -> None:
        """Publish without waiting (in order, in the background)."""

    async def close(self) -> None:
        """Publish what is queued, then unsubscribe and disconnect."""


class RedisRelay:
    """The relay on Redis pub/sub (``QUANTA_REDIS_URL``)."""

    def __init__(self, url: str) -> None:
        self.worker_id = uuid.uuid4().bytes
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url)
        self._outbox: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, deliver: Deliver, on_resubscribe: Callable[[], None]) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
        await asyncio.wait_for(_confirmed(pubsub), timeout=_CONFIRM_SECONDS)
        self._tasks = [
            asyncio.create_task(self._listen(pubsub, deliver, on_resubscribe), name="collab-relay-listen"),
            asyncio.create_task(self._publish_queued(), name="collab-relay-publish"),
        ]

    def publish(self, room: str, kind: Kind, body: bytes) -> None:
        self._outbox.put_nowait((CHANNEL_PREFIX + room, encode(kind, self.worker_id, body)))

    async def close(self) -> None:
        self._outbox.put_nowait(None)
        if self._tasks:
            listen, publisher = self._tasks
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(publisher, timeout=5.0)
            listen.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listen
        await self._redis.aclose()

    async def _publish_queued(self) -> None:
        while (first := await self._outbox.get()) is not None:
            batch, done = [first], False
            while not self._outbox.empty() and not done:
                item = self._outbox.get_nowait()
                done = item is None
                if item is not None:
                    batch.append(item)
            await self._publish_batch(batch)
            if done:
                return

    async def _publish_batch(self, batch: list[tuple[str, bytes]]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel, data in batch:
                    pipe.publish(channel, data)
                await pipe.execute()
        except RedisError:  # the Q/R exchange after Redis is back covers what other workers missed
            logger.exception("publishing %d collaboration messages to Redis failed", len(batch))

    async def _listen(self, pubsub: Any, deliver: Deliver, on_resubscribe: Callable[[], None]) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=None)
            except RedisError:
                logger.warning("the collaboration relay lost Redis; retrying", exc_info=True)
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            if message is None:
                continue
            if message["type"] == "psubscribe":  # subscribed again after a reconnect
                on_resubscribe()
            elif message["type"] == "pmessage":
                self._dispatch(message, deliver)

    def _dispatch(self, message: dict[str, Any], deliver: Deliver) -> None:
        try:
            relayed = decode(message["data"])
        except ValueError:
            logger.warning("ignored a malformed collaboration relay message")
            return
        if relayed.sender == self.worker_id:
            return
        room = message["channel"].decode().removeprefix(CHANNEL_PREFIX)
        try:
            deliver(room, relayed)
        except Exception:  # one bad message must not stop the relay
            logger.exception("applying a relayed %s message to room %s failed", relayed.kind.name, room)


async def _confirmed(pubsub: Any) -> None:
    """Wait until Redis confirms the subscription (from then on, publications reach us)."""
    while (await pubsub.get_message(timeout=1.0) or {}).get("type") != "psubscribe":
        pass

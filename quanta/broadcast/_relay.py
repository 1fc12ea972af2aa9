"""Several app workers, one numbering: topics shared through Redis.

A worker's ``Hub.publish`` runs one Lua script on Redis that, atomically,

1. reads the topic's epoch (creating one if Redis has none: a fresh or flushed Redis starts a new
   epoch, so old sequence numbers can never be mistaken for new ones),
2. ``INCR``s the topic's sequence number,
3. appends the message to the topic's log (a list capped at ``history`` entries) and
4. ``PUBLISH``es it on one channel that every worker's relay listens to.

Redis runs scripts one at a time, so the channel carries each topic's messages in sequence order,
and every worker — the publishing one too — delivers exactly what the others deliver, with the same
numbers. A relay that sees a number skipped (its pub/sub connection dropped, say) reads the log and
fills the gap before it goes on; if the log no longer reaches back that far, the hub empties its ring
and sends its subscribers back for a snapshot rather than let them miss a message. A topic declared
on a worker starts from the log too, so a worker that starts late resumes clients like the others.

A relayed message is ``epoch \\n topic \\n seq \\n data-json`` (topic names hold no newline).

:class:`RedisLease` lets one worker at a time run something (the market feed): the others stand by
and take over within ``ttl`` seconds when the holder goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from quanta.broadcast._hub import Hub

log = logging.getLogger(__name__)

PREFIX: Final = "quanta:broadcast:"
_RETRY_SECONDS: Final = 1.0
_PING_SECONDS: Final = 10.0

_EPOCH = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1], KEYS[3])
end
return epoch
"""

_PUBLISH = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1], KEYS[3])
end
local seq = redis.call('INCR', KEYS[1])
local message = epoch .. '\\n' .. ARGV[1] .. '\\n' .. seq .. '\\n' .. ARGV[2]
redis.call('RPUSH', KEYS[3], message)
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
redis.call('PUBLISH', ARGV[5], message)
return seq
"""


_RESTART = """
redis.call('SET', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('PUBLISH', ARGV[3], ARGV[1] .. '\\n' .. ARGV[2])
"""


@dataclass(frozen=True, slots=True)
class Relayed:
    """One message as the relay carries it."""

    epoch: str
    topic: str
    seq: int
    data_json: str


def encode(message: Relayed) -> bytes:
    """The bytes of a relayed message (what the Lua script builds)."""
    return f"{message.epoch}\n{message.topic}\n{message.seq}\n{message.data_json}".encode()


def decode(raw: bytes) -> Relayed:
    """A relayed message from its bytes; ``ValueError`` if they are not one."""
    epoch, topic, seq, data_json = raw.decode().split("\n", 3)
    return Relayed(epoch, topic, int(seq), data_json)


class RedisRelay:
    """Shares a hub's topics with the other workers' hubs through Redis at ``url``.

    ``Hub(relay=RedisRelay(url))``; ``async with hub.running():`` runs it. ``prefix`` names the keys
    and the channel (tests use one prefix each); ``history`` is how many messages each topic's log
    keeps in Redis for workers that catch up.
    """

    def __init__(self, url: str, *, prefix: str = PREFIX, history: int = 1024) -> None:
        self.url = url
        self.prefix = prefix
        self.history = history
        self.channel = f"{prefix}messages"
        self.restarts = f"{prefix}restarts"
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url, socket_keepalive=True)
        self._script = self._redis.register_script(_PUBLISH)
        self._epoch = self._redis.register_script(_EPOCH)
        self._restart = self._redis.register_script(_RESTART)
        self._hub: Hub | None = None
        self._loading: dict[str, asyncio.Task[None]] = {}
        self.connected = asyncio.Event()

    def keys(self, topic: str) -> tuple[str, str, str]:
        """The topic's sequence, epoch and log keys."""
        return f"{self.prefix}{topic}:seq", f"{self.prefix}{topic}:epoch", f"{self.prefix}{topic}:log"

    async def publish(self, topic: str, data_json: str) -> int:
        """Number the message in Redis and send it to every worker; its sequence number."""
        args: list[str | int] = [topic, data_json, secrets.token_hex(8), self.history, self.channel]
        seq = await self._script(keys=list(self.keys(topic)), args=args)
        return int(seq)

    async def restart(self, topic: str) -> None:
        """A new epoch for ``topic`` in Redis (its log emptied), announced to every worker, whose hub
        adopts it: their subscribers of the topic are sent back to subscribe again."""
        args = [secrets.token_hex(8), topic, self.restarts]
        await self._restart(keys=list(self.keys(topic)), args=args)

    def watch(self, topic: str) -> None:
        """Load the topic's log into the hub (now if the relay runs, else when it starts)."""
        if self._hub is not None and topic not in self._loading:
            self._loading[topic] = asyncio.create_task(self._load_later(topic), name=f"broadcast-{topic}")

    async def run(self, hub: Hub) -> None:
        """Deliver every worker's messages into ``hub`` until cancelled; reconnect after failures."""
        self._hub = hub
        try:
            while True:
                try:
                    await self._listen(hub)
                except (RedisError, OSError) as exc:
                    self.connected.clear()
                    log.warning("broadcast relay lost Redis (%s); retrying in %.0f s", exc, _RETRY_SECONDS)
                    for topic in hub.topics:  # subscriptions may start; they resync when Redis is back
                        hub.mark_ready(topic)
                    await asyncio.sleep(_RETRY_SECONDS)
        finally:
            self._hub = None
            for task in self._loading.values():
                task.cancel()
            self._loading.clear()

    async def aclose(self) -> None:
        """Close the Redis connections."""
        await self._redis.aclose()

    async def _listen(self, hub: Hub) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self.channel, self.restarts)
            for topic in hub.topics:  # what was published while this worker was not listening
                await self._load(topic)
            self.connected.set()
            quiet_since = time.monotonic()
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None or message.get("type") != "message":
                    if time.monotonic() - quiet_since > _PING_SECONDS:
                        await pubsub.ping()  # a dead connection fails here instead of staying silent
                        quiet_since = time.monotonic()
                    continue
                quiet_since = time.monotonic()
                if message.get("channel") in (self.restarts, self.restarts.encode()):
                    self._adopt_restart(hub, message["data"])
                else:
                    await self._take(hub, message["data"])
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    @staticmethod
    def _adopt_restart(hub: Hub, raw: bytes) -> None:
        epoch, _, topic = raw.decode().partition("\n")
        if hub.declared(topic):
            hub.adopt_epoch(topic, epoch)

    async def _take(self, hub: Hub, raw: bytes) -> None:
        try:
            message = decode(raw)
        except ValueError:
            log.warning("broadcast relay ignored a malformed message: %r", raw[:200])
            return
        topic = message.topic
        if not hub.declared(topic) or not hub.ready(topic):
            return  # not followed here, or its load (which reads the log) is under way
        if message.epoch != hub.epoch(topic) or message.seq > hub.last_seq(topic) + 1:
            await self._load(topic)  # a gap or a new epoch: the log has what this worker missed
        hub.accept(topic, epoch=message.epoch, seq=message.seq, data_json=message.data_json)

    async def _load_later(self, topic: str) -> None:
        try:
            await self._load(topic)
        except (RedisError, OSError) as exc:  # the listener reloads every topic when it reconnects
            log.warning("broadcast relay could not load %s (%s)", topic, exc)
        finally:
            self._loading.pop(topic, None)

    async def _load(self, topic: str) -> None:
        """Deliver the topic's logged messages that the hub does not have yet; then it is ready."""
        hub = self._hub
        if hub is None:
            return
        try:
            keys = list(self.keys(topic))
            epoch = await self._epoch(keys=keys, args=[secrets.token_hex(8)])
            hub.adopt_epoch(topic, epoch.decode())
            entries = await cast("Awaitable[list[bytes]]", self._redis.lrange(keys[2], 0, -1))
            for raw in entries:
                message = decode(raw)
                hub.accept(topic, epoch=message.epoch, seq=message.seq, data_json=message.data_json)
        finally:
            hub.mark_ready(topic)


class RedisLease:
    """At most one holder at a time of the lease ``name`` in Redis, renewed while it works.

    ``await lease.run(work)`` waits for the lease, runs ``work()`` while holding it, and cancels the
    work if the lease is lost (Redis unreachable, or expired while this process stalled); then it
    waits for the lease again. It returns only if the work returns.
    """

    _RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
    _RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

    def __init__(self, url: str, name: str, *, ttl: float = 10.0, prefix: str = PREFIX) -> None:
        self.key = f"{prefix}lease:{name}"
        self.ttl = ttl
        self.holder = secrets.token_hex(8)
        self.held = False
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url, socket_keepalive=True)
        self._renew = self._redis.register_script(self._RENEW)
        self._release = self._redis.register_script(self._RELEASE)

    async def run(self, work: Callable[[], Awaitable[Any]]) -> None:
        """Run ``work`` whenever this process holds the lease (see the class docstring)."""
        try:
            while True:
                if not await self._call(self._acquire):
                    await asyncio.sleep(self.ttl / 3)
                    continue
                self.held = True
                log.info("lease %s taken by %s", self.key, self.holder)
                if await self._work_while_held(work):
                    return
                self.held = False
        finally:
            self.held = False
            with contextlib.suppress(RedisError, OSError):
                await self._release(keys=[self.key], args=[self.holder])
            await self._redis.aclose()

    async def _work_while_held(self, work: Callable[[], Awaitable[Any]]) -> bool:
        """Work until the work ends (True) or the lease is lost (False)."""
        task = asyncio.ensure_future(work())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.ttl / 3)
                if done:
                    task.result()
                    return True
                if not await self._call(self._extend):
                    log.warning("lease %s lost; stopping its work", self.key)
                    return False
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _acquire(self) -> bool:
        return bool(await self._redis.set(self.key, self.holder, nx=True, px=int(self.ttl * 1000)))

    async def _extend(self) -> bool:
        return bool(await self._renew(keys=[self.key], args=[self.holder, int(self.ttl * 1000)]))

    async def _call(self, step: Callable[[], Awaitable[bool]]) -> bool:
        try:
            return await step()
        except (RedisError, OSError) as exc:
            log.warning("lease %s: Redis failed (%s)", self.key, exc)
            return False

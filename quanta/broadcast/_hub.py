"""The hub: topics with sequence numbers, a ring of recent frames for resume, snapshots, fan-out.

One :class:`Hub` per process. ``publish`` encodes a message once into a frame (a ``str``) and offers
that same object to every subscriber's :class:`Outbox`; nothing waits on a subscriber, so a slow one
never holds back the others. An outbox that is full refuses the frame: that subscriber is dropped
from the topic and told to ``resync`` (subscribe again from its last sequence number), which it does
from the ring if the ring still holds what it missed, else from a snapshot.

With a relay (:class:`~quanta.broadcast.RedisRelay`) the sequence numbers come from Redis, so every
worker's hub numbers a topic's messages alike and a client may resume on any worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Protocol, cast

from quanta.aio import cancel_and_wait
from quanta.broadcast.errors import UnknownTopicError
from quanta.broadcast.protocol import (
    check_topic,
    delta_frame,
    dumps,
    resync_frame,
    snapshot_frame,
    status_frame,
)

log = logging.getLogger(__name__)

DEFAULT_HISTORY: Final = 1024
"""Frames each topic keeps for resume."""
DEFAULT_OUTBOX: Final = 256
"""Frames a subscriber may have waiting before it is dropped with a resync."""


class Status(StrEnum):
    """Whether a topic's data is current."""

    LIVE = "live"
    STALE = "stale"


class View(Protocol):
    """A topic's state for snapshots, kept up to date by the hub with every delta in order.

    ``snapshot()`` returns the state as JSON-ready data, or an awaitable of it (read from a database,
    say). A synchronous snapshot is exact: it is the state after the topic's last message. An awaited
    one is taken *while* messages may arrive, so it may already include some of the messages sent
    after it; make such topics' deltas idempotent (replace a row, carry a message id).
    """

    def apply(self, data: Any) -> None:
        """Take one delta (the published data; decoded JSON when it came through a relay)."""
        ...

    def snapshot(self) -> Any:
        """The current state (JSON-ready), or an awaitable of it."""
        ...


class Sink(Protocol):
    """Where a subscriber's frames go: one per connection (see :class:`Outbox`)."""

    def offer(self, frame: str) -> bool:
        """Queue a frame unless the sink is full; False means full (the frame was not taken)."""
        ...

    def force(self, frame: str) -> None:
        """Queue a control frame (snapshot, status, resync) whatever the bound."""
        ...


class Relay(Protocol):
    """Carries a hub's messages to the other workers' hubs and numbers them (see ``RedisRelay``)."""

    async def publish(self, topic: str, data_json: str) -> int:
        """Number and send a message; every hub, this one included, gets it through ``Hub.accept``."""
        ...

    def watch(self, topic: str) -> None:
        """A topic was declared: load its recent messages, then ``Hub.mark_ready`` it."""
        ...

    async def run(self, hub: Hub) -> None:
        """Feed the other workers' messages into ``hub`` until cancelled."""
        ...

    async def restart(self, topic: str) -> None:
        """Start a new epoch of ``topic`` on every worker (each one's ``Hub.adopt_epoch``)."""
        ...


class Outbox:
    """A bounded queue of frames for one connection; the connection's writer drains it.

    ``offer`` refuses frames beyond ``limit`` (the hub then resyncs that topic). Control frames are
    always taken, but a connection that lets more than ``4 × limit`` pile up (it does not read, and
    keeps asking for snapshots or pongs) is ``overflowed``: its writer closes it.
    """

    def __init__(self, limit: int = DEFAULT_OUTBOX) -> None:
        self.limit = limit
        self.overflowed = False
        self._frames: deque[str] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._frames)

    def offer(self, frame: str) -> bool:
        """Queue ``frame`` unless ``limit`` frames are waiting."""
        if len(self._frames) >= self.limit:
            return False
        self._frames.append(frame)
        self._ready.set()
        return True

    def force(self, frame: str) -> None:
        """Queue ``frame`` whatever the bound (control frames)."""
        self._frames.append(frame)
        if len(self._frames) > 4 * self.limit:
            self.overflowed = True
        self._ready.set()

    async def take(self) -> list[str]:
        """Every waiting frame, in order; waits for at least one."""
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()
        return self.take_nowait()

    def take_nowait(self) -> list[str]:
        """Every waiting frame, possibly none."""
        frames = list(self._frames)
        self._frames.clear()
        return frames


@dataclass(eq=False)
class _Topic:
    name: str
    epoch: str
    view: View | None
    stale_after: float | None
    ring: deque[tuple[int, str]]
    ready: asyncio.Event
    last_data: float
    name_json: str = ""
    seq: int = 0
    state: Status = Status.LIVE
    detail: str = ""
    sinks: dict[Sink, list[str] | None] = field(default_factory=dict)
    """Subscribers; a list holds the frames for one whose snapshot is still being taken."""
    snapshot_cache: tuple[int, str] | None = None

    def __post_init__(self) -> None:
        self.name_json = json.dumps(self.name)


@dataclass
class HubStats:
    """Counters since the hub started."""

    published: int = 0
    frames_offered: int = 0
    snapshots: int = 0
    replays: int = 0
    resyncs: int = 0
    """Subscribers dropped because their outbox was full, or sent back by a gap or a new epoch."""
    gaps: int = 0


class Hub:
    """Topics, their sequence numbers and subscribers (see the module docstring).

    ``history`` frames per topic are kept for resume; ``relay`` shares the topics with other workers.
    """

    def __init__(
        self,
        *,
        history: int = DEFAULT_HISTORY,
        relay: Relay | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.history = history
        self.relay = relay
        self.stats = HubStats()
        self._clock = clock
        self._topics: dict[str, _Topic] = {}

    # -- topics ------------------------------------------------------------------------------------

    def declare(self, topic: str, *, view: View | None = None, stale_after: float | None = None) -> None:
        """Make ``topic`` available; ``view`` gives its snapshots. Declaring it again changes nothing.

        With ``stale_after`` the topic reports itself stale when no message came for that many
        seconds (and live again with the next message); it starts stale until its first message.
        """
        if topic in self._topics:
            return
        state = _Topic(
            name=check_topic(topic),
            epoch=secrets.token_hex(8),
            view=view,
            stale_after=stale_after,
            ring=deque(maxlen=self.history),
            ready=asyncio.Event(),
            last_data=self._clock(),
        )
        if stale_after is not None:
            state.state, state.detail = Status.STALE, "waiting for the first data"
        self._topics[topic] = state
        if self.relay is None:
            state.ready.set()
        else:
            self.relay.watch(topic)

    def declared(self, topic: str) -> bool:
        """Whether ``topic`` was declared."""
        return topic in self._topics

    @property
    def topics(self) -> list[str]:
        """The declared topics."""
        return list(self._topics)

    def last_seq(self, topic: str) -> int:
        """The sequence number of ``topic``'s last message (0 before the first)."""
        return self._get(topic).seq

    def epoch(self, topic: str) -> str:
        """The topic's epoch: sequence numbers of one epoch never repeat (a new one starts from 1)."""
        return self._get(topic).epoch

    def status(self, topic: str) -> tuple[Status, str]:
        """Whether the topic is live or stale, and why."""
        state = self._get(topic)
        return state.state, state.detail

    def subscribers(self, topic: str) -> int:
        """How many subscribers follow ``topic``."""
        return len(self._get(topic).sinks)

    # -- publishing --------------------------------------------------------------------------------

    async def publish(self, topic: str, data: Any) -> int:
        """Send ``data`` (JSON-ready) to every subscriber of ``topic`` as its next delta; its seq."""
        state = self._get(topic)
        data_json = dumps(data)
        if self.relay is not None:
            return await self.relay.publish(topic, data_json)
        seq = state.seq + 1
        self._deliver(state, seq, data_json, data)
        return seq

    def seed(self, topic: str, items: Iterable[Any]) -> int:
        """Put ``items`` into ``topic``'s view without sending or numbering them — history that the
        snapshots show until the first message; how many. A topic that has messages is left alone."""
        state = self._get(topic)
        if state.view is None or state.seq:
            return 0
        count = 0
        for item in items:
            state.view.apply(item)
            count += 1
        state.snapshot_cache = None
        return count

    def set_status(self, topic: str, status: Status, detail: str = "") -> None:
        """Mark the topic live or stale (on this worker); subscribers get a status frame."""
        state = self._get(topic)
        if (state.state, state.detail) != (status, detail):
            state.state, state.detail = status, detail
            frame = status_frame(state.name_json, state.seq, status.value, detail)
            for sink in list(state.sinks):
                sink.force(frame)

    # -- subscribing -------------------------------------------------------------------------------

    async def subscribe(
        self, topic: str, sink: Sink, *, after: int | None = None, epoch: str | None = None
    ) -> None:
        """Follow ``topic`` into ``sink``: the messages after ``after`` of ``epoch`` if the ring still
        holds all of them, otherwise a snapshot; then every new message; a status frame either way.

        ``epoch=None`` with an ``after`` trusts that ``after`` belongs to the current epoch.
        """
        state = self._get(topic)
        if not state.ready.is_set():
            await state.ready.wait()
        state.sinks.pop(sink, None)
        if after is not None and epoch in {None, state.epoch} and self._held(state, after):
            self._replay(state, sink, after)
        else:
            await self._snapshot(state, sink)

    def unsubscribe(self, topic: str, sink: Sink) -> None:
        """Stop sending ``topic`` to ``sink``."""
        state = self._topics.get(topic)
        if state is not None:
            state.sinks.pop(sink, None)

    # -- relays ------------------------------------------------------------------------------------

    def accept(self, topic: str, *, epoch: str, seq: int, data_json: str) -> bool:
        """Take a message numbered elsewhere (a relay); False if it was not new.

        A message of another epoch starts that epoch here: the ring is emptied and subscribers are
        sent back for a snapshot. A message that skips numbers (the relay lost some) empties the ring
        too, and sends the subscribers back, so nobody silently misses one.
        """
        state = self._topics.get(topic)
        if state is None:
            return False
        self.adopt_epoch(topic, epoch)
        if seq <= state.seq:
            return False
        if seq != state.seq + 1:
            self.stats.gaps += 1
            self._restart(state)
        data = json.loads(data_json) if state.view is not None else None
        self._deliver(state, seq, data_json, data)
        return True

    async def restart(self, topic: str) -> None:
        """Send every subscriber of ``topic``, on every worker, back to subscribe again: a new epoch,
        so each is asked the topic rule anew (after a ban, say) and resumes from a snapshot."""
        if self.relay is not None:
            await self.relay.restart(topic)
        elif self.declared(topic):
            self.adopt_epoch(topic, secrets.token_hex(8))

    def adopt_epoch(self, topic: str, epoch: str) -> None:
        """Take the epoch the relay says is current (subscribers of another one are sent back)."""
        state = self._get(topic)
        if epoch != state.epoch:
            state.epoch, state.seq = epoch, 0
            self._restart(state)

    def mark_ready(self, topic: str) -> None:
        """The relay loaded the topic's recent messages: subscriptions may start."""
        self._get(topic).ready.set()

    def ready(self, topic: str) -> bool:
        """Whether subscriptions to ``topic`` start at once."""
        return self._get(topic).ready.is_set()

    # -- running -----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Hub]:
        """Run the relay (if any) and the stale-topic watch for the duration of the block."""
        tasks = [asyncio.create_task(self._watch(), name="broadcast-watch")]
        if self.relay is not None:
            tasks.append(asyncio.create_task(self.relay.run(self), name="broadcast-relay"))
        try:
            yield self
        finally:
            await cancel_and_wait(*tasks)

    async def _watch(self) -> None:
        while True:
            limits = [s.stale_after for s in self._topics.values() if s.stale_after is not None]
            await asyncio.sleep(max(0.2, min(limits, default=5.0) / 4))
            now = self._clock()
            for state in list(self._topics.values()):
                quiet = now - state.last_data
                if state.stale_after is not None and state.state is Status.LIVE and quiet > state.stale_after:
                    self.set_status(state.name, Status.STALE, f"no data for {quiet:.0f} s")

    # -- internals ---------------------------------------------------------------------------------

    def _get(self, topic: str) -> _Topic:
        state = self._topics.get(topic)
        if state is None:
            raise UnknownTopicError(topic)
        return state

    def _deliver(self, state: _Topic, seq: int, data_json: str, data: Any) -> None:
        frame = delta_frame(state.name_json, seq, data_json)
        state.seq = seq
        state.ring.append((seq, frame))
        state.snapshot_cache = None
        state.last_data = self._clock()
        if state.view is not None:
            try:
                state.view.apply(data)
            except Exception:  # a broken view must not stop the topic; its snapshots may be off
                log.exception("the view of %s failed on message %d", state.name, seq)
        if state.state is not Status.LIVE:
            self.set_status(state.name, Status.LIVE)
        self.stats.published += 1
        self.stats.frames_offered += len(state.sinks)
        full: list[Sink] = []
        for sink, held in state.sinks.items():
            if held is not None:
                held.append(frame)
            elif not sink.offer(frame):
                full.append(sink)
        for sink in full:
            self._resync(state, sink)

    def _held(self, state: _Topic, after: int) -> bool:
        """Whether the ring holds every message after ``after`` (none may be missing)."""
        if after == state.seq:
            return True
        return after < state.seq and bool(state.ring) and state.ring[0][0] <= after + 1

    def _replay(self, state: _Topic, sink: Sink, after: int) -> None:
        self.stats.replays += 1
        start = after + 1 - state.ring[0][0] if state.ring else 0
        for _, frame in itertools.islice(state.ring, max(start, 0), None):
            if not sink.offer(frame):
                self._resync(state, sink)
                return
        state.sinks[sink] = None
        sink.force(status_frame(state.name_json, state.seq, state.state.value, state.detail))

    async def _snapshot(self, state: _Topic, sink: Sink) -> None:
        self.stats.snapshots += 1
        seq, epoch = state.seq, state.epoch
        held: list[str] = []
        cached = state.snapshot_cache
        if cached is not None and cached[0] == seq:
            frame = cached[1]
        else:
            result = state.view.snapshot() if state.view is not None else None
            exact = not inspect.isawaitable(result)
            if not exact:  # hold the deltas that arrive meanwhile, to send them after the snapshot
                state.sinks[sink] = held
                try:
                    result = await cast("Awaitable[Any]", result)
                finally:
                    still = state.sinks.get(sink) is held
                    if still:
                        del state.sinks[sink]
                if not still or epoch != state.epoch:  # unsubscribed, or sent back, meanwhile
                    return
            frame = snapshot_frame(state.name_json, seq, epoch, dumps(result))
            if exact:  # the same snapshot serves everyone who subscribes before the next message
                state.snapshot_cache = (seq, frame)
        sink.force(frame)
        for delta in held:
            if not sink.offer(delta):
                self._resync(state, sink)
                return
        state.sinks[sink] = None
        sink.force(status_frame(state.name_json, state.seq, state.state.value, state.detail))

    def _resync(self, state: _Topic, sink: Sink) -> None:
        self.stats.resyncs += 1
        state.sinks.pop(sink, None)
        sink.force(resync_frame(state.name_json, state.seq))

    def _restart(self, state: _Topic) -> None:
        """Forget the ring (it may not be resumed across a gap) and send every subscriber back."""
        state.ring.clear()
        state.snapshot_cache = None
        for sink in list(state.sinks):
            self._resync(state, sink)

"""The chat on the broadcast path: each room's events and its presence as hub topics.

Two topics per room, both under ``chat.`` (one websocket carries both):

- ``chat.<room id>``: every ``ChatEvent`` as a delta (``event.to_json()``). No view: a subscriber that
  cannot be resumed from the hub's ring gets an empty snapshot and catches up from the database
  (``changes_after`` its last change) — the database, not the hub, holds the history.
- ``chat.<room id>.presence``: who is here and who is typing (``RoomPresence.to_json()``), published
  whenever it changes; its snapshot is the board's state now. Never stored. The board is a
  ``PresenceStore``: this worker's memory by default, or Redis (``RedisPresence``) with several
  workers, so that every worker publishes and snapshots the union of everyone's presence.

``ChatLive`` is what the app layer holds (one per worker, on the worker's hub); it imports no web
framework. Who may follow a topic is ``room_of_topic`` + ``quanta.chat.access``: the app's topic rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, Literal

from quanta.broadcast import Hub, Snapshot
from quanta.chat._shared_presence import RedisPresence
from quanta.chat.events import ChatEvent
from quanta.chat.models import TOPIC_PREFIX
from quanta.chat.presence import LocalPresence, PresenceStore

log = logging.getLogger(__name__)

__all__ = [
    "PRESENCE_SUFFIX",
    "ChatLive",
    "PresenceAction",
    "RedisPresence",
    "presence_topic",
    "room_of_topic",
    "room_topic",
]

PRESENCE_SUFFIX: Final = ".presence"
EXPIRE_EVERY: Final = 1.0
"""Seconds between two sweeps of the presence board (typing lasts 6 s, presence 60 s)."""
PUBLISH_TRIES: Final = 3
"""How often a presence change is published at most while the board keeps changing under it."""
PresenceAction = Literal["here", "typing", "idle", "left"]


def room_topic(room: str) -> str:
    """The topic of a room's message events: ``chat.<room id>``."""
    return TOPIC_PREFIX + room


def presence_topic(room: str) -> str:
    """The topic of a room's presence: ``chat.<room id>.presence``."""
    return TOPIC_PREFIX + room + PRESENCE_SUFFIX


def room_of_topic(topic: str) -> str | None:
    """The room id a chat topic is about (None if ``topic`` is no chat topic)."""
    if not topic.startswith(TOPIC_PREFIX):
        return None
    room = topic.removeprefix(TOPIC_PREFIX).removesuffix(PRESENCE_SUFFIX)
    return room if room and "." not in room else None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ChatLive:
    """A worker's chat topics on ``hub``, and its presence board (``LocalPresence()`` unless given)."""

    def __init__(
        self, hub: Hub, *, board: PresenceStore | None = None, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self.hub = hub
        self.board: PresenceStore = board or LocalPresence()
        self._clock = clock
        self._sweeper: asyncio.Task[None] | None = None

    def declare(self, room: str) -> None:
        """Make the room's two topics available (idempotent)."""
        self.hub.declare(room_topic(room))
        self.hub.declare(presence_topic(room), view=Snapshot(lambda: self._presence(room)))

    async def publish(self, event: ChatEvent) -> int:
        """Send ``event`` to everyone following its room; the hub's sequence number."""
        self.declare(event.room)
        return await self.hub.publish(event.topic, event.to_json())

    async def recheck(self, room: str) -> None:
        """Send everyone following the room, on every worker, back to subscribe again (after a ban):
        the topic rule is asked anew, so whoever may no longer read the room stops receiving it; the
        others resume from a snapshot and catch up from the database."""
        for topic in (room_topic(room), presence_topic(room)):
            await self.hub.restart(topic)

    async def presence(self, *, room: str, user_id: int, username: str, action: PresenceAction) -> bool:
        """Record what a person's browser says (``here`` on join and every heartbeat, ``typing`` on a
        keystroke, ``idle`` when the box is sent or cleared, ``left``); publishes if that changed what
        the room shows. Whether it did."""
        self.declare(room)
        self._sweep_soon()
        now = self._clock()
        board = self.board
        match action:
            case "here":
                changed = await board.seen(room=room, user_id=user_id, username=username, now=now)
            case "typing":
                changed = await board.typing(room=room, user_id=user_id, username=username, now=now)
            case "idle":
                await board.seen(room=room, user_id=user_id, username=username, now=now)
                changed = await board.stopped_typing(room=room, user_id=user_id, now=now)
            case "left":
                changed = await board.left(room=room, user_id=user_id)
        if changed:
            await self._publish_presence(room)
        return changed

    async def sweep(self) -> set[str]:
        """Forget people gone quiet and end stale typing indicators; publish the rooms that changed."""
        rooms = await self.board.expire(now=self._clock())
        for room in rooms:
            await self._publish_presence(room)
        return rooms

    async def close(self) -> None:
        """Stop the presence sweeps and release the board."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.board.aclose()

    async def _presence(self, room: str) -> dict[str, Any]:
        return (await self.board.snapshot(room=room, now=self._clock())).to_json()

    async def _publish_presence(self, room: str) -> None:
        """Publish the room's presence; again if the board changed meanwhile: with a shared board, another
        worker may have published an older view just after ours, and the last frame must be the latest."""
        self.declare(room)
        published: dict[str, Any] | None = None
        for _ in range(PUBLISH_TRIES):
            shown = await self._presence(room)
            if shown == published:
                return
            await self.hub.publish(presence_topic(room), shown)
            published = shown

    def _sweep_soon(self) -> None:
        """Start the sweeps on this event loop on first use (the board only matters once used)."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_forever(), name="chat-presence"
            )

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(EXPIRE_EVERY)
            try:
                await self.sweep()
            except Exception:  # a failed publish must not end the sweeps
                log.exception("sweeping the chat presence failed")

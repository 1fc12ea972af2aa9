"""Who is in a room and who is typing: ephemeral, never in the database.

The app layer owns one ``PresenceBoard`` per process, feeds it what the browsers say (``seen`` on join
and on a heartbeat, ``typing`` on a keystroke, ``left`` on leave or disconnect), calls ``expire`` on a
timer, and publishes ``snapshot(room).to_json()`` through the broadcast path whenever a call returns
``True`` (something visible changed) or ``expire`` names the room. Times come from the caller, so a fake
clock drives it in tests. For example::

    board = PresenceBoard()
    if board.typing(room="cr_…", user_id=7, username="olga", now=clock.now()):
        publish(topic, board.snapshot(room="cr_…", now=clock.now()).to_json())

``ChatLive`` works with any :class:`PresenceStore` (async): :class:`LocalPresence` wraps a
``PresenceBoard`` (one worker, the embedded default); ``quanta.chat._shared_presence.RedisPresence``
keeps the board in Redis, shared by every worker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

__all__ = ["LocalPresence", "Presence", "PresenceBoard", "PresenceStore", "RoomPresence"]

PRESENCE_TTL = timedelta(seconds=60)
"""Someone not seen for this long has left (browsers send a heartbeat more often)."""
TYPING_TTL = timedelta(seconds=6)
"""A typing indicator lasts this long after the last keystroke."""


@dataclass(frozen=True, kw_only=True)
class Presence:
    """One person in a room: when last seen, and whether they are typing now."""

    user_id: int
    username: str
    last_seen: datetime
    typing: bool


@dataclass(frozen=True, kw_only=True)
class RoomPresence:
    """Everyone in a room (by username) and who of them is typing."""

    room: str
    present: tuple[Presence, ...]

    @property
    def typing(self) -> tuple[str, ...]:
        return tuple(p.username for p in self.present if p.typing)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: ``{"room", "present": [usernames], "typing": [usernames]}``."""
        return {
            "room": self.room,
            "present": [p.username for p in self.present],
            "typing": list(self.typing),
        }


@dataclass
class _Entry:
    username: str
    last_seen: datetime
    typing_until: datetime | None = None


@dataclass
class PresenceBoard:
    """Rooms → people with last-seen and typing-until times, expiring by themselves. Thread-safe."""

    ttl: timedelta = PRESENCE_TTL
    typing_ttl: timedelta = TYPING_TTL
    _rooms: dict[str, dict[int, _Entry]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.ttl <= timedelta(0) or self.typing_ttl <= timedelta(0):
            msg = "presence and typing lifetimes must be positive"
            raise ValueError(msg)

    def seen(self, *, room: str, user_id: int, username: str, now: datetime) -> bool:
        """``user_id`` is in ``room`` at ``now``; whether that is news (they were not there)."""
        with self._lock:
            people = self._rooms.setdefault(room, {})
            entry = people.get(user_id)
            if entry is None or not self._alive(entry, now):
                people[user_id] = _Entry(username=username, last_seen=now)
                return True
            entry.last_seen = max(entry.last_seen, now)
            entry.username = username
            return False

    def typing(self, *, room: str, user_id: int, username: str, now: datetime) -> bool:
        """``user_id`` typed in ``room`` at ``now`` (so is there too); whether that is news."""
        with self._lock:
            people = self._rooms.setdefault(room, {})
            entry = people.get(user_id)
            news = entry is None or not self._alive(entry, now) or not self._typing(entry, now)
            if entry is None or not self._alive(entry, now):
                entry = people[user_id] = _Entry(username=username, last_seen=now)
            entry.last_seen = max(entry.last_seen, now)
            entry.typing_until = now + self.typing_ttl
            return news

    def stopped_typing(self, *, room: str, user_id: int, now: datetime) -> bool:
        """``user_id`` sent their message or cleared the box; whether they had been shown typing."""
        with self._lock:
            entry = self._rooms.get(room, {}).get(user_id)
            if entry is None or entry.typing_until is None:
                return False
            was_typing = self._typing(entry, now)
            entry.typing_until = None
            return was_typing

    def left(self, *, room: str, user_id: int) -> bool:
        """``user_id`` left ``room``; whether they had been there."""
        with self._lock:
            people = self._rooms.get(room)
            if people is None or people.pop(user_id, None) is None:
                return False
            if not people:
                del self._rooms[room]
            return True

    def snapshot(self, *, room: str, now: datetime) -> RoomPresence:
        """Who is in ``room`` at ``now`` (ordered by username), and who is typing."""
        with self._lock:
            people = self._rooms.get(room, {})
            present = [
                Presence(
                    user_id=user_id,
                    username=entry.username,
                    last_seen=entry.last_seen,
                    typing=self._typing(entry, now),
                )
                for user_id, entry in people.items()
                if self._alive(entry, now)
            ]
        present.sort(key=lambda p: (p.username, p.user_id))
        return RoomPresence(room=room, present=tuple(present))

    def expire(self, *, now: datetime) -> set[str]:
        """Forget people gone quiet and end stale typing indicators; the rooms whose snapshot changed."""
        changed: set[str] = set()
        with self._lock:
            for room, people in list(self._rooms.items()):
                for user_id, entry in list(people.items()):
                    if not self._alive(entry, now):
                        del people[user_id]
                        changed.add(room)
                    elif entry.typing_until is not None and entry.typing_until <= now:
                        entry.typing_until = None
                        changed.add(room)
                if not people:
                    del self._rooms[room]
        return changed

    def rooms(self) -> set[str]:
        """The rooms with anyone in them (not yet expired)."""
        with self._lock:
            return set(self._rooms)

    def _alive(self, entry: _Entry, now: datetime) -> bool:
        return now - entry.last_seen < self.ttl

    @staticmethod
    def _typing(entry: _Entry, now: datetime) -> bool:
        return entry.typing_until is not None and now < entry.typing_until


class PresenceStore(Protocol):
    """A presence board as ``ChatLive`` uses it: this process's (:class:`LocalPresence`) or shared."""

    async def seen(self, *, room: str, user_id: int, username: str, now: datetime) -> bool:
        """``user_id`` is in ``room`` at ``now``; whether that is news."""

    async def typing(self, *, room: str, user_id: int, username: str, now: datetime) -> bool:
        """``user_id`` typed in ``room`` at ``now``; whether that is news."""

    async def stopped_typing(self, *, room: str, user_id: int, now: datetime) -> bool:
        """``user_id`` stopped typing; whether they had been shown typing."""

    async def left(self, *, room: str, user_id: int) -> bool:
        """``user_id`` left ``room``; whether they had been there."""

    async def snapshot(self, *, room: str, now: datetime) -> RoomPresence:
        """Who is in ``room`` at ``now``, and who is typing."""

    async def expire(self, *, now: datetime) -> set[str]:
        """Forget people gone quiet and end stale typing; the rooms whose snapshot this changed."""

    async def aclose(self) -> None:
        """Release what the store holds."""


@dataclass(frozen=True)
class LocalPresence:
    """A :class:`PresenceStore` in this process's memory (one worker): ``board``, awaitable."""

    board: PresenceBoard = field(default_factory=PresenceBoard)

    async def seen(self, *, room: str, user_id: int, username: str, now: datetime) -> bool:
        """See :meth:`PresenceBoard.seen`."""
        return self.board.seen(room=room, user_id=user_id, username=username, now=now)

    async def typing(self, *, room: str, user_id: int, username: str, now: datetime) -> bool:
        """See :meth:`PresenceBoard.typing`."""
        return self.board.typing(room=room, user_id=user_id, username=username, now=now)

    async def stopped_typing(self, *, room: str, user_id: int, now: datetime) -> bool:
        """See :meth:`PresenceBoard.stopped_typing`."""
        return self.board.stopped_typing(room=room, user_id=user_id, now=now)

    async def left(self, *, room: str, user_id: int) -> bool:
        """See :meth:`PresenceBoard.left`."""
        return self.board.left(room=room, user_id=user_id)

    async def snapshot(self, *, room: str, now: datetime) -> RoomPresence:
        """See :meth:`PresenceBoard.snapshot`."""
        return self.board.snapshot(room=room, now=now)

    async def expire(self, *, now: datetime) -> set[str]:
        """See :meth:`PresenceBoard.expire`."""
        return self.board.expire(now=now)

    async def aclose(self) -> None:
        """Nothing to release."""

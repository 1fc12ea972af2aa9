"""Presence shared by every app worker: one Redis hash per room, ``user id → {username, last seen,
typing until}``, changed by Lua scripts so that "was that news?" is answered once, atomically, whichever
worker asks. Entries expire by the caller's clock as :class:`~quanta.chat.presence.PresenceBoard`'s do;
``expire`` (any worker's sweep) removes them, and only the sweep that removed one reports its room, so
one worker publishes each change. A set of the rooms with anyone in them lets the sweep find them.

Times are whole milliseconds since the epoch (a Lua number holds them exactly).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

import redis.asyncio as aioredis

from quanta.chat.presence import PRESENCE_TTL, TYPING_TTL, Presence, RoomPresence

__all__ = ["RedisPresence"]

PREFIX: Final = "quanta:chat:presence:"

_SEEN = """
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local entry = raw and cjson.decode(raw)
local news = 0
if not entry or now - entry.s >= ttl then
  entry = {u = ARGV[2], s = now, t = 0}
  news = 1
end
entry.u = ARGV[2]
entry.s = math.max(entry.s, now)
if ARGV[5] ~= '0' then
  if entry.t <= now then news = 1 end
  entry.t = now + tonumber(ARGV[5])
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(entry))
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
redis.call('SADD', KEYS[2], ARGV[6])
return news
"""

_STOPPED = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local entry = cjson.decode(raw)
if entry.t == 0 then return 0 end
local was = entry.t > tonumber(ARGV[2]) and 1 or 0
entry.t = 0
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(entry))
return was
"""

_LEFT = """
local gone = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return gone
"""

_EXPIRE = """
local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local changed = {}
for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. room
  local fields = redis.call('HGETALL', key)
  local touched = false
  for i = 1, #fields, 2 do
    local entry = cjson.decode(fields[i + 1])
    if now - entry.s >= ttl then
      redis.call('HDEL', key, fields[i])
      touched = true
    elseif entry.t ~= 0 and entry.t <= now then
      entry.t = 0
      redis.call('HSET', key, fields[i], cjson.encode(entry))
      touched = true
    end
  end
  if touched then table.insert(changed, room) end
  if redis.call('EXISTS', key) == 0 then redis.call('SREM', KEYS[1], room) end
end
return changed
"""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _person(user_id: int, entry: dict[str, Any], *, at: int) -> Presence:
    """A hash entry (``{"u": username, "s": last seen, "t": typing until or 0}``) as seen at ``at``."""
    return Presence(
        user_id=user_id, username=entry["u"], last_seen=_moment(entry["s"]), typing=entry["t"] > at
    )


class RedisPresence:
    """The presence board of every worker, in Redis at ``url`` (``prefix`` names its keys)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = PREFIX,
        ttl: timedelta = PRESENCE_TTL,
        typing_ttl: timedelta = TYPING_TTL,
    ) -> None:
        if ttl <= timedelta(0) or typing_ttl <= timedelta(0):
            msg = "presence and typing lifetimes must be positive"
            raise ValueError(msg)
        self.prefix = prefix
        self._ttl = int(ttl.total_seconds() * 1000)
        self._typing_ttl = int(typing_ttl.total_seconds() * 1000)
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url, socket_keepalive=True)
        self._seen = self._redis.register_script(_SEEN)
        self._stopped = self._redis.register_script(_STOPPED)
        self._left = self._redis.register_script(_LEFT)
        self._expire = self._redis.register_script(_EXPIRE)

    async def seen(self, *, room: str, user_id: int, username: str, now: datetime) -> bool:
        """``user_id`` is in ``room`` at ``now``; whether that is news (they were not there)."""
        return await self._mark(room, user_id, username, now, typing_for=0)

    async def typing(self, *, room: str, user_id: int, username: str, now: datetime) -> bool:
        """``user_id`` typed in ``room`` at ``now`` (so is there too); whether that is news."""
        return await self._mark(room, user_id, username, now, typing_for=self._typing_ttl)

    async def stopped_typing(self, *, room: str, user_id: int, now: datetime) -> bool:
        """``user_id`` sent their message or cleared the box; whether they had been shown typing."""
        return bool(await self._stopped(keys=[self._room(room)], args=[user_id, _ms(now)]))

    async def left(self, *, room: str, user_id: int) -> bool:
        """``user_id`` left ``room``; whether they had been there."""
        return bool(await self._left(keys=[self._room(room), self._rooms()], args=[user_id, room]))

    async def snapshot(self, *, room: str, now: datetime) -> RoomPresence:
        """Who is in ``room`` at ``now`` on any worker (ordered by username), and who is typing."""
        raw = await cast("Awaitable[dict[bytes, bytes]]", self._redis.hgetall(self._room(room)))
        at = _ms(now)
        entries = ((int(user_id), json.loads(value)) for user_id, value in raw.items())
        present = [
            _person(user_id, entry, at=at) for user_id, entry in entries if at - entry["s"] < self._ttl
        ]
        present.sort(key=lambda p: (p.username, p.user_id))
        return RoomPresence(room=room, present=tuple(present))

    async def expire(self, *, now: datetime) -> set[str]:
        """Forget people gone quiet and end stale typing indicators; the rooms this call changed."""
        rooms = await self._expire(keys=[self._rooms()], args=[self._room(""), _ms(now), self._ttl])
        return {room.decode() for room in rooms}

    async def aclose(self) -> None:
        """Close the Redis connections."""
        await self._redis.aclose()

    async def _mark(self, room: str, user_id: int, username: str, now: datetime, *, typing_for: int) -> bool:
        keys = [self._room(room), self._rooms()]
        args: list[str | int] = [user_id, username, _ms(now), self._ttl, typing_for, room]
        return bool(await self._seen(keys=keys, args=args))

    def _room(self, room: str) -> str:
        return f"{self.prefix}room:{room}"

    def _rooms(self) -> str:
        return f"{self.prefix}rooms"

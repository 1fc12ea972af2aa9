"""Throttling: count events per key in a fixed window and say whether one more is allowed.

Two implementations share one interface: ``MemoryRateLimiter`` for one process (the embedded default and
tests) and ``RedisRateLimiter`` when ``QUANTA_REDIS_URL`` is set, so every worker sees the same counts. A
window opens at a key's first hit and lasts ``quota.window``; the caller passes the time (``now``), which
keeps both implementations deterministic under a fake clock. For example::

    limiter = limiter_for(settings)
    decision = limiter.hit("api:token:42", Quota(limit=60, window=timedelta(minutes=1)))
    if not decision.allowed:
        raise Throttled(decision.retry_after)
    response.headers.update(decision.headers())
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol

import redis

from quanta.settings import Settings, get_settings


@dataclass(frozen=True, kw_only=True)
class Quota:
    """At most ``limit`` events per ``window``."""

    limit: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= timedelta(0):
            msg = f"a quota needs a positive limit and window, got {self.limit} per {self.window}"
            raise ValueError(msg)


@dataclass(frozen=True, kw_only=True)
class Decision:
    """Where a key stands against its quota: ``remaining`` events until ``reset_after`` has passed."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: timedelta

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window resets (at least 1), for ``Retry-After``."""
        return max(1, math.ceil(self.reset_after.total_seconds()))

    def headers(self) -> dict[str, str]:
        """The ``RateLimit-*`` response headers (IETF draft), plus ``Retry-After`` when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.retry_after),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter(Protocol):
    """Counts events per key within a quota's window."""

    def hit(self, key: str, quota: Quota, *, now: datetime | None = None) -> Decision:
        """Count one event if the quota allows it; ``allowed`` says whether it did."""
        ...

    def peek(self, key: str, quota: Quota, *, now: datetime | None = None) -> Decision:
        """Where ``key`` stands, without counting anything."""
        ...

    def reset(self, key: str) -> None:
        """Forget every event of ``key`` (for example after a successful sign-in)."""
        ...


def _millis(now: datetime | None) -> int:
    moment = now or datetime.now(UTC)
    return int(moment.timestamp() * 1000)


def _window_millis(quota: Quota) -> int:
    return max(1, int(quota.window.total_seconds() * 1000))


def _decide(*, quota: Quota, count: int, started_ms: int, now_ms: int, counted: bool) -> Decision:
    """The decision for a window that opened at ``started_ms`` and holds ``count`` events."""
    reset_ms = max(0, started_ms + _window_millis(quota) - now_ms)
    return Decision(
        allowed=counted or count < quota.limit,
        limit=quota.limit,
        remaining=max(0, quota.limit - count),
        reset_after=timedelta(milliseconds=reset_ms),
    )


class MemoryRateLimiter:
    """Counts in this process's memory; thread-safe. Expired windows are dropped as keys are touched."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window start ms, count)
        self._lock = threading.Lock()

    def hit(self, key: str, quota: Quota, *, now: datetime | None = None) -> Decision:
        """Count one event if the quota allows it."""
        return self._touch(key, quota, _millis(now), cost=1)

    def peek(self, key: str, quota: Quota, *, now: datetime | None = None) -> Decision:
        """Where ``key`` stands, without counting anything."""
        return self._touch(key, quota, _millis(now), cost=0)

    def reset(self, key: str) -> None:
        """Forget every event of ``key``."""
        with self._lock:
            self._windows.pop(key, None)

    def _touch(self, key: str, quota: Quota, now_ms: int, *, cost: int) -> Decision:
        with self._lock:
            started, count = self._windows.get(key, (now_ms, 0))
            if now_ms - started >= _window_millis(quota) or now_ms < started:
                started, count = now_ms, 0
            counted = cost > 0 and count + cost <= quota.limit
            if counted:
                count += cost
            if count:
                self._windows[key] = (started, count)
            else:
                self._windows.pop(key, None)
            return _decide(quota=quota, count=count, started_ms=started, now_ms=now_ms, counted=counted)


# One round trip, atomic across workers: reopen the window if it has passed, count if there is room.
# The key expires (in Redis's own time) one window after it opened, so idle keys clean themselves up.
_HIT_SCRIPT = """
local now, window, limit, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local started = tonumber(redis.call('HGET', KEYS[1], 'started'))
local count = tonumber(redis.call('HGET', KEYS[1], 'count'))
if started == nil or now - started >= window or now < started then
  started, count = now, 0
end
local counted = 0
if cost > 0 and count + cost <= limit then
  count = count + cost
  counted = 1
  redis.call('HSET', KEYS[1], 'started', started, 'count', count)
  redis.call('PEXPIRE', KEYS[1], started + window - now)
end
return {started, count, counted}
"""


class RedisRateLimiter:
    """Counts in Redis, shared by every worker; one Lua script per call, so hits never race."""

    def __init__(self, client: redis.Redis, *, prefix: str = "quanta:ratelimit:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_HIT_SCRIPT)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "quanta:ratelimit:") -> RedisRateLimiter:
        """A limiter on the Redis at ``url``."""
        return cls(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2), prefix=prefix)

    def hit(self, key: str, quota: Quota, *, now: datetime | None = None) -> Decision:
        """Count one event if the quota allows it."""
        return self._run(key, quota, _millis(now), cost=1)

    def peek(self, key: str, quota: Quota, *, now: datetime | None = None) -> Decision:
        """Where ``key`` stands, without counting anything."""
        return self._run(key, quota, _millis(now), cost=0)

    def reset(self, key: str) -> None:
        """Forget every event of ``key``."""
        self._client.delete(self._prefix + key)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _run(self, key: str, quota: Quota, now_ms: int, *, cost: int) -> Decision:
        args = [now_ms, _window_millis(quota), quota.limit, cost]
        started, count, counted = self._script(keys=[self._prefix + key], args=args)
        return _decide(
            quota=quota, count=int(count), started_ms=int(started), now_ms=now_ms, counted=bool(counted)
        )


def limiter_for(settings: Settings | None = None) -> RateLimiter:
    """Redis when ``QUANTA_REDIS_URL`` is set, else one in-memory limiter shared by this process."""
    url = (settings or get_settings()).redis_url
    return _redis_limiter(url) if url else _process_limiter()


@lru_cache(maxsize=4)
def _redis_limiter(url: str) -> RedisRateLimiter:
    return RedisRateLimiter.from_url(url)


@lru_cache(maxsize=1)
def _process_limiter() -> MemoryRateLimiter:
    return MemoryRateLimiter()

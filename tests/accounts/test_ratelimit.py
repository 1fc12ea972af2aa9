"""Throttling: the same behaviour in memory and on a real Redis, driven by a fake clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis

from quanta.ratelimit import MemoryRateLimiter, Quota, RateLimiter, RedisRateLimiter, limiter_for
from quanta.settings import Settings
from quanta.testing.clock import FakeClock

FIVE_PER_15_MIN = Quota(limit=5, window=timedelta(minutes=15))


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def any_limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    limiter = RedisRateLimiter.from_url(request.getfixturevalue("redis_url"), prefix=f"t:{uuid.uuid4().hex}:")
    yield limiter
    limiter.close()


def test_hits_within_the_quota_are_allowed_and_count_down(any_limiter: RateLimiter) -> None:
    clock = FakeClock()

    decisions = [any_limiter.hit("k", FIVE_PER_15_MIN, now=clock.now()) for _ in range(5)]

    assert [d.allowed for d in decisions] == [True] * 5
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    assert decisions[0].reset_after == timedelta(minutes=15)


def test_the_hit_past_the_limit_is_refused_with_the_time_to_wait(any_limiter: RateLimiter) -> None:
    clock = FakeClock()
    for _ in range(5):
        any_limiter.hit("k", FIVE_PER_15_MIN, now=clock.now())
    clock.advance(minutes=10)

    refused = any_limiter.hit("k", FIVE_PER_15_MIN, now=clock.now())

    assert not refused.allowed
    assert refused.remaining == 0
    assert refused.reset_after == timedelta(minutes=5)
    assert refused.retry_after == 300
    assert refused.headers() == {
        "RateLimit-Limit": "5",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "300",
        "Retry-After": "300",
    }


def test_the_window_reopens_once_it_has_passed(any_limiter: RateLimiter) -> None:
    clock = FakeClock()
    for _ in range(6):
        any_limiter.hit("k", FIVE_PER_15_MIN, now=clock.now())
    clock.advance(minutes=15)

    again = any_limiter.hit("k", FIVE_PER_15_MIN, now=clock.now())

    assert again.allowed
    assert again.remaining == 4


def test_peek_counts_nothing(any_limiter: RateLimiter) -> None:
    clock = FakeClock()
    any_limiter.hit("k", FIVE_PER_15_MIN, now=clock.now())

    for _ in range(10):
        seen = any_limiter.peek("k", FIVE_PER_15_MIN, now=clock.now())

    assert seen.allowed
    assert seen.remaining == 4
    assert any_limiter.peek("unseen", FIVE_PER_15_MIN, now=clock.now()).remaining == 5


def test_reset_forgets_a_key_and_keys_are_independent(any_limiter: RateLimiter) -> None:
    clock = FakeClock()
    for _ in range(5):
        any_limiter.hit("a", FIVE_PER_15_MIN, now=clock.now())
        any_limiter.hit("b", FIVE_PER_15_MIN, now=clock.now())

    any_limiter.reset("a")

    assert any_limiter.peek("a", FIVE_PER_15_MIN, now=clock.now()).remaining == 5
    assert not any_limiter.peek("b", FIVE_PER_15_MIN, now=clock.now()).allowed


def test_concurrent_hits_never_exceed_the_limit(any_limiter: RateLimiter) -> None:
    clock = FakeClock()
    quota = Quota(limit=20, window=timedelta(minutes=1))

    with ThreadPoolExecutor(max_workers=8) as pool:
        decisions = list(pool.map(lambda _: any_limiter.hit("burst", quota, now=clock.now()), range(60)))

    assert sum(d.allowed for d in decisions) == 20


@pytest.mark.redis
def test_redis_keys_expire_by_themselves(redis_url: str) -> None:
    limiter = RedisRateLimiter.from_url(redis_url, prefix="t:expiry:")
    client = redis.Redis.from_url(redis_url)
    try:
        limiter.hit("k", Quota(limit=3, window=timedelta(minutes=15)))
        ttl_ms: int = client.pttl("t:expiry:k")  # type: ignore[assignment]
    finally:
        limiter.reset("k")
        limiter.close()
        client.close()
    assert 0 < ttl_ms <= 15 * 60 * 1000


@pytest.mark.redis
def test_limiter_for_uses_redis_when_configured(redis_url: str) -> None:
    assert isinstance(limiter_for(Settings(redis_url=redis_url)), RedisRateLimiter)
    assert isinstance(limiter_for(Settings()), MemoryRateLimiter)


def test_a_quota_needs_a_positive_limit_and_window() -> None:
    with pytest.raises(ValueError, match="positive"):
        Quota(limit=0, window=timedelta(minutes=1))
    with pytest.raises(ValueError, match="positive"):
        Quota(limit=1, window=timedelta(0))

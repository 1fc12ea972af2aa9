"""Several app workers (hubs relayed through a real Redis): a message posted on one worker reaches the
room's followers on every worker with the same numbers, so a follower may resume on another worker; the
presence board is shared (Redis), so followers on every worker see everyone here and typing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from quanta.broadcast import Hub, Outbox, RedisRelay
from quanta.chat.live import ChatLive, RedisPresence, presence_topic, room_topic
from quanta.chat.presence import PRESENCE_TTL, TYPING_TTL
from quanta.testing.clock import FakeClock
from tests.chat.conftest import Cast, Rooms, post

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.asynccontextmanager
async def worker(redis_url: str, prefix: str, clock: FakeClock | None = None) -> AsyncIterator[ChatLive]:
    """One worker's chat topics on its hub, relayed through Redis, with the presence board in Redis."""
    relay = RedisRelay(redis_url, prefix=prefix)
    hub = Hub(relay=relay)
    board = RedisPresence(redis_url, prefix=f"{prefix}presence:")
    live = ChatLive(hub, board=board) if clock is None else ChatLive(hub, board=board, clock=clock)
    try:
        async with hub.running():
            await asyncio.wait_for(relay.connected.wait(), 10)
            yield live
    finally:
        await live.close()
        await relay.aclose()


def deltas(outbox: Outbox) -> list[tuple[int, int]]:
    """(hub seq, message seq) of the deltas waiting in ``outbox``."""
    parsed = [json.loads(frame) for frame in outbox.take_nowait()]
    return [(f["seq"], f["data"]["message"]["seq"]) for f in parsed if f["kind"] == "delta"]


async def settled(outbox: Outbox, count: int) -> list[tuple[int, int]]:
    got: list[tuple[int, int]] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            got += deltas(outbox)
            await asyncio.sleep(0.01)
    return got


async def test_posts_on_either_worker_reach_followers_on_both_alike(
    redis_url: str, unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    room = rooms.strategy.public_id
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    async with worker(redis_url, prefix) as one, worker(redis_url, prefix) as two:
        followers = []
        for live in (one, two):
            live.declare(room)
            await asyncio.wait_for(_ready(live.hub, room_topic(room)), 10)
            followers.append(Outbox())
            await live.hub.subscribe(room_topic(room), followers[-1])
        for n in range(6):
            event = post(unit, clock, cast.owner, rooms.strategy, f"message {n}")
            await (one if n % 2 else two).publish(event)
        on_one, on_two = [await settled(outbox, 6) for outbox in followers]
        assert on_one == on_two == [(n, n) for n in range(1, 7)]

        # A follower of worker one moves to worker two and resumes after what it had: nothing twice.
        one.hub.unsubscribe(room_topic(room), followers[0])
        for n in range(6, 9):
            await one.publish(post(unit, clock, cast.owner, rooms.strategy, f"message {n}"))
        moved = Outbox()
        await asyncio.wait_for(_until(lambda: two.hub.last_seq(room_topic(room)) == 9), 10)
        await two.hub.subscribe(room_topic(room), moved, after=6, epoch=one.hub.epoch(room_topic(room)))
        assert deltas(moved) == [(7, 7), (8, 8), (9, 9)]


async def test_presence_on_either_worker_shows_on_both(
    redis_url: str, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    room, topic = rooms.strategy.public_id, presence_topic(rooms.strategy.public_id)
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    async with worker(redis_url, prefix, clock) as one, worker(redis_url, prefix, clock) as two:
        olga, eddie = cast.owner, cast.editor
        assert await one.presence(room=room, user_id=olga.id or 0, username="olga", action="here")
        assert await two.presence(room=room, user_id=eddie.id or 0, username="eddie", action="typing")
        assert not await one.presence(room=room, user_id=eddie.id or 0, username="eddie", action="here")
        both = {"room": room, "present": ["eddie", "olga"], "typing": ["eddie"]}
        followers = [await _follow(live, topic) for live in (one, one, two, two)]
        for outbox in followers:  # a new follower's snapshot is the union, on either worker
            assert await _shown(outbox) == both

        await one.presence(room=room, user_id=olga.id or 0, username="olga", action="typing")
        for outbox in followers:
            assert await _shown(outbox, until=lambda data: data["typing"] == ["eddie", "olga"])

        clock.advance(TYPING_TTL)  # both typing indicators run out; one worker's sweep publishes it
        await two.sweep()
        await one.sweep()
        for outbox in followers:
            assert await _shown(outbox, until=lambda data: data["typing"] == []) == {**both, "typing": []}

        assert await two.presence(room=room, user_id=eddie.id or 0, username="eddie", action="left")
        for outbox in followers:
            assert await _shown(outbox, until=lambda data: data["present"] == ["olga"])

        clock.advance(PRESENCE_TTL - TYPING_TTL - timedelta(seconds=1))
        assert await one.sweep() == set()
        clock.advance(seconds=1)  # olga went quiet (a worker's sweep, maybe the one running by itself)
        await one.sweep()
        for outbox in followers:
            assert await _shown(outbox, until=lambda data: data["present"] == [])


async def _follow(live: ChatLive, topic: str) -> Outbox:
    live.hub.declare(topic)  # declared by the presence calls; the relay loads it before subscribing
    await asyncio.wait_for(_ready(live.hub, topic), 10)
    outbox = Outbox()
    await live.hub.subscribe(topic, outbox)
    return outbox


async def _shown(outbox: Outbox, until: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict[str, Any]:
    """The presence a follower shows once ``until`` holds (snapshots and deltas replace it whole)."""
    async with asyncio.timeout(10):
        while True:
            for frame in map(json.loads, outbox.take_nowait()):
                if frame["kind"] in {"snapshot", "delta"} and until(frame["data"]):
                    return dict(frame["data"])
            await asyncio.sleep(0.01)


async def _ready(hub: Hub, topic: str) -> None:
    await _until(lambda: hub.ready(topic))


async def _until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.01)

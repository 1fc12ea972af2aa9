"""Both presence stores behind ``ChatLive`` — this worker's memory and Redis (real) — answer alike; the
Redis one is shared, so a change or an expiry is news to one caller only, whichever worker asks."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from quanta.broadcast import Hub, Outbox
from quanta.chat.live import ChatLive, RedisPresence, presence_topic
from quanta.chat.presence import PRESENCE_TTL, TYPING_TTL, LocalPresence, PresenceStore, RoomPresence
from quanta.testing.clock import FakeClock
from quanta_app.chat import chat_live
from tests.chat.conftest import forget_app_singletons

pytestmark = pytest.mark.anyio
ROOM = "cr_lobby000000"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[PresenceStore]:
    if request.param == "memory":
        yield LocalPresence()
        return
    shared = RedisPresence(request.getfixturevalue("redis_url"), prefix=f"test:{uuid.uuid4().hex[:8]}:")
    yield shared
    await shared.aclose()


async def test_joining_typing_and_leaving_are_news_once(store: PresenceStore) -> None:
    clock = FakeClock()
    assert await store.seen(room=ROOM, user_id=2, username="olga", now=clock.now())
    assert not await store.seen(room=ROOM, user_id=2, username="olga", now=clock.advance(seconds=10))
    assert await store.typing(room=ROOM, user_id=1, username="eddie", now=clock.now())
    assert not await store.typing(room=ROOM, user_id=1, username="eddie", now=clock.advance(seconds=2))

    shown = await store.snapshot(room=ROOM, now=clock.now())
    assert shown.to_json() == {"room": ROOM, "present": ["eddie", "olga"], "typing": ["eddie"]}
    assert shown.present[1].last_seen == clock.now() - timedelta(seconds=2)
    assert await store.stopped_typing(room=ROOM, user_id=1, now=clock.now())
    assert not await store.stopped_typing(room=ROOM, user_id=1, now=clock.now())
    assert await store.left(room=ROOM, user_id=1)
    assert not await store.left(room=ROOM, user_id=1)
    assert (await store.snapshot(room=ROOM, now=clock.now())).to_json()["present"] == ["olga"]


async def test_typing_and_presence_expire_and_the_sweep_names_the_room(store: PresenceStore) -> None:
    clock = FakeClock()
    await store.seen(room=ROOM, user_id=2, username="olga", now=clock.now())
    await store.typing(room=ROOM, user_id=1, username="eddie", now=clock.advance(seconds=30))

    assert (await store.snapshot(room=ROOM, now=clock.advance(TYPING_TTL))).typing == ()
    assert await store.expire(now=clock.now()) == {ROOM}
    assert await store.expire(now=clock.now()) == set()
    clock.advance(seconds=30 - TYPING_TTL.total_seconds())  # olga quiet for the whole lifetime
    assert (await store.snapshot(room=ROOM, now=clock.now())).to_json()["present"] == ["eddie"]
    assert await store.expire(now=clock.now()) == {ROOM}
    assert await store.expire(now=clock.advance(PRESENCE_TTL)) == {ROOM}
    assert (await store.snapshot(room=ROOM, now=clock.now())).present == ()
    assert await store.expire(now=clock.now()) == set()


@pytest.mark.redis
async def test_a_shared_change_is_news_to_one_worker_only(redis_url: str) -> None:
    clock, prefix = FakeClock(), f"test:{uuid.uuid4().hex[:8]}:"
    one, two = RedisPresence(redis_url, prefix=prefix), RedisPresence(redis_url, prefix=prefix)
    try:
        assert await one.seen(room=ROOM, user_id=2, username="olga", now=clock.now())
        assert not await two.seen(room=ROOM, user_id=2, username="olga", now=clock.now())
        assert await two.typing(room=ROOM, user_id=2, username="olga", now=clock.now())
        assert await one.stopped_typing(room=ROOM, user_id=2, now=clock.now())
        clock.advance(PRESENCE_TTL)
        assert await two.expire(now=clock.now()) == {ROOM}
        assert await one.expire(now=clock.now()) == set()
        assert (await one.snapshot(room=ROOM, now=clock.now())).present == ()
    finally:
        await one.aclose()
        await two.aclose()


@pytest.mark.redis
async def test_the_app_shares_its_board_through_redis_when_configured(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUANTA_REDIS_URL", raising=False)
    forget_app_singletons()
    assert isinstance(chat_live().board, LocalPresence)
    monkeypatch.setenv("QUANTA_REDIS_URL", redis_url)
    forget_app_singletons()
    try:
        assert isinstance(chat_live().board, RedisPresence)
        await chat_live().close()
    finally:
        forget_app_singletons()


class _Racing(LocalPresence):
    """A board where eddie arrives (on another worker) just after olga's arrival is read."""

    async def snapshot(self, *, room: str, now: datetime) -> RoomPresence:
        shown = await super().snapshot(room=room, now=now)
        if shown.to_json()["present"] == ["olga"]:
            self.board.seen(room=room, user_id=1, username="eddie", now=now)
        return shown


async def test_a_change_made_while_publishing_is_published_too() -> None:
    clock, hub = FakeClock(), Hub()
    live = ChatLive(hub, board=_Racing(), clock=clock)
    live.declare(ROOM)
    follower = Outbox()
    await hub.subscribe(presence_topic(ROOM), follower)
    try:
        await live.presence(room=ROOM, user_id=2, username="olga", action="here")
    finally:
        await live.close()
    deltas = [frame for frame in map(json.loads, follower.take_nowait()) if frame["kind"] == "delta"]
    assert [delta["data"]["present"] for delta in deltas] == [["olga"], ["eddie", "olga"]]

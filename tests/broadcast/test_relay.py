"""Several app workers: hubs sharing topics through a real Redis number messages alike, so a client
may resume on any worker; a worker that missed messages, or starts late, catches up from the log."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from quanta.broadcast import Hub, LastN, Outbox, RedisLease, RedisRelay
from tests.broadcast.conftest import eventually, frames, kinds

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

TOPIC = "contest.7.board"


@contextlib.asynccontextmanager
async def worker(redis_url: str, prefix: str, *, history: int = 1024) -> AsyncIterator[Hub]:
    """One worker's hub, relayed through Redis, running and caught up."""
    relay = RedisRelay(redis_url, prefix=prefix, history=history)
    hub = Hub(relay=relay)
    hub.declare(TOPIC, view=LastN(1000))
    try:
        async with hub.running():
            await asyncio.wait_for(relay.connected.wait(), 10)
            yield hub
    finally:
        await relay.aclose()


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex[:8]}:"


def ring(hub: Hub) -> list[tuple[int, str]]:
    return list(hub._topics[TOPIC].ring)


async def test_two_workers_number_every_message_alike(redis_url: str, prefix: str) -> None:
    async with worker(redis_url, prefix) as one, worker(redis_url, prefix) as two:
        seqs = [await (one if n % 3 else two).publish(TOPIC, {"n": n}) for n in range(20)]
        await eventually(lambda: one.last_seq(TOPIC) == two.last_seq(TOPIC) == 20, what="both at 20")

        assert sorted(seqs) == list(range(1, 21))
        assert one.epoch(TOPIC) == two.epoch(TOPIC)
        assert ring(one) == ring(two)  # the very same frames, in the same order


async def test_a_client_resumes_on_the_other_worker_without_gaps_or_duplicates(
    redis_url: str, prefix: str
) -> None:
    async with worker(redis_url, prefix) as one, worker(redis_url, prefix) as two:
        first = Outbox()
        await one.subscribe(TOPIC, first)
        for n in range(5):
            await one.publish(TOPIC, n)
        await eventually(lambda: one.last_seq(TOPIC) == 5)
        seen = frames(first)
        last = max(f["seq"] for f in seen if f["kind"] == "delta")
        epoch = next(f["epoch"] for f in seen if f["kind"] == "snapshot")
        one.unsubscribe(TOPIC, first)  # the connection drops; the client reconnects elsewhere
        for n in range(5, 9):
            await two.publish(TOPIC, n)
        await eventually(lambda: two.last_seq(TOPIC) == 9)

        second = Outbox()
        await two.subscribe(TOPIC, second, after=last, epoch=epoch)
        resumed = frames(second)

    assert last == 5
    assert [(f["seq"], f["data"]) for f in resumed if f["kind"] == "delta"] == [
        (s, s - 1) for s in range(6, 10)
    ]
    assert "snapshot" not in {f["kind"] for f in resumed}


async def test_a_worker_that_starts_late_resumes_clients_from_the_log(redis_url: str, prefix: str) -> None:
    async with worker(redis_url, prefix) as one:
        for n in range(6):
            await one.publish(TOPIC, n)
        epoch = one.epoch(TOPIC)
        await eventually(lambda: one.last_seq(TOPIC) == 6)

        async with worker(redis_url, prefix) as late:
            resumed, fresh = Outbox(), Outbox()
            await late.subscribe(TOPIC, resumed, after=2, epoch=epoch)
            await late.subscribe(TOPIC, fresh)

    assert [f["seq"] for f in frames(resumed) if f["kind"] == "delta"] == [3, 4, 5, 6]
    snapshot = frames(fresh)[0]
    assert (snapshot["kind"], snapshot["seq"], snapshot["data"]) == ("snapshot", 6, list(range(6)))


async def test_messages_missed_while_a_worker_was_away_are_filled_from_the_log(
    redis_url: str, prefix: str
) -> None:
    async with worker(redis_url, prefix) as one:
        relay = RedisRelay(redis_url, prefix=prefix)
        away = Hub(relay=relay)
        away.declare(TOPIC, view=LastN(1000))
        async with away.running():
            await asyncio.wait_for(relay.connected.wait(), 10)
            await one.publish(TOPIC, 0)
            await eventually(lambda: away.last_seq(TOPIC) == 1)
        follower = Outbox()
        await away.subscribe(TOPIC, follower)  # the hub is not running: its relay is away
        for n in range(1, 4):
            await one.publish(TOPIC, n)  # published while the second worker hears nothing
        async with away.running():
            await one.publish(TOPIC, 4)
            await eventually(lambda: away.last_seq(TOPIC) == 5, what="the away worker caught up")
        await relay.aclose()

    got = frames(follower)
    assert kinds(got) == [("snapshot", 1), ("status", 1), *[("delta", s) for s in range(2, 6)]]


async def test_a_gap_the_log_no_longer_covers_sends_subscribers_back_for_a_snapshot(
    redis_url: str, prefix: str
) -> None:
    async with worker(redis_url, prefix, history=2) as one:
        relay = RedisRelay(redis_url, prefix=prefix, history=2)
        away = Hub(relay=relay)
        away.declare(TOPIC, view=LastN(1000))
        async with away.running():
            await asyncio.wait_for(relay.connected.wait(), 10)
            await one.publish(TOPIC, 0)
            await eventually(lambda: away.last_seq(TOPIC) == 1)
        follower = Outbox()
        await away.subscribe(TOPIC, follower)
        follower.take_nowait()
        for n in range(1, 6):
            await one.publish(TOPIC, n)  # five missed, the log keeps two
        async with away.running():
            await eventually(lambda: away.last_seq(TOPIC) == 6, what="the away worker caught up")
            got = frames(follower)
            await away.subscribe(TOPIC, follower, after=1, epoch=one.epoch(TOPIC))
            again = frames(follower)
        await relay.aclose()

    assert kinds(got) == [("resync", 1)]  # 5 and 6 came from the log, but 2 to 4 are gone
    assert kinds(again)[0] == ("snapshot", 6)
    assert away.stats.gaps == 1


async def test_a_flushed_redis_starts_a_new_epoch_and_clients_get_a_snapshot(
    redis_url: str, prefix: str
) -> None:
    async with worker(redis_url, prefix) as one:
        await one.publish(TOPIC, "old")
        await eventually(lambda: one.last_seq(TOPIC) == 1)
        old_epoch = one.epoch(TOPIC)
        follower = Outbox()
        await one.subscribe(TOPIC, follower, after=1, epoch=old_epoch)
        follower.take_nowait()
        client = aioredis.Redis.from_url(redis_url)
        await client.delete(*RedisRelay(redis_url, prefix=prefix).keys(TOPIC))
        await client.aclose()

        seq = await one.publish(TOPIC, "new")
        await eventually(lambda: one.epoch(TOPIC) != old_epoch, what="the new epoch reached the hub")
        got = frames(follower)
        await one.subscribe(TOPIC, follower, after=1, epoch=old_epoch)
        again = frames(follower)

    assert seq == 1
    assert kinds(got) == [("resync", 0)]
    assert (again[0]["kind"], again[0]["seq"], again[0]["data"][-1]) == ("snapshot", 1, "new")


async def test_one_worker_at_a_time_holds_the_lease_and_another_takes_over(
    redis_url: str, prefix: str
) -> None:
    running: list[str] = []

    def work(name: str) -> asyncio.Future[None]:
        async def body() -> None:
            running.append(name)
            try:
                await asyncio.Event().wait()
            finally:
                running.remove(name)

        return asyncio.ensure_future(body())

    first = RedisLease(redis_url, "market", ttl=0.6, prefix=prefix)
    second = RedisLease(redis_url, "market", ttl=0.6, prefix=prefix)
    one = asyncio.create_task(first.run(lambda: work("first")))
    await eventually(lambda: running == ["first"])
    two = asyncio.create_task(second.run(lambda: work("second")))
    await asyncio.sleep(1.0)
    assert running == ["first"]

    one.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await one
    await eventually(lambda: running == ["second"], what="the second worker took over")
    two.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await two
    assert running == []


async def test_a_restart_on_one_worker_sends_every_workers_subscribers_back(
    redis_url: str, prefix: str
) -> None:
    async with worker(redis_url, prefix) as one, worker(redis_url, prefix) as two:
        await one.publish(TOPIC, "before")
        await eventually(lambda: one.last_seq(TOPIC) == two.last_seq(TOPIC) == 1)
        old_epoch = two.epoch(TOPIC)
        here, there = Outbox(), Outbox()
        await one.subscribe(TOPIC, here)
        await two.subscribe(TOPIC, there)
        here.take_nowait()
        there.take_nowait()

        await one.restart(TOPIC)  # e.g. after a ban: everyone asks the topic rule again
        await eventually(
            lambda: one.epoch(TOPIC) == two.epoch(TOPIC) != old_epoch, what="both workers in the new epoch"
        )
        sent_back = (frames(here), frames(there))
        seq = await two.publish(TOPIC, "after")
        await eventually(lambda: one.last_seq(TOPIC) == 1)
        again = Outbox()
        await one.subscribe(TOPIC, again, after=1, epoch=old_epoch)
        resumed = frames(again)

    assert [kinds(got) for got in sent_back] == [[("resync", 0)], [("resync", 0)]]
    assert seq == 1  # the new epoch numbers from 1
    assert (resumed[0]["kind"], resumed[0]["seq"], resumed[0]["data"][-1]) == ("snapshot", 1, "after")

"""Two app workers on a real Redis: both declare the board, only the holder of the lease runs the
competition, and a browser on either worker sees the same board, numbered alike, to the final ranking."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from quanta.broadcast import Hub, RedisLease, RedisRelay
from quanta.competitions.board import board_topic
from quanta.competitions.lifecycle import CompetitionHost, Plan
from quanta.competitions.models import Metric, StoredEntry
from quanta.competitions.service import enter, scoring_rules
from quanta.paper.events import FillEvent, encode_fill
from quanta.sandbox import Job, JobStatus
from quanta.settings import Settings
from quanta.streaming import Bar, InProcessBus, Topics, Transport, encode_bar
from quanta.testing.clock import FakeClock
from tests.competitions.conftest import Cast, organise
from tests.competitions.test_lifecycle import Frames, until

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@asynccontextmanager
async def worker(redis_url: str, prefix: str, host: CompetitionHost) -> AsyncIterator[None]:
    """One worker: its hub relayed through Redis, the board watch, and the lead under the shared lease."""
    relay = host.hub.relay
    assert isinstance(relay, RedisRelay)
    lease = RedisLease(redis_url, "competitions", ttl=1.0, prefix=prefix)
    async with host.hub.running():
        await asyncio.wait_for(relay.connected.wait(), 10)
        tasks = [asyncio.create_task(host.watch()), asyncio.create_task(lease.run(host.lead))]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    await relay.aclose()


async def test_one_worker_leads_and_both_serve_the_same_board(
    settings: Settings, unit: Session, cast: Cast, redis_url: str
) -> None:
    now = datetime.now(UTC)
    competition = organise(
        unit,
        FakeClock(now),
        cast.admin,
        symbols=["AAA"],
        starts_at=now + timedelta(seconds=2),
        ends_at=now + timedelta(seconds=5),
        metric=Metric.RETURN,
        replay_start=None,
        replay_end=None,
        mode="live",
    )
    for person, strategy in ((cast.alice, cast.alice_strategy), (cast.bob, cast.bob_strategy)):
        enter(session=unit, actor=person, competition=competition, strategy_id=strategy.public_id, now=now)
    unit.commit()
    for job in unit.exec(select(Job)).all():
        job.status = JobStatus.SUCCEEDED
        unit.add(job)
    unit.commit()
    alice, bob = (e.public_id for e in unit.exec(select(StoredEntry)).all())
    rules = scoring_rules(competition)
    bus, topics, opened = InProcessBus(), Topics(namespace="workers."), []

    @asynccontextmanager
    async def market(plan: Plan) -> AsyncIterator[tuple[Transport, Topics]]:
        opened.append(plan.competition)
        yield bus, topics

    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    hosts = [
        CompetitionHost(
            Hub(relay=RedisRelay(redis_url, prefix=prefix)), settings, market_for=market, poll=0.1
        )
        for _ in range(2)
    ]
    topic = board_topic(competition.public_id)
    async with worker(redis_url, prefix, hosts[0]), worker(redis_url, prefix, hosts[1]):
        await until(lambda: all(h.hub.declared(topic) for h in hosts))
        await until(lambda: bool(opened))
        for i, price in enumerate([10.0, 11.0, 9.5]):
            start = rules.start_ms + i * 1000
            await bus.publish(
                topics.bars("1s"), "AAA", encode_bar(Bar("AAA", "1s", start, *[price] * 4, 1.0, 1))
            )
            account, size = (alice, 100.0) if i == 0 else (bob, -100.0)
            fill = FillEvent(
                account=account,
                fill_id=f"{account}:{i}",
                order_id=f"o{i}",
                seq=i + 1,
                symbol="AAA",
                size=size,
                price=price,
                commission=0.0,
                ts=start + 1,
            )
            await bus.publish(topics.fills, account, encode_fill(fill))
            await asyncio.sleep(0.3)
        await until(lambda: any(h.finished for h in hosts), timeout=20)
        await until(lambda: hosts[0].hub.last_seq(topic) == hosts[1].hub.last_seq(topic))
        snapshots = []
        for host in hosts:
            frames = Frames()
            await host.hub.subscribe(topic, frames)
            snapshots.append(next(f for f in frames.frames if f["kind"] == "snapshot"))

    assert opened == [competition.public_id]  # one worker ran the competition
    assert sum(len(h.finished) for h in hosts) == 1
    first, second = snapshots
    assert (first["seq"], first["epoch"]) == (second["seq"], second["epoch"])
    assert json.dumps(first["data"], sort_keys=True) == json.dumps(second["data"], sort_keys=True)
    data = first["data"]
    assert isinstance(data, dict)
    assert data["final"] is True
    assert [row["id"] for row in data["rows"]] == [bob, alice]  # bob sold at 11, alice bought at 10

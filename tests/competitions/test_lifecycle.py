"""The host runs a short competition end to end on a real hub and app database: it starts at its start,
scores the fills and bars of its market, pushes the board to the hub's subscribers as it moves, and at the
end freezes the final ranking (equal to the batch recomputation) with each entry's receipt."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from quanta.broadcast import Hub
from quanta.competitions.board import board_topic
from quanta.competitions.lifecycle import CompetitionHost, Plan
from quanta.competitions.models import CompetitionStatus, Metric, StoredEntry
from quanta.competitions.scoring import score_batch
from quanta.competitions.service import competition_by_public_id, enter, scoring_rules
from quanta.paper.events import FillEvent, encode_fill
from quanta.sandbox import Job, JobStatus
from quanta.settings import Settings
from quanta.streaming import Bar, InProcessBus, Topics, Transport, encode_bar
from quanta.testing.clock import FakeClock
from tests.competitions.conftest import Cast, organise

pytestmark = pytest.mark.anyio


class Frames:
    """A hub sink that keeps every frame."""

    def __init__(self) -> None:
        self.frames: list[dict[str, object]] = []

    def offer(self, frame: str) -> bool:
        self.frames.extend(json.loads(line) for line in frame.split("\n"))
        return True

    def force(self, frame: str) -> None:
        self.offer(frame)


def fill_of(account: str, *, size: float, ts: int) -> FillEvent:
    return FillEvent(
        account=account,
        fill_id=f"{account}:1",
        order_id=f"{account}:o",
        seq=1,
        symbol="AAA",
        size=size,
        price=10.0,
        commission=1.0,
        ts=ts,
    )


def accept_all(unit: Session) -> None:
    for job in unit.exec(select(Job)).all():
        job.status = JobStatus.SUCCEEDED
        unit.add(job)
    unit.commit()


async def test_the_host_runs_a_competition_and_freezes_the_final_ranking(
    settings: Settings, unit: Session, cast: Cast
) -> None:
    now = datetime.now(UTC)
    competition = organise(
        unit,
        FakeClock(now),
        cast.admin,
        symbols=["AAA"],
        starts_at=now + timedelta(seconds=1),
        ends_at=now + timedelta(seconds=5),
        metric=Metric.RETURN,
        replay_start=None,
        replay_end=None,
        mode="live",
    )
    for person, strategy in ((cast.alice, cast.alice_strategy), (cast.bob, cast.bob_strategy)):
        enter(session=unit, actor=person, competition=competition, strategy_id=strategy.public_id, now=now)
    unit.commit()
    accept_all(unit)
    alice, bob = unit.exec(select(StoredEntry).order_by(col(StoredEntry.id))).all()
    rules = scoring_rules(competition)
    bus, topics = InProcessBus(), Topics(namespace="host.")
    bars = [
        Bar("AAA", "1s", rules.start_ms + i * 1000, p, p, p, p, 1.0, 1)
        for i, p in enumerate([10.0, 11.0, 12.0])
    ]
    fills = [
        fill_of(alice.public_id, size=100, ts=rules.start_ms + 10),
        fill_of(bob.public_id, size=-50, ts=rules.start_ms + 20),
    ]
    opened: list[Plan] = []

    @asynccontextmanager
    async def market(plan: Plan) -> AsyncIterator[tuple[Transport, Topics]]:
        opened.append(plan)
        yield bus, topics

    hub = Hub()
    host = CompetitionHost(hub, settings, market_for=market, poll=0.1)
    tasks = [asyncio.create_task(host.lead()), asyncio.create_task(host.watch())]
    topic = board_topic(competition.public_id)
    await until(lambda: hub.declared(topic))
    frames = Frames()
    await hub.subscribe(topic, frames)
    await until(lambda: bool(opened))
    for bar, fill in zip(bars, [*fills, None], strict=True):
        await bus.publish(topics.bars("1s"), "AAA", encode_bar(bar))
        if fill is not None:
            await bus.publish(topics.fills, fill.account, encode_fill(fill))
        await asyncio.sleep(0.2)
    await until(lambda: competition.public_id in host.finished, timeout=15)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    unit.expire_all()
    assert (
        competition_by_public_id(session=unit, public_id=competition.public_id).status
        is CompetitionStatus.FINISHED
    )
    alice, bob = unit.exec(select(StoredEntry).order_by(col(StoredEntry.id))).all()
    batch = score_batch(rules=rules, accounts=[alice.public_id, bob.public_id], fills=fills, bars=bars)
    assert (alice.final_rank, bob.final_rank) == (1, 2)
    assert alice.final_return_pct == batch[alice.public_id].return_pct
    assert bob.final_return_pct == batch[bob.public_id].return_pct
    assert alice.receipt is not None
    assert alice.receipt["fills"] == 1
    deltas = [f for f in frames.frames if f["kind"] == "delta"]
    assert len(deltas) >= 3  # the board moved while the competition ran
    assert deltas[-1]["data"]["final"] is True  # type: ignore[index]
    seqs = [f["seq"] for f in deltas]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)

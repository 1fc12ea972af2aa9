"""The app scores a live competition on Kafka with the Flink scores job (``QUANTA_FLINK_SCORES``): the
host starts the job for the run and stops it at the end, the hub board moves with the job's scores, the
host publishes no score itself, and the frozen final ranking equals the batch recomputation.

Real Kafka broker, real Flink mini cluster (``.venv-flink``), real hub and app database; bars and fills go
straight to their Kafka topics (no paper desk)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.broadcast import Hub
from quanta.competitions.board import board_topic
from quanta.competitions.events import ScoreEvent, decode_score
from quanta.competitions.lifecycle import CompetitionHost, Plan
from quanta.competitions.models import Metric, StoredEntry
from quanta.competitions.ranking import rank
from quanta.competitions.scoring import Figures, ScoringRules, score_batch
from quanta.competitions.service import enter, scoring_rules
from quanta.paper.events import FillEvent, encode_fill
from quanta.settings import Settings
from quanta.streaming import Bar, InProcessBus, Topics, encode_bar
from quanta.testing.clock import FakeClock
from quanta_app.competitions import scores_for
from tests.competitions import conftest as competitions
from tests.competitions.conftest import Cast, organise
from tests.competitions.test_lifecycle import Frames, accept_all
from tests.flink.conftest import read_committed

# the competitions' fixtures: an app database, its settings, a site admin and two entrants
competition_sqlite_template, database_url = (
    competitions.competition_sqlite_template,
    competitions.database_url,
)
settings, unit, clock, cast = competitions.settings, competitions.unit, competitions.clock, competitions.cast

DURATION_S = 25
"""Long enough for the Flink job to start and commit scores before the competition ends."""


class CountingKafka(KafkaTransport):
    """The competition's market, counting the records the host publishes per topic."""

    def __init__(self, bootstrap: str) -> None:
        super().__init__(bootstrap, client_id="test-app-scores")
        self.sent: Counter[str] = Counter()

    async def publish(
        self, topic: str, key: str | None, value: bytes, *, timestamp_ms: int | None = None
    ) -> None:
        self.sent[topic] += 1
        await super().publish(topic, key, value, timestamp_ms=timestamp_ms)


def market(rules: ScoringRules, accounts: list[str]) -> tuple[list[Bar], list[FillEvent]]:
    """A bar of AAA for every window of the competition; each entry trades now and then."""
    rng = random.Random(3)
    bars: list[Bar] = []
    fills: list[FillEvent] = []
    price = 100.0
    for start in range(rules.start_ms, rules.end_ms, rules.width_ms):
        price = round(price * (1 + rng.gauss(0, 0.02)), 4)
        bars.append(Bar("AAA", "1s", start, price, price, price, price, 1.0, 1))
        for account in accounts:
            if rng.random() < 0.3:
                seq = sum(1 for f in fills if f.account == account) + 1
                fills.append(
                    FillEvent(
                        account=account,
                        fill_id=f"{account}:{seq}",
                        order_id=f"{account}:{seq}",
                        seq=seq,
                        symbol="AAA",
                        size=rng.choice([-10.0, 10.0]),
                        price=price,
                        commission=1.0,
                        ts=start + rng.randrange(1000),
                    )
                )
    return bars, fills


async def until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_the_app_scores_in_process_without_the_setting_or_on_another_bus(tmp_path: Path) -> None:
    plan = Plan(
        competition="cp_1",
        rules=ScoringRules(capital=1.0, symbols=frozenset({"AAA"})),
        symbols=("AAA",),
        replay_start=None,
        replay_end=None,
        entered={},
        labels={},
        sources={},
    )
    on = Settings(var_dir=tmp_path, kafka_bootstrap="127.0.0.1:1", flink_scores=True)
    off = on.model_copy(update={"flink_scores": False})
    kafka = KafkaTransport("127.0.0.1:1", client_id="test-app-scores-gate")
    assert scores_for(plan, kafka, Topics(), settings=off) is None
    assert scores_for(plan, InProcessBus(), Topics(), settings=on) is None  # a replay's bus
    assert scores_for(plan, kafka, Topics(), settings=on) is not None  # not entered: nothing starts


@pytest.mark.anyio
@pytest.mark.kafka
@pytest.mark.flink
@pytest.mark.slow
async def test_the_app_scores_a_live_kafka_competition_with_the_flink_job(
    settings: Settings, unit: Session, cast: Cast, kafka_bootstrap: str, flink_python: Path
) -> None:
    now = datetime.now(UTC)
    competition = organise(
        unit,
        FakeClock(now),
        cast.admin,
        symbols=["AAA"],
        starts_at=now + timedelta(seconds=1),
        ends_at=now + timedelta(seconds=DURATION_S),
        metric=Metric.RETURN,
        replay_start=None,
        replay_end=None,
        mode="live",
    )
    for person, strategy in ((cast.alice, cast.alice_strategy), (cast.bob, cast.bob_strategy)):
        enter(session=unit, actor=person, competition=competition, strategy_id=strategy.public_id, now=now)
    unit.commit()
    accept_all(unit)
    accounts = [e.public_id for e in unit.exec(select(StoredEntry).order_by(col(StoredEntry.id))).all()]
    rules = scoring_rules(competition)
    bars, fills = market(rules, accounts)
    topics = Topics(namespace=f"app-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka_bootstrap, [topics.bars("1s"), topics.fills, topics.scores])
    app_settings = settings.model_copy(update={"kafka_bootstrap": kafka_bootstrap, "flink_scores": True})
    markets: list[CountingKafka] = []

    @asynccontextmanager
    async def kafka_market(plan: Plan) -> AsyncIterator[tuple[KafkaTransport, Topics]]:
        markets.append(CountingKafka(kafka_bootstrap))
        try:
            yield markets[-1], topics
        finally:
            await markets[-1].aclose()

    hub = Hub()
    host = CompetitionHost(
        hub,
        settings,
        market_for=kafka_market,
        scores_for=lambda plan, transport, t: scores_for(plan, transport, t, settings=app_settings),
        poll=0.1,
    )
    tasks = [asyncio.create_task(host.lead()), asyncio.create_task(host.watch())]
    topic = board_topic(competition.public_id)
    frames = Frames()
    try:
        await until(lambda: hub.declared(topic), timeout=10)
        await hub.subscribe(topic, frames)
        await until(lambda: bool(markets), timeout=10)
        feed = KafkaTransport(kafka_bootstrap, client_id="test-app-scores-feed")
        try:
            for bar in bars:
                await feed.publish(topics.bars("1s"), "AAA", encode_bar(bar))
            for fill in fills:
                await feed.publish(topics.fills, fill.account, encode_fill(fill))
            await feed.flush()
        finally:
            await feed.aclose()
        await until(lambda: competition.public_id in host.finished, timeout=DURATION_S + 30)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    batch = score_batch(rules=rules, accounts=accounts, fills=fills, bars=bars)
    deltas = [f["data"] for f in frames.frames if f["kind"] == "delta"]
    moved = [d for d in deltas if not d["final"] and any(row["trades"] for row in d["rows"])]  # type: ignore[index]
    assert moved, "the board did not move with the Flink job's scores before the end"

    assert markets[0].sent[topics.scores] == 0, "the host published scores itself"
    got = await read_committed(kafka_bootstrap, {topics.scores: 1}, linger=1.0)
    events = [decode_score(value) for value in got.values[topics.scores]]
    revisions: dict[str, list[int]] = defaultdict(list)
    for event in events:
        revisions[event.entry].append(event.rev)
    assert set(revisions) == set(accounts)
    assert all(revs == list(range(1, len(revs) + 1)) for revs in revisions.values()), dict(revisions)

    latest = {event.entry: event for event in events if event.rev == len(revisions[event.entry])}
    assert {a: Figures(**figures(latest[a])) for a in accounts} == batch  # the job's last scores

    unit.expire_all()
    stored = unit.exec(select(StoredEntry).order_by(col(StoredEntry.id))).all()
    entered = {account: n for n, account in enumerate(accounts)}
    expected = rank([dataclasses.replace(latest[a], **figures(batch[a])) for a in accounts], entered=entered)
    assert {e.public_id: e.final_rank for e in stored} == {r.event.entry: r.rank for r in expected}
    assert {e.public_id: e.final_return_pct for e in stored} == {a: batch[a].return_pct for a in accounts}
    assert {e.public_id: e.final_score for e in stored} == {a: batch[a].score for a in accounts}
    assert {e.public_id: (e.receipt or {}).get("fills") for e in stored} == Counter(f.account for f in fills)


def figures(of: ScoreEvent | Figures) -> dict[str, Any]:
    """The figures of a score (or of a batch standing)."""
    return {name: getattr(of, name) for name in Figures.__dataclass_fields__}

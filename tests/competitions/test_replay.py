"""A short replayed competition end to end: stored GOOG bars replayed as live bars, two entries trading
them on the real paper desk (sandboxed strategy processes), the scores, the board, the frozen final
ranking — equal to the batch recomputation from the fills and bars the desk stored."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from quanta.broadcast import Hub
from quanta.competitions.lifecycle import CompetitionHost, Plan, replay_market
from quanta.competitions.models import CompetitionStatus, StoredEntry
from quanta.competitions.ranking import rank
from quanta.competitions.scoring import CompetitionScorer, ScoringRules
from quanta.competitions.service import competition_by_public_id, enter, scoring_rules
from quanta.data import SOURCES, connect, load_bundled
from quanta.paper.desk import PaperDesk
from quanta.paper.store import PaperStore
from quanta.sandbox import Job, JobStatus
from quanta.settings import Settings
from quanta.streaming import Bar, Topics, Transport, load_bars
from quanta.testing.clock import FakeClock
from quanta.workspace.models import VersionCreate
from quanta.workspace.service import create_version
from tests.competitions.conftest import Cast, organise

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

BUY_AND_HOLD = """from quanta import Strategy


class BuyAndHold(Strategy):
    def init(self) -> None:
        pass

    def next(self) -> None:
        if not self.position:
            self.buy()
"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The test's app database and a market store with the bokeh sample stocks."""
    store = Settings(var_dir=tmp_path, duckdb_path=tmp_path / "market.duckdb")
    con = connect(store)
    load_bundled(con, sources=tuple(s for s in SOURCES if s.package == "bokeh-sampledata"))
    con.disconnect()
    return Settings(var_dir=tmp_path, duckdb_path=tmp_path / "market.duckdb", database_url=database_url)


def daily_bars_on_the_clock(settings: Settings, rules: ScoringRules) -> list[Bar]:
    """The stored daily GOOG bars of the window as the replay stamps them: trading day ``d`` is the window
    ``origin + d × interval`` (the replay at one trading day per bar reproduces the daily bars)."""
    con = connect(settings, read_only=True)
    table = load_bars(con, ["GOOG"], start=date(2012, 1, 3), end=date(2012, 1, 31)).sort_by("ts")
    con.disconnect()
    origin = -(-rules.start_ms // rules.width_ms) * rules.width_ms
    closes = table.column("close").to_pylist()
    return [Bar("GOOG", "1s", origin + d * rules.width_ms, c, c, c, c, 1.0, 1) for d, c in enumerate(closes)]


async def test_a_replayed_competition_trades_on_the_desk_and_freezes_the_batch_ranking(
    settings: Settings, unit: Session, cast: Cast
) -> None:
    now = datetime.now(UTC)
    create_version(
        session=unit,
        actor=cast.bob,
        strategy=cast.bob_strategy,
        version_in=VersionCreate(source=BUY_AND_HOLD),
        now=FakeClock(now).now(),
    )
    competition = organise(
        unit,
        FakeClock(now),
        cast.admin,
        replay_start=date(2012, 1, 3),
        replay_end=date(2012, 1, 31),
        starts_at=now + timedelta(seconds=2),
        ends_at=now + timedelta(seconds=24),
        capital=10_000.0,
    )
    assert competition.interval == "1s"
    for person, strategy in ((cast.alice, cast.alice_strategy), (cast.bob, cast.bob_strategy)):
        enter(session=unit, actor=person, competition=competition, strategy_id=strategy.public_id, now=now)
    unit.commit()
    for job in unit.exec(select(Job)).all():
        job.status = JobStatus.SUCCEEDED
        unit.add(job)
    unit.commit()

    def market(plan: Plan):  # type: ignore[no-untyped-def]
        return replay_market(plan, settings)

    def desk(transport: Transport, topics: Topics) -> PaperDesk:
        return PaperDesk(transport, topics, settings)

    host = CompetitionHost(Hub(), settings, market_for=market, desk_for=desk, poll=0.2)
    lead = asyncio.create_task(host.lead())
    deadline = time.monotonic() + 90
    while competition.public_id not in host.finished:
        assert time.monotonic() < deadline, "the competition did not finish"
        await asyncio.sleep(0.2)
    lead.cancel()
    await asyncio.gather(lead, return_exceptions=True)

    unit.expire_all()
    assert (
        competition_by_public_id(session=unit, public_id=competition.public_id).status
        is CompetitionStatus.FINISHED
    )
    entries = unit.exec(select(StoredEntry).order_by(col(StoredEntry.id))).all()
    accounts = [e.public_id for e in entries]
    store = PaperStore(settings)
    fills = [f for account in accounts for f in store.load(account, ["GOOG"]).fills]
    bob_fills = [f for f in fills if f.account == accounts[1]]
    assert bob_fills, "buy and hold bought on the desk"
    bars = daily_bars_on_the_clock(settings, scoring_rules(competition))
    rules = scoring_rules(competition)
    batch = CompetitionScorer(competition.public_id, rules, accounts)
    batch.ingest(fills=fills, bars=bars)
    expected = rank(batch.events(), entered={a: i for i, a in enumerate(accounts)})
    assert [(e.final_rank, e.final_return_pct) for e in entries] == [
        next((r.rank, r.event.return_pct) for r in expected if r.event.entry == e.public_id) for e in entries
    ]
    assert entries[1].receipt is not None
    assert entries[1].receipt["fills"] == len(bob_fills)
    assert entries[1].receipt["marks"] == len([b for b in bars if b.start < rules.end_ms])

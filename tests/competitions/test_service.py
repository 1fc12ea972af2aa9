"""Competition services on the app database: who organises, entering, the lifecycle, the frozen final
ranking with receipts, and the badges it gives; the migration matches the models."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from pydantic import ValidationError
from sqlmodel import Session, col, select

from quanta import db
from quanta.accounts.errors import NotAllowed, NotFound
from quanta.competitions.errors import Conflict, EntryRefused, InvalidInput
from quanta.competitions.events import ScoreEvent
from quanta.competitions.models import CompetitionStatus, EntryStatus, Metric
from quanta.competitions.ranking import rank
from quanta.competitions.service import (
    advance,
    badges_of,
    competition_view,
    enter,
    entries_of,
    entry_views,
    finish_competition,
    grant_admin,
    list_competitions,
    may_organise,
    refresh_entries,
    scoring_rules,
)
from quanta.sandbox import Job, JobStatus
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from quanta.workspace.models import StrategyCreate
from quanta.workspace.service import create_strategy
from tests.competitions.conftest import BACKENDS, SMA_CROSS, Cast, organise, terms
from tests.schema import schema_drift

TABLES = {"competition", "competition_entry"}


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_the_migrated_schema_matches_the_models(settings: Settings) -> None:
    assert schema_drift(db.engine(settings), TABLES) == []


def test_the_downgrade_drops_the_competitions_and_the_upgrade_brings_them_back(settings: Settings) -> None:
    config = db.alembic_config(settings.app_database_url)
    command.downgrade(config, "0008")
    after_downgrade = set(sa.inspect(db.engine(settings)).get_table_names())
    command.upgrade(config, "head")
    assert not after_downgrade & TABLES
    assert set(sa.inspect(db.engine(settings)).get_table_names()) >= TABLES


# ---- organising ------------------------------------------------------------------------------------------


def test_site_admins_and_organisation_managers_organise_and_members_do_not(
    unit: Session, clock: FakeClock, cast: Cast
) -> None:
    site = organise(unit, clock, cast.admin)
    hosted = organise(unit, clock, cast.org_owner, org="desk", title="Desk Derby")

    assert competition_view(session=unit, competition=site).host == "Quanta"
    assert competition_view(session=unit, competition=hosted).host == "Desk"
    assert site.symbols == ["GOOG"]
    assert site.status is CompetitionStatus.UPCOMING
    assert site.entry_deadline == site.starts_at
    with pytest.raises(NotAllowed):
        organise(unit, clock, cast.org_member, org="desk")
    with pytest.raises(NotAllowed):
        organise(unit, clock, cast.org_owner)
    assert may_organise(session=unit, user=cast.org_owner)
    assert not may_organise(session=unit, user=cast.alice)


def test_granting_admin_lets_a_person_organise(unit: Session, clock: FakeClock, cast: Cast) -> None:
    grant_admin(session=unit, email="ALICE@example.com ")
    unit.commit()
    assert organise(unit, clock, cast.alice).created_by_id == cast.alice.id
    with pytest.raises(InvalidInput):
        grant_admin(session=unit, email="nobody@example.com")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"metric": Metric.RETURN_DRAWDOWN}, "drawdown limit"),
        ({"drawdown_limit_pct": 10.0}, "drawdown limit"),
        ({"replay_start": None}, "replay window"),
        ({"symbols": []}, "at least 1"),
        ({"capital": -1}, "greater than 0"),
    ],
)
def test_inconsistent_terms_are_refused(clock: FakeClock, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        terms(clock, **overrides)


def test_a_start_in_the_past_is_refused(unit: Session, clock: FakeClock, cast: Cast) -> None:
    with pytest.raises(InvalidInput, match="past"):
        organise(unit, clock, cast.admin, starts_at=clock.now() - timedelta(hours=1))


# ---- entering ------------------------------------------------------------------------------------------


def test_an_entry_freezes_the_version_and_queues_its_validation(
    unit: Session, clock: FakeClock, cast: Cast
) -> None:
    competition = organise(unit, clock, cast.admin)

    entry = enter(
        session=unit,
        actor=cast.alice,
        competition=competition,
        strategy_id=cast.alice_strategy.public_id,
        now=clock.now(),
    )
    unit.commit()

    job = unit.exec(select(Job).where(col(Job.public_id) == entry.job_id)).one()
    assert (entry.status, entry.version, entry.strategy_title) == (EntryStatus.PENDING, 1, "ali cross")
    assert job.request.symbols == ["GOOG"]
    assert job.request.config["cash"] == 10_000.0
    assert job.public_id.startswith(cast.alice_strategy.public_id)
    view = entry_views(session=unit, entries=[entry])[0]
    assert view.user == "alice"
    assert "source" not in view.model_dump()


def test_entries_are_refused_for_others_strategies_over_the_limit_and_after_the_deadline(
    unit: Session, clock: FakeClock, cast: Cast
) -> None:
    competition = organise(unit, clock, cast.admin)
    enter(
        session=unit,
        actor=cast.alice,
        competition=competition,
        strategy_id=cast.alice_strategy.public_id,
        now=clock.now(),
    )

    with pytest.raises(Conflict, match="entered already"):
        enter(
            session=unit,
            actor=cast.alice,
            competition=competition,
            strategy_id=cast.alice_strategy.public_id,
            now=clock.now(),
        )
    with pytest.raises(NotFound):  # bob's strategy is private: alice is told it does not exist
        enter(
            session=unit,
            actor=cast.alice,
            competition=competition,
            strategy_id=cast.bob_strategy.public_id,
            now=clock.now(),
        )
    second = create_strategy(
        session=unit,
        owner=cast.alice,
        strategy_in=StrategyCreate(title="Another", source=SMA_CROSS),
        now=clock.now(),
    )
    with pytest.raises(EntryRefused, match="At most 1"):
        enter(
            session=unit,
            actor=cast.alice,
            competition=competition,
            strategy_id=second.public_id,
            now=clock.now(),
        )
    late = organise(unit, clock, cast.admin, entry_deadline=clock.now() + timedelta(hours=1))
    clock.advance(hours=2)
    with pytest.raises(EntryRefused, match="closed"):
        enter(
            session=unit,
            actor=cast.bob,
            competition=late,
            strategy_id=cast.bob_strategy.public_id,
            now=clock.now(),
        )


def test_validation_outcomes_accept_or_reject_with_the_runs_error(
    unit: Session, clock: FakeClock, cast: Cast
) -> None:
    competition = organise(unit, clock, cast.admin)
    good = enter(
        session=unit,
        actor=cast.alice,
        competition=competition,
        strategy_id=cast.alice_strategy.public_id,
        now=clock.now(),
    )
    bad = enter(
        session=unit,
        actor=cast.bob,
        competition=competition,
        strategy_id=cast.bob_strategy.public_id,
        now=clock.now(),
    )
    _finish_job(unit, good.job_id, JobStatus.SUCCEEDED)
    _finish_job(unit, bad.job_id, JobStatus.FAILED, error=("forbidden", "forbidden import os", 3))

    changed = refresh_entries(session=unit, competition=competition, now=clock.now())

    assert {e.public_id for e in changed} == {good.public_id, bad.public_id}
    assert good.status is EntryStatus.ACCEPTED
    assert (bad.status, bad.error) == (EntryStatus.REJECTED, "forbidden import os (line 3)")


def _finish_job(
    unit: Session, job_id: str | None, status: JobStatus, error: tuple[str, str, int] | None = None
) -> None:
    job = unit.exec(select(Job).where(col(Job.public_id) == job_id)).one()
    job.status = status
    if error:
        job.error_kind, job.error_message, job.error_line = error
    unit.add(job)
    unit.commit()


# ---- lifecycle, final ranking, badges --------------------------------------------------------------------


def _score(entry: str, ret: float, rev: int = 5) -> ScoreEvent:
    return ScoreEvent(
        competition="cp",
        entry=entry,
        rev=rev,
        ts=1000,
        marks=5,
        equity=10_000 * (1 + ret / 100),
        return_pct=ret,
        max_drawdown_pct=1.0,
        sharpe=0.5,
        sortino=None,
        calmar=None,
        trades=4,
        score=ret,
    )


def test_the_lifecycle_starts_rejects_unvalidated_entries_and_freezes_the_final_ranking(
    unit: Session, clock: FakeClock, cast: Cast
) -> None:
    competition = organise(unit, clock, cast.admin)
    alice = enter(
        session=unit,
        actor=cast.alice,
        competition=competition,
        strategy_id=cast.alice_strategy.public_id,
        now=clock.now(),
    )
    bob = enter(
        session=unit,
        actor=cast.bob,
        competition=competition,
        strategy_id=cast.bob_strategy.public_id,
        now=clock.now(),
    )
    _finish_job(unit, alice.job_id, JobStatus.SUCCEEDED)

    assert advance(session=unit, competition=competition, now=clock.now()) is CompetitionStatus.UPCOMING
    clock.advance(days=1)
    assert advance(session=unit, competition=competition, now=clock.now()) is CompetitionStatus.RUNNING
    assert (alice.status, bob.status) == (EntryStatus.ACCEPTED, EntryStatus.REJECTED)
    assert "did not end before the start" in (bob.error or "")
    assert scoring_rules(competition).start_ms == int(competition.starts_at.timestamp() * 1000)

    ranking = rank([_score(alice.public_id, 4.0), _score(bob.public_id, 9.0)])
    frozen = finish_competition(
        session=unit,
        competition=competition,
        ranking=ranking,
        receipts={alice.public_id: {"fills": 4}},
        now=clock.now(),
    )
    unit.commit()

    assert [e.public_id for e in frozen] == [alice.public_id]  # a rejected entry is never ranked
    assert (alice.final_rank, alice.final_return_pct, alice.final_trades) == (1, 4.0, 4)
    assert alice.receipt is not None
    assert alice.receipt["fills"] == 4
    assert alice.receipt["source_sha256"] == alice.source_sha256
    assert competition.status is CompetitionStatus.FINISHED
    with pytest.raises(Conflict):
        finish_competition(session=unit, competition=competition, ranking=ranking)
    badges = badges_of(session=unit, user_id=cast.alice.id or 0)
    assert [(b.title, b.rank, b.medal) for b in badges] == [("Spring Cup", 1, "gold")]
    assert badges_of(session=unit, user_id=cast.bob.id or 0) == []
    assert [c.public_id for c in list_competitions(session=unit, status=CompetitionStatus.FINISHED)] == [
        competition.public_id
    ]
    assert len(entries_of(session=unit, competition=competition)) == 2

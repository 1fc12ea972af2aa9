"""Entries are validated by a dry run in the real sandbox: a working strategy is accepted, one the sandbox
refuses is rejected with the run's error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlmodel import Session

from quanta import db
from quanta.competitions.models import Competition, EntryStatus, StoredEntry
from quanta.competitions.service import enter, refresh_entries
from quanta.data import SOURCES, connect, load_bundled
from quanta.sandbox import start_workers
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from quanta.workspace.models import VersionCreate
from quanta.workspace.service import create_version
from tests.competitions.conftest import Cast, organise

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The test's app database and a market store with the bokeh sample stocks (GOOG, AAPL, …)."""
    store = Settings(var_dir=tmp_path, duckdb_path=tmp_path / "market.duckdb")
    con = connect(store)
    load_bundled(con, sources=tuple(s for s in SOURCES if s.package == "bokeh-sampledata"))
    con.disconnect()
    return Settings(var_dir=tmp_path, duckdb_path=tmp_path / "market.duckdb", database_url=database_url)


def settle(
    unit: Session, competition: Competition, entries: list[StoredEntry], timeout: float = 90.0
) -> None:
    """Refresh the entries until no validation run is pending."""
    deadline = time.monotonic() + timeout
    while any(e.status is EntryStatus.PENDING for e in entries):
        assert time.monotonic() < deadline, "validation runs did not end"
        time.sleep(0.2)
        unit.expire_all()
        refresh_entries(session=unit, competition=competition)
        unit.commit()


def test_a_working_entry_is_accepted_and_a_refused_one_is_rejected_with_its_error(
    settings: Settings, unit: Session, clock: FakeClock, cast: Cast
) -> None:
    bad_source = (
        "import os\n\nfrom quanta import Strategy\n\n\nclass Bad(Strategy):\n    def next(self): ...\n"
    )
    create_version(
        session=unit,
        actor=cast.bob,
        strategy=cast.bob_strategy,
        version_in=VersionCreate(source=bad_source),
        now=clock.now(),
    )
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
    unit.commit()

    pool = start_workers(settings, 1)
    try:
        settle(unit, competition, [good, bad])
    finally:
        pool.stop()
        db.dispose_engines()

    assert good.status is EntryStatus.ACCEPTED
    assert bad.status is EntryStatus.REJECTED
    assert bad.error == "forbidden import os (line 1)"

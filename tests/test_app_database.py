"""The app database: migrations apply on SQLite and PostgreSQL alike, and are idempotent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlmodel import Session

from quanta import db
from quanta.imports import recent_imports, record_import
from quanta.settings import Settings
from tests.conftest import sqlalchemy_url
from tests.schema import schema_drift

HEAD = ScriptDirectory(str(db.MIGRATIONS)).get_current_head()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at a fresh, empty app database of each kind."""
    database_url = None
    if request.param == "postgres":
        database_url = sqlalchemy_url(request.getfixturevalue("postgres_database"))
    yield Settings(var_dir=tmp_path, database_url=database_url)
    db.dispose_engines()


def test_migrate_reaches_head_and_is_idempotent(app_settings: Settings) -> None:
    assert db.current_revision(app_settings) is None

    db.migrate(app_settings)
    db.migrate(app_settings)

    assert db.current_revision(app_settings) == HEAD
    assert db.ping(app_settings)


def test_the_tables_no_area_suite_checks_match_their_models_after_migrating(app_settings: Settings) -> None:
    db.migrate(app_settings)

    assert schema_drift(db.engine(app_settings), {"data_import", "collab_updates"}) == []


def test_upload_history_is_kept_newest_first(app_settings: Settings) -> None:
    db.migrate(app_settings)
    with db.session(app_settings) as unit:
        record_import(session=unit, symbol="AAA", filename="a.csv", rows=10, accepted=True)
        record_import(
            session=unit, symbol="BBB", filename="b.csv", rows=0, accepted=False, message="row 2: bad"
        )

    with Session(db.engine(app_settings)) as unit:
        history = recent_imports(session=unit)

    assert [(entry.symbol, entry.accepted) for entry in history] == [("BBB", False), ("AAA", True)]
    assert history[0].message == "row 2: bad"
    assert history[0].created_at.tzinfo is not None or app_settings.app_database_url.startswith("sqlite")


def test_a_failed_unit_of_work_writes_nothing(app_settings: Settings) -> None:
    db.migrate(app_settings)

    def record_then_fail() -> None:
        with db.session(app_settings) as unit:
            record_import(session=unit, symbol="AAA", filename="a.csv", rows=1, accepted=True)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        record_then_fail()

    with Session(db.engine(app_settings)) as unit:
        assert recent_imports(session=unit) == []


def test_workers_starting_together_migrate_once(app_settings: Settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: db.migrate(app_settings), range(4)))

    assert db.current_revision(app_settings) == HEAD

"""The hand-written 0005 migration matches the ``Job`` model, and a person's jobs go with the person."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, select

import quanta.models  # noqa: F401  (every table on SQLModel.metadata)
from quanta import db
from quanta.accounts.models import User
from quanta.sandbox import Job, JobRequest, submit_job
from tests.sandbox.conftest import BACKENDS, make_people


def _table_of(diff: object) -> str | None:
    first = diff[0] if isinstance(diff, list) else diff
    for part in first[1:] if isinstance(first, tuple) else ():
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if part == "sandbox_job" or getattr(part, "name", None) == "sandbox_job":
            return "sandbox_job"
    return None


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_the_migrated_job_table_matches_the_model(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)

    assert [d for d in differences if _table_of(d) == "sandbox_job"] == []


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
@pytest.mark.parametrize("how", ["one by one", "in bulk"])
def test_deleting_a_person_deletes_their_jobs(engine: Engine, how: str) -> None:
    ada, bob = make_people(engine, 2)
    request = JobRequest(source="class S(Strategy): pass", symbols=["GOOG"])
    with Session(engine) as session:
        for owner in (ada, ada, bob):
            submit_job(session=session, owner_id=owner, request=request)
        session.commit()

        if how == "one by one":
            session.delete(session.get(User, ada))
        else:
            session.execute(sa.delete(User).where(col(User.id) == ada))
        session.commit()

        assert [job.owner_id for job in session.exec(select(Job))] == [bob]


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_the_downgrade_drops_the_job_table_and_the_upgrade_brings_it_back(
    engine: Engine, app_database: str
) -> None:
    config = db.alembic_config(app_database)

    command.downgrade(config, "0004")
    after_downgrade = set(sa.inspect(engine).get_table_names())
    command.upgrade(config, "head")
    after_upgrade = set(sa.inspect(engine).get_table_names())

    assert "sandbox_job" not in after_downgrade
    assert "sandbox_job" in after_upgrade

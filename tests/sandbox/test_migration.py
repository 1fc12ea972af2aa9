"""The hand-written 0005 migration matches the ``Job`` model, and a person's jobs go with the person."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine
from sqlmodel import Session, col, select

import quanta.models  # noqa: F401  (every table on SQLModel.metadata)
from quanta import db
from quanta.accounts.models import User
from quanta.sandbox import Job, JobRequest, submit_job
from tests.sandbox.conftest import BACKENDS, make_people
from tests.schema import schema_drift


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_the_migrated_job_table_matches_the_model(engine: Engine) -> None:
    assert schema_drift(engine, {"sandbox_job"}) == []


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

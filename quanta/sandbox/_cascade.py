"""Delete a person's jobs with the person, on SQLite too.

``sandbox_job.owner_id`` declares ``ON DELETE CASCADE``, which PostgreSQL applies; SQLite applies it only
on connections that switch foreign keys on, which the app's do not. So whenever a session deletes users
(one by one or in bulk), their jobs go first, in the same unit of work (as ``quanta.api._cascade`` does
for the API's rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlmodel import SQLModel

from quanta.accounts.models import User
from quanta.sandbox.models import Job


def delete_jobs_of(connection: sa.Connection, users: Sequence[int]) -> None:
    """Delete every job of these users."""
    jobs = SQLModel.metadata.tables[str(Job.__tablename__)]
    connection.execute(sa.delete(jobs).where(jobs.c.owner_id.in_(users)))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    users = [o.id for o in session.deleted if isinstance(o, User) and o.id is not None]
    if users:
        delete_jobs_of(session.connection(), users)


@event.listens_for(Session, "do_orm_execute")
def _before_bulk_delete(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None) if state.is_delete else None
    if table is None or getattr(table, "name", None) != "user_account":
        return
    where = state.statement.whereclause  # type: ignore[attr-defined]
    query = sa.select(table.c.id) if where is None else sa.select(table.c.id).where(where)
    connection = state.session.connection()
    users = [row[0] for row in connection.execute(query)]
    if users:
        delete_jobs_of(connection, users)

"""The workers' side of the queue: claim a job, renew its lease, finish it, give it back, reap the lost.

Claiming is safe with any number of workers. On SQLite it is one ``UPDATE … WHERE id = (SELECT …)
AND status = 'queued'``: a writing statement takes the database's write lock before it reads, so two
workers never claim the same row. On PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP
LOCKED`` (workers pass over each other's rows instead of waiting), then the owner's advisory lock
makes the per-person limit exact. Candidates are people below their limit, fewest running first, then
oldest job first, so one person's burst does not starve the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import SQLModel

from quanta.sandbox.models import ErrorKind, Job, JobError, JobStatus, QueueConfig

_OWNER_LOCK: Final = 0x51_4A_4F_42  # "QJOB": the advisory-lock namespace of job owners
WORKER_CRASHED = "worker crashed: its worker stopped responding on every attempt"


def _table() -> sa.Table:
    return SQLModel.metadata.tables[str(Job.__tablename__)]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job a worker now runs."""

    id: int
    public_id: str
    owner_id: int
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class Beat:
    """What a heartbeat learnt: whether the job is still this worker's, and whether to cancel it."""

    alive: bool
    cancel: bool


def _running_of(owner: sa.ColumnElement[Any]) -> sa.ScalarSelect[int]:
    other = _table().alias("other")
    return (
        sa.select(sa.func.count())
        .select_from(other)
        .where(other.c.owner_id == owner, other.c.status == JobStatus.RUNNING.value)
        .scalar_subquery()
    )


def _claim_values(worker_id: str, now: datetime, config: QueueConfig) -> dict[str, Any]:
    job = _table()
    return {
        "status": JobStatus.RUNNING.value,
        "worker_id": worker_id,
        "attempts": job.c.attempts + 1,
        "started_at": now,
        "lease_expires_at": now + timedelta(seconds=config.lease_seconds),
        "progress": 0.0,
        "message": "starting",
    }


def claim(engine: Engine, *, worker_id: str, now: datetime, config: QueueConfig) -> Claimed | None:
    """The next job for this worker, marked running under its lease; None when there is none."""
    if engine.dialect.name == "postgresql":
        return _claim_postgres(engine, worker_id, now, config)
    return _claim_sqlite(engine, worker_id, now, config)


def _candidate(limit: int, *columns: str) -> sa.Select[Any]:
    """The next job to run: of a person below ``limit`` running jobs, fewest running first, then oldest."""
    job = _table().alias("candidate")
    running = _running_of(job.c.owner_id)
    return (
        sa.select(*(job.c[name] for name in columns))
        .where(job.c.status == JobStatus.QUEUED.value, running < limit)
        .order_by(running, job.c.id)
        .limit(1)
    )


def _returning() -> tuple[sa.Column[Any], ...]:
    job = _table()
    return (job.c.id, job.c.public_id, job.c.owner_id, job.c.payload, job.c.attempts)


def _claim_sqlite(engine: Engine, worker_id: str, now: datetime, config: QueueConfig) -> Claimed | None:
    job = _table()
    chosen = _candidate(config.running_per_user, "id").scalar_subquery()
    statement = (
        sa.update(job)
        .where(job.c.id == chosen, job.c.status == JobStatus.QUEUED.value)
        .values(_claim_values(worker_id, now, config))
        .returning(*_returning())
    )
    with engine.begin() as connection:
        row = connection.execute(statement).first()
    return None if row is None else Claimed(*row)


def _claim_postgres(engine: Engine, worker_id: str, now: datetime, config: QueueConfig) -> Claimed | None:
    job = _table()
    with engine.begin() as connection:
        candidate = _candidate(config.running_per_user, "id", "owner_id").with_for_update(skip_locked=True)
        found = connection.execute(candidate).first()
        if found is None:
            return None
        job_id, owner_id = found
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_OWNER_LOCK, owner_id)))
        running = connection.execute(sa.select(_running_of(sa.literal(owner_id)))).scalar_one()
        if running >= config.running_per_user:
            return None
        statement = (
            sa.update(job)
            .where(job.c.id == job_id)
            .values(_claim_values(worker_id, now, config))
            .returning(*_returning())
        )
        row = connection.execute(statement).one()
    return Claimed(*row)


def _mine(job_id: int, worker_id: str) -> sa.ColumnElement[bool]:
    job = _table()
    return sa.and_(job.c.id == job_id, job.c.worker_id == worker_id, job.c.status == JobStatus.RUNNING.value)


def heartbeat(
    engine: Engine,
    *,
    job_id: int,
    worker_id: str,
    now: datetime,
    config: QueueConfig,
    progress: float,
    message: str,
) -> Beat:
    """Renew the lease and store the progress; tells whether the job is still ours and cancelled."""
    job = _table()
    statement = (
        sa.update(job)
        .where(_mine(job_id, worker_id))
        .values(
            lease_expires_at=now + timedelta(seconds=config.lease_seconds),
            progress=min(max(progress, 0.0), 1.0),
            message=message[:200],
        )
        .returning(job.c.cancel_requested)
    )
    with engine.begin() as connection:
        row = connection.execute(statement).first()
    return Beat(alive=row is not None, cancel=bool(row is not None and row[0]))


def finish(
    engine: Engine,
    *,
    job_id: int,
    worker_id: str,
    now: datetime,
    result: dict[str, Any] | None = None,
    output: str | None = None,
    error: JobError | None = None,
) -> bool:
    """Store how a job ended (succeeded with ``result``, or failed or cancelled with ``error``)."""
    if error is None:
        status = JobStatus.SUCCEEDED
    else:
        status = JobStatus.CANCELLED if error.kind is ErrorKind.CANCELLED else JobStatus.FAILED
    values: dict[str, Any] = {
        "status": status.value,
        "result": result,
        "output": output,
        "finished_at": now,
        "lease_expires_at": None,
    }
    if error is None:
        values |= {"progress": 1.0, "message": "done"}
    else:
        values |= {
            "message": error.kind.value,
            "error_kind": error.kind.value,
            "error_message": error.message,
            "error_line": error.line,
        }
    with engine.begin() as connection:
        changed = connection.execute(sa.update(_table()).where(_mine(job_id, worker_id)).values(values))
    return changed.rowcount == 1


def release(engine: Engine, *, job_id: int, worker_id: str) -> None:
    """Give a job back to the queue without counting the attempt (the worker is stopping)."""
    job = _table()
    statement = (
        sa.update(job)
        .where(_mine(job_id, worker_id))
        .values(
            status=JobStatus.QUEUED.value,
            worker_id=None,
            lease_expires_at=None,
            attempts=job.c.attempts - 1,
            progress=0.0,
            message="requeued: its worker stopped",
        )
    )
    with engine.begin() as connection:
        connection.execute(statement)


def reap(engine: Engine, *, now: datetime) -> int:
    """Requeue running jobs whose lease expired (their worker died); fail those out of attempts.

    Returns how many jobs were touched.
    """
    job = _table()
    expired = sa.and_(job.c.status == JobStatus.RUNNING.value, job.c.lease_expires_at < now)
    lost = {"worker_id": None, "lease_expires_at": None}
    statements = [
        sa.update(job)
        .where(expired, job.c.cancel_requested.is_(True))
        .values(lost | _ended(JobStatus.CANCELLED, ErrorKind.CANCELLED, "cancelled by its owner", now)),
        sa.update(job)
        .where(expired, job.c.attempts >= job.c.max_attempts)
        .values(lost | _ended(JobStatus.FAILED, ErrorKind.WORKER_CRASHED, WORKER_CRASHED, now)),
        sa.update(job)
        .where(expired)
        .values(
            lost | {"status": JobStatus.QUEUED.value, "progress": 0.0, "message": "requeued: worker lost"}
        ),
    ]
    touched = 0
    with engine.begin() as connection:
        for statement in statements:
            touched += connection.execute(statement).rowcount
    return touched


def _ended(status: JobStatus, kind: ErrorKind, message: str, now: datetime) -> dict[str, Any]:
    return {
        "status": status.value,
        "error_kind": kind.value,
        "error_message": message,
        "finished_at": now,
        "message": kind.value,
    }

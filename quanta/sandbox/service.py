"""Use cases of the job queue for the web app and the API: submit, read, list, cancel.

```python
job = submit_job(session=session, owner_id=user.id, request=JobRequest(source=code, symbols=["GOOG"]))
session.commit()                       # a worker claims it within a poll interval
job = job_of(session=session, owner_id=user.id, public_id=job.public_id)
job.status, job.progress, job.message  # queued | running | succeeded | failed | cancelled
job.result                             # JSON: stats, trades, equity, params, receipt
job.error                              # JobError(kind, message, line) when it failed
```
The caller commits. Workers (``quanta.sandbox.start_workers``) do the rest.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from quanta.accounts.models import utcnow
from quanta.sandbox.errors import JobFinishedError, JobNotFound
from quanta.sandbox.models import ErrorKind, Job, JobRequest, JobStatus, QueueConfig

JOB_PREFIX = "job_"


def new_public_id(prefix: str = JOB_PREFIX) -> str:
    """An unguessable public id."""
    return prefix + secrets.token_urlsafe(16)


def submit_job(
    *,
    session: Session,
    owner_id: int,
    request: JobRequest,
    public_id: str | None = None,
    now: datetime | None = None,
    queue: QueueConfig | None = None,
) -> Job:
    """Queue ``request`` for ``owner_id`` (the caller commits); ``public_id`` defaults to a new ``job_…``."""
    job = Job(
        public_id=public_id or new_public_id(),
        owner_id=owner_id,
        kind=request.kind,
        payload=request.model_dump(mode="json"),
        max_attempts=(queue or QueueConfig()).max_attempts,
        message="queued",
        created_at=now or utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def job_of(*, session: Session, owner_id: int, public_id: str) -> Job:
    """The job ``public_id`` if ``owner_id`` owns it; ``JobNotFound`` otherwise."""
    job = session.exec(select(Job).where(col(Job.public_id) == public_id)).first()
    if job is None or job.owner_id != owner_id:
        raise JobNotFound("No such job.")
    return job


def jobs_of(
    *, session: Session, owner_id: int, offset: int = 0, limit: int = 50, status: JobStatus | None = None
) -> list[Job]:
    """``owner_id``'s jobs, newest first (only those in ``status`` when given)."""
    query = select(Job).where(col(Job.owner_id) == owner_id)
    if status is not None:
        query = query.where(col(Job.status) == status)
    query = query.order_by(col(Job.created_at).desc(), col(Job.id).desc())
    return list(session.exec(query.offset(offset).limit(limit)))


def cancel_job(*, session: Session, owner_id: int, public_id: str, now: datetime | None = None) -> Job:
    """Cancel a job: a queued one at once; a running one is killed by its worker within a heartbeat.

    ``JobFinishedError`` if it has already ended.
    """
    job = job_of(session=session, owner_id=owner_id, public_id=public_id)
    table = Job.__table__  # type: ignore[attr-defined]
    cancelled = session.execute(
        sa.update(table)
        .where(table.c.id == job.id, table.c.status == JobStatus.QUEUED.value)
        .values(
            status=JobStatus.CANCELLED.value,
            cancel_requested=True,
            error_kind=ErrorKind.CANCELLED.value,
            error_message="cancelled by its owner",
            message="cancelled",
            finished_at=now or utcnow(),
        )
    )
    if cancelled.rowcount == 0:  # type: ignore[attr-defined]
        requested = session.execute(
            sa.update(table)
            .where(table.c.id == job.id, table.c.status == JobStatus.RUNNING.value)
            .values(cancel_requested=True, message="cancelling")
        )
        if requested.rowcount == 0:  # type: ignore[attr-defined]
            session.refresh(job)
            raise JobFinishedError(f"job {public_id} has already {job.status.value}")
    session.refresh(job)
    return job

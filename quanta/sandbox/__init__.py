"""Sandboxed execution of user code: a job queue in the app database and worker processes that run
each job in fresh, walled-in processes — never in the web process.

```python
pool = start_workers(settings, 2)           # or `quanta worker --count 2`, or the app's lifespan
job = submit_job(session=session, owner_id=user.id, request=JobRequest(source=code, symbols=["GOOG"]))
session.commit()
job = job_of(session=session, owner_id=user.id, public_id=job.public_id)   # status, progress, result, error
cancel_job(session=session, owner_id=user.id, public_id=job.public_id)
pool.stop()
```
docs/sandbox.md describes the threat model and each wall.
"""

from quanta.sandbox._checks import SourceSyntaxError, Violation, check_source
from quanta.sandbox._pool import WorkerPool, WorkerStartError, ensure_workers, running_workers, start_workers
from quanta.sandbox.errors import JobFinishedError, JobNotFound
from quanta.sandbox.models import (
    ErrorKind,
    Job,
    JobError,
    JobKind,
    JobRequest,
    JobStatus,
    QueueConfig,
    SandboxLimits,
)
from quanta.sandbox.service import cancel_job, job_of, jobs_of, submit_job

__all__ = [
    "ErrorKind",
    "Job",
    "JobError",
    "JobFinishedError",
    "JobKind",
    "JobNotFound",
    "JobRequest",
    "JobStatus",
    "QueueConfig",
    "SandboxLimits",
    "SourceSyntaxError",
    "Violation",
    "WorkerPool",
    "WorkerStartError",
    "cancel_job",
    "check_source",
    "ensure_workers",
    "job_of",
    "jobs_of",
    "running_workers",
    "start_workers",
    "submit_job",
]

"""The queue on SQLite and PostgreSQL: claims are exclusive, fair and within each person's limit;
leases bring a lost worker's job back, then fail it clearly; cancelling stops queued and running jobs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from quanta.sandbox import (
    ErrorKind,
    Job,
    JobError,
    JobFinishedError,
    JobNotFound,
    JobRequest,
    JobStatus,
    QueueConfig,
    cancel_job,
    job_of,
    jobs_of,
    submit_job,
)
from quanta.sandbox import _queue as queue
from quanta.testing.clock import FakeClock
from tests.sandbox.conftest import BACKENDS, make_people

REQUEST = JobRequest(source="class S(Strategy): pass", symbols=["GOOG"])
CONFIG = QueueConfig(running_per_user=2, max_attempts=2, lease_seconds=10)


def queue_jobs(engine: Engine, clock: FakeClock, owners: list[int]) -> list[str]:
    """One job per entry of ``owners``, a second apart; their public ids."""
    ids = []
    with Session(engine) as session:
        for owner in owners:
            job = submit_job(session=session, owner_id=owner, request=REQUEST, now=clock.now(), queue=CONFIG)
            ids.append(job.public_id)
            clock.advance(timedelta(seconds=1))
        session.commit()
    return ids


def claim(engine: Engine, clock: FakeClock, worker: str = "w1", config: QueueConfig = CONFIG) -> str | None:
    claimed = queue.claim(engine, worker_id=worker, now=clock.now(), config=config)
    return None if claimed is None else claimed.public_id


def stored(engine: Engine, public_id: str) -> Job:
    with Session(engine) as session:
        job = session.exec(Job.__table__.select().where(Job.__table__.c.public_id == public_id)).one()  # type: ignore[attr-defined, call-overload]
        return Job.model_validate(job._mapping)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_claims_take_the_oldest_job_once_and_mark_it_running(engine: Engine, clock: FakeClock) -> None:
    (ada,) = make_people(engine, 1)
    first, second = queue_jobs(engine, clock, [ada, ada])

    claimed = queue.claim(engine, worker_id="w1", now=clock.now(), config=CONFIG)

    assert claimed is not None
    assert (claimed.public_id, claimed.attempts, claimed.payload["symbols"]) == (first, 1, ["GOOG"])
    job = stored(engine, first)
    assert (job.status, job.worker_id, job.attempts) == (JobStatus.RUNNING, "w1", 1)
    assert job.lease_expires_at is not None
    assert claim(engine, clock, "w2") == second
    assert claim(engine, clock, "w3") is None


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_a_person_at_the_limit_is_skipped_and_others_go_first(engine: Engine, clock: FakeClock) -> None:
    ada, bob = make_people(engine, 2)
    ada_jobs = queue_jobs(engine, clock, [ada] * 4)
    (bob_job,) = queue_jobs(engine, clock, [bob])

    order = [claim(engine, clock, f"w{i}") for i in range(4)]

    assert order == [ada_jobs[0], bob_job, ada_jobs[1], None]  # Bob's one job before Ada's second


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_concurrent_workers_never_claim_a_job_twice(engine: Engine, clock: FakeClock) -> None:
    people = make_people(engine, 6)
    submitted = set(queue_jobs(engine, clock, people * 5))
    roomy = QueueConfig(running_per_user=100)
    claimed: list[str] = []

    def work(worker: str) -> None:
        while (public_id := claim(engine, clock, worker, roomy)) is not None:
            claimed.append(public_id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claimed) == sorted(submitted)


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_concurrent_workers_keep_a_person_within_the_limit(engine: Engine, clock: FakeClock) -> None:
    (ada,) = make_people(engine, 1)
    queue_jobs(engine, clock, [ada] * 12)
    claimed: list[str | None] = []

    def work(worker: str) -> None:
        claimed.extend(claim(engine, clock, worker) for _ in range(3))

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len([c for c in claimed if c is not None]) == CONFIG.running_per_user


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_a_lost_workers_job_is_retried_then_failed_as_worker_crashed(
    engine: Engine, clock: FakeClock
) -> None:
    (ada,) = make_people(engine, 1)
    (job_id,) = queue_jobs(engine, clock, [ada])

    assert claim(engine, clock, "doomed-1") == job_id
    clock.advance(timedelta(seconds=5))
    assert queue.reap(engine, now=clock.now()) == 0  # the lease still holds
    clock.advance(timedelta(seconds=6))
    assert queue.reap(engine, now=clock.now()) == 1
    requeued = stored(engine, job_id)
    assert (requeued.status, requeued.worker_id, requeued.attempts) == (JobStatus.QUEUED, None, 1)

    assert claim(engine, clock, "doomed-2") == job_id
    clock.advance(timedelta(seconds=11))
    queue.reap(engine, now=clock.now())

    failed = stored(engine, job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.error == JobError(kind=ErrorKind.WORKER_CRASHED, message=queue.WORKER_CRASHED)
    assert "worker crashed" in failed.error_message or ""
    assert claim(engine, clock, "w3") is None


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_heartbeats_keep_the_lease_and_a_worker_that_lost_it_cannot_finish(
    engine: Engine, clock: FakeClock
) -> None:
    (ada,) = make_people(engine, 1)
    (job_id,) = queue_jobs(engine, clock, [ada])
    claimed = queue.claim(engine, worker_id="w1", now=clock.now(), config=CONFIG)
    assert claimed is not None

    for _ in range(3):
        clock.advance(timedelta(seconds=8))
        beat = queue.heartbeat(
            engine,
            job_id=claimed.id,
            worker_id="w1",
            now=clock.now(),
            config=CONFIG,
            progress=0.5,
            message="half",
        )
        assert beat == queue.Beat(alive=True, cancel=False)
        assert queue.reap(engine, now=clock.now()) == 0
    assert (stored(engine, job_id).progress, stored(engine, job_id).message) == (0.5, "half")

    clock.advance(timedelta(seconds=11))
    queue.reap(engine, now=clock.now())
    assert claim(engine, clock, "w2") == job_id
    assert not queue.finish(engine, job_id=claimed.id, worker_id="w1", now=clock.now(), result={"late": True})
    assert queue.finish(engine, job_id=claimed.id, worker_id="w2", now=clock.now(), result={"stats": {}})
    done = stored(engine, job_id)
    assert (done.status, done.result, done.progress) == (JobStatus.SUCCEEDED, {"stats": {}}, 1.0)


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_a_stopping_worker_gives_its_job_back_without_using_an_attempt(
    engine: Engine, clock: FakeClock
) -> None:
    (ada,) = make_people(engine, 1)
    (job_id,) = queue_jobs(engine, clock, [ada])
    claimed = queue.claim(engine, worker_id="w1", now=clock.now(), config=CONFIG)
    assert claimed is not None

    queue.release(engine, job_id=claimed.id, worker_id="w1")

    job = stored(engine, job_id)
    assert (job.status, job.attempts, job.worker_id) == (JobStatus.QUEUED, 0, None)


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_cancelling_a_queued_job_is_immediate_and_a_running_one_is_flagged(
    engine: Engine, clock: FakeClock
) -> None:
    (ada,) = make_people(engine, 1)
    running_id, queued_id = queue_jobs(engine, clock, [ada, ada])
    claimed = queue.claim(engine, worker_id="w1", now=clock.now(), config=QueueConfig(running_per_user=1))
    assert claimed is not None
    assert claimed.public_id == running_id

    with Session(engine) as session:
        queued = cancel_job(session=session, owner_id=ada, public_id=queued_id, now=clock.now())
        running = cancel_job(session=session, owner_id=ada, public_id=running_id, now=clock.now())
        session.commit()
        assert (queued.status, queued.error) == (
            JobStatus.CANCELLED,
            JobError(kind=ErrorKind.CANCELLED, message="cancelled by its owner"),
        )
        assert (running.status, running.cancel_requested) == (JobStatus.RUNNING, True)

    beat = queue.heartbeat(
        engine, job_id=claimed.id, worker_id="w1", now=clock.now(), config=CONFIG, progress=0.1, message="x"
    )
    assert beat.cancel
    cancelled = JobError(kind=ErrorKind.CANCELLED, message="cancelled by its owner")
    assert queue.finish(engine, job_id=claimed.id, worker_id="w1", now=clock.now(), error=cancelled)
    assert stored(engine, running_id).status is JobStatus.CANCELLED
    with Session(engine) as session, pytest.raises(JobFinishedError):
        cancel_job(session=session, owner_id=ada, public_id=running_id)
    assert claim(engine, clock) is None


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_a_cancelled_job_whose_worker_died_ends_cancelled(engine: Engine, clock: FakeClock) -> None:
    (ada,) = make_people(engine, 1)
    (job_id,) = queue_jobs(engine, clock, [ada])
    assert claim(engine, clock) == job_id
    with Session(engine) as session:
        cancel_job(session=session, owner_id=ada, public_id=job_id)
        session.commit()

    clock.advance(timedelta(seconds=11))
    queue.reap(engine, now=clock.now())

    assert stored(engine, job_id).status is JobStatus.CANCELLED


def test_people_see_only_their_own_jobs_newest_first(engine: Engine, clock: FakeClock) -> None:
    ada, bob = make_people(engine, 2)
    ada_first, bob_job, ada_second = queue_jobs(engine, clock, [ada, bob, ada])

    with Session(engine) as session:
        assert [j.public_id for j in jobs_of(session=session, owner_id=ada)] == [ada_second, ada_first]
        assert job_of(session=session, owner_id=bob, public_id=bob_job).request == REQUEST
        with pytest.raises(JobNotFound):
            job_of(session=session, owner_id=bob, public_id=ada_first)
        with pytest.raises(JobNotFound):
            cancel_job(session=session, owner_id=bob, public_id=ada_first)
        assert jobs_of(session=session, owner_id=ada, status=JobStatus.RUNNING) == []

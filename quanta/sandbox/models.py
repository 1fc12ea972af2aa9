"""The job queue's table and value objects: ``Job`` (a row of ``sandbox_job``), what a job asks for
(``JobRequest``), how it failed (``JobError``) and the limits and knobs of the workers.

A job belongs to one person (``owner_id``). Its ``payload`` is the ``JobRequest`` as JSON; its ``result``
is JSON the sandboxed child produced (never a pickle). Statuses go ``queued → running → succeeded |
failed | cancelled``; a running job whose worker stops heart-beating goes back to ``queued`` (up to
``max_attempts`` claims) and then fails with ``worker-crashed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlmodel import JSON, SQLModel
from sqlmodel import Field as SQLField

from quanta.accounts.models import utcnow

__all__ = [
    "ErrorKind",
    "Job",
    "JobError",
    "JobKind",
    "JobRequest",
    "JobStatus",
    "QueueConfig",
    "SandboxLimits",
]

Symbol = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
ParamValue = int | float | bool | str
SearchMethod = Literal["grid", "random", "bayes", "walk-forward"]
MAX_TRIALS = 2_000
"""Random or Bayesian draws one optimise job may make."""
MAX_FOLDS = 12
MAX_SOURCE = 200_000


class JobKind(StrEnum):
    """What a job runs: one backtest, or a grid search over parameters."""

    BACKTEST = "backtest"
    OPTIMIZE = "optimize"


class JobStatus(StrEnum):
    """Where a job is."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the job has stopped for good."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class ErrorKind(StrEnum):
    """Why a job failed, for people and for programs (``Job.error_kind``)."""

    FORBIDDEN = "forbidden"
    """The code uses something the sandbox does not allow (an import, a name, an attribute)."""
    SYNTAX = "syntax"
    INVALID = "invalid"
    """The request does not fit the strategy: no such class, unknown parameter, bad option."""
    DATA = "data"
    STRATEGY = "strategy"
    """The strategy raised an exception."""
    TIME_LIMIT = "time-limit"
    MEMORY_LIMIT = "memory-limit"
    RECURSION_LIMIT = "recursion-limit"
    RESULT_LIMIT = "result-limit"
    CRASHED = "crashed"
    """The sandboxed process died without reporting (a signal other than the limits')."""
    WORKER_CRASHED = "worker-crashed"
    """The worker running the job died, every attempt."""
    CANCELLED = "cancelled"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobError:
    """How a job failed: its kind, a message for people, and the line of the user's file if known."""

    kind: ErrorKind
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        return f"{self.message}{where}"


def _kind_type() -> sa.Enum:
    return sa.Enum(JobKind, native_enum=False, length=16, values_callable=lambda e: [s.value for s in e])


def _status_type() -> sa.Enum:
    return sa.Enum(JobStatus, native_enum=False, length=16, values_callable=lambda e: [s.value for s in e])


class JobRequest(BaseModel):
    """What a job runs: a strategy's source on market data, with parameters and engine options.

    ``config`` holds ``Backtest`` keyword options (``cash``, ``commission``…); ``space`` (optimise
    jobs) maps each parameter to the values to try and ``maximize`` names the statistic to maximise.
    ``method`` picks the search (every set, ``trials`` random or Bayesian draws, or walk-forward:
    a grid search on each of ``folds`` training windows, scored on the window after it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: JobKind = JobKind.BACKTEST
    source: str = Field(min_length=1, max_length=MAX_SOURCE)
    class_name: str | None = Field(default=None, max_length=100)
    symbols: list[Symbol] = Field(min_length=1, max_length=10)
    start: date | None = None
    end: date | None = None
    timeframe: Literal["1D", "1W", "1M"] = "1D"
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=50)
    config: dict[str, ParamValue] = Field(default_factory=dict, max_length=30)
    space: dict[str, list[ParamValue]] | None = Field(default=None, max_length=10)
    maximize: str = Field(default="Sharpe Ratio", max_length=60)
    method: SearchMethod = "grid"
    trials: int | None = Field(default=None, ge=1, le=MAX_TRIALS)
    folds: int = Field(default=4, ge=2, le=MAX_FOLDS)

    @model_validator(mode="after")
    def _consistent(self) -> JobRequest:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("`start` is after `end`")
        if (self.kind is JobKind.OPTIMIZE) != (self.space is not None):
            raise ValueError("an optimize job needs `space`, and only an optimize job takes one")
        if self.method != "grid" and self.kind is not JobKind.OPTIMIZE:
            raise ValueError(f"`method` {self.method!r} is for optimize jobs")
        if self.method in ("random", "bayes") and self.trials is None:
            raise ValueError(f"a {self.method} search needs `trials`")
        return self


class Job(SQLModel, table=True):
    """A unit of work for the sandboxed workers, with its progress and outcome.

    ``public_id`` (unguessable) names it to its owner. ``attempts`` counts claims by workers;
    ``lease_expires_at`` is pushed on by the running worker's heartbeat. ``result`` is the JSON the
    sandbox produced; ``output`` the strategy's printed output (truncated). A failure sets
    ``error_kind``, ``error_message`` and, when the user's code is at fault, ``error_line``.
    """

    __tablename__ = "sandbox_job"
    __table_args__ = (sa.Index("ix_sandbox_job_status_id", "status", "id"),)

    id: int | None = SQLField(default=None, primary_key=True)
    public_id: str = SQLField(max_length=40, unique=True, index=True)
    owner_id: int = SQLField(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    kind: JobKind = SQLField(default=JobKind.BACKTEST, sa_type=_kind_type())
    payload: dict[str, Any] = SQLField(default_factory=dict, sa_type=JSON)
    status: JobStatus = SQLField(default=JobStatus.QUEUED, sa_type=_status_type())
    attempts: int = 0
    max_attempts: int = 3
    progress: float = 0.0
    message: str = SQLField(default="", max_length=200)
    result: dict[str, Any] | None = SQLField(default=None, sa_type=JSON)
    output: str | None = SQLField(default=None, sa_type=sa.Text)
    error_kind: str | None = SQLField(default=None, max_length=32)
    error_message: str | None = SQLField(default=None, sa_type=sa.Text)
    error_line: int | None = None
    cancel_requested: bool = False
    worker_id: str | None = SQLField(default=None, max_length=80)
    lease_expires_at: datetime | None = None
    created_at: datetime = SQLField(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def request(self) -> JobRequest:
        """The payload as the request it was made from."""
        return JobRequest.model_validate(self.payload)

    @property
    def error(self) -> JobError | None:
        """How the job failed (None unless it failed or was cancelled)."""
        if self.error_kind is None:
            return None
        return JobError(
            kind=ErrorKind(self.error_kind), message=self.error_message or "", line=self.error_line
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxLimits:
    """What one job's sandboxed process may use; exceeding one ends the job with a clear error."""

    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    memory_mb: int = 1024
    """Address space the strategy may add to the warm worker's."""
    open_files: int = 32
    file_size_mb: int = 8
    output_kb: int = 64
    """Printed output kept (the rest is dropped and counted)."""
    result_mb: int = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueConfig:
    """How workers share the queue."""

    running_per_user: int = 2
    """Jobs of one person running at once; a claim skips people at their limit."""
    max_attempts: int = 3
    """Claims of a job before a lost worker fails it with ``worker-crashed`` (stored on each job when it
    is submitted)."""
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 1.0
    """How often a running job's lease is renewed and its cancel flag read."""
    poll_seconds: float = 0.05
    """How often an idle worker looks for work."""


# Registers the listeners that delete jobs with their owners on SQLite (see _cascade).
from quanta.sandbox import _cascade  # noqa: E402, F401

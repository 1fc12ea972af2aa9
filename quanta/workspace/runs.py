"""Runs of a workspace strategy: its source backtested or optimised in the sandbox, seen by everyone who
may read the strategy, and recorded as its verified backtest when the run was of its latest version.

A run is a sandbox job (``quanta.sandbox``) whose public id starts with the strategy's
(``st_….<random>``): that ties the job to the strategy without another table, so the strategy's readers
may read it and its writers cancel it, whoever started it. Owners and editors start runs (each job is
its starter's, under their own queue limits); viewers watch them. The source is never run here:
``strategy_classes`` (``quanta.workspace._params``) reads the parameters the form offers.

```python
job = start_run(session=unit, actor=me, strategy=strategy, request=JobRequest(source=code, symbols=["GOOG"]))
job = run_of(session=unit, strategy=strategy, user_id=someone.id, job_id=job.public_id)
record_run(session=unit, strategy=strategy, job=job)   # once succeeded: the verified backtest, if any
```
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, select

from quanta.accounts.models import User, utcnow
from quanta.receipt import canonical_json
from quanta.runs.codec import number
from quanta.sandbox import Job, JobKind, JobNotFound, JobRequest, JobStatus, cancel_job, submit_job
from quanta.workspace._gallery import record_verified_backtest
from quanta.workspace._params import ParamValue
from quanta.workspace.access import require_reader, require_writer
from quanta.workspace.errors import InvalidInput
from quanta.workspace.models import Strategy, StrategyVersion, VerifiedBacktest

__all__ = [
    "MAX_GRID",
    "cancel_run",
    "default_range",
    "latest_run",
    "param_values",
    "parse_param",
    "record_run",
    "run_of",
    "search_space",
    "start_run",
    "verified_backtest",
]

RUN_SEPARATOR = "."
"""Between the strategy's public id and the run's own random part (public ids never contain a dot)."""
MAX_GRID = 400
"""Parameter sets one optimisation from the page may try."""
MAX_SPACE = 10
"""Parameters one optimisation may vary (the sandbox's limit)."""
MAX_VALUES = 200
"""Values one parameter's range may give."""
RETURN, SHARPE, MAX_DRAWDOWN = "Return [%]", "Sharpe Ratio", "Max. Drawdown [%]"


# ---- starting, reading, cancelling ---------------------------------------------------------------------


def start_run(
    *, session: Session, actor: User, strategy: Strategy, request: JobRequest, now: datetime | None = None
) -> Job:
    """Queue ``request`` (the strategy's source, or a draft of it) as a run of ``strategy`` owned by
    ``actor``, an owner or editor (``Forbidden`` for viewers, ``StrategyNotFound`` for strangers).
    The caller commits."""
    require_writer(session=session, strategy=strategy, user_id=actor.id)
    if actor.id is None:
        raise ValueError("the actor is not stored")
    public_id = f"{strategy.public_id}{RUN_SEPARATOR}{secrets.token_urlsafe(12)}"
    return submit_job(session=session, owner_id=actor.id, request=request, public_id=public_id, now=now)


def run_of(*, session: Session, strategy: Strategy, user_id: int | None, job_id: str) -> Job:
    """The run ``job_id`` of ``strategy`` for anyone who may read the strategy; ``JobNotFound`` for a job
    that is not one of its runs, ``StrategyNotFound`` when the caller may not read the strategy."""
    require_reader(session=session, strategy=strategy, user_id=user_id)
    if not job_id.startswith(_prefix(strategy)):
        raise JobNotFound("No such run.")
    job = session.exec(select(Job).where(col(Job.public_id) == job_id)).first()
    if job is None:
        raise JobNotFound("No such run.")
    return job


def latest_run(*, session: Session, strategy: Strategy, user_id: int | None) -> Job | None:
    """The newest run of ``strategy`` (None if it has none) for anyone who may read it."""
    require_reader(session=session, strategy=strategy, user_id=user_id)
    query = (
        select(Job)
        .where(col(Job.public_id).startswith(_prefix(strategy), autoescape=True))
        .order_by(col(Job.created_at).desc(), col(Job.id).desc())
        .limit(1)
    )
    return session.exec(query).first()


def cancel_run(
    *, session: Session, actor: User, strategy: Strategy, job_id: str, now: datetime | None = None
) -> Job:
    """Cancel a run of ``strategy`` (owners and editors, whoever started it): a queued one at once, a
    running one within a heartbeat. ``JobFinishedError`` if it has ended. The caller commits."""
    require_writer(session=session, strategy=strategy, user_id=actor.id)
    job = run_of(session=session, strategy=strategy, user_id=actor.id, job_id=job_id)
    return cancel_job(session=session, owner_id=job.owner_id, public_id=job.public_id, now=now)


def _prefix(strategy: Strategy) -> str:
    return f"{strategy.public_id}{RUN_SEPARATOR}"


# ---- the verified backtest -----------------------------------------------------------------------------


def record_run(*, session: Session, strategy: Strategy, job: Job) -> VerifiedBacktest | None:
    """Record a finished run as ``strategy``'s verified backtest when it is a successful backtest of the
    latest saved version (its source equal to that version's); None (nothing recorded) otherwise.

    A system service, like ``record_verified_backtest``: the person who started the run was authorised
    then. Calling it again for the same run changes nothing. The caller commits.
    """
    if job.status is not JobStatus.SUCCEEDED or job.kind is not JobKind.BACKTEST or not job.result:
        return None
    if not job.public_id.startswith(_prefix(strategy)) or strategy.latest_version < 1 or strategy.id is None:
        return None
    latest = session.exec(
        select(StrategyVersion).where(
            col(StrategyVersion.strategy_id) == strategy.id,
            col(StrategyVersion.number) == strategy.latest_version,
        )
    ).first()
    if latest is None or latest.source != job.request.source:
        return None
    backtest = verified_backtest(job, version=latest.number)
    if backtest is not None:
        record_verified_backtest(session=session, strategy=strategy, backtest=backtest)
    return backtest


def verified_backtest(job: Job, *, version: int | None) -> VerifiedBacktest | None:
    """The gallery's summary of a successful backtest job: its id, the sha256 of its receipt, return,
    Sharpe ratio (None when undefined) and maximum drawdown; None when the figures are not finite."""
    result = job.result or {}
    stats: dict[str, Any] = dict(result.get("stats") or {})
    receipt = result.get("receipt")
    returned, drawdown, sharpe = (number(stats.get(name)) for name in (RETURN, MAX_DRAWDOWN, SHARPE))
    if not receipt or not math.isfinite(returned) or not math.isfinite(drawdown):
        return None
    finished = job.finished_at or utcnow()
    return VerifiedBacktest(
        run_id=job.public_id[:64],
        receipt_hash=hashlib.sha256(canonical_json(receipt).encode()).hexdigest(),
        version=version,
        return_pct=returned,
        sharpe=sharpe if math.isfinite(sharpe) else None,
        max_drawdown_pct=drawdown,
        as_of=finished if finished.utcoffset() is not None else finished.replace(tzinfo=UTC),
    )


# ---- the run form --------------------------------------------------------------------------------------


def parse_param(name: str, text: str, default: ParamValue) -> ParamValue:
    """A parameter typed into the form, as the type of its default (``InvalidInput`` naming ``name``)."""
    value = text.strip()
    if isinstance(default, bool):
        lowered = value.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off", ""):
            return False
        raise InvalidInput(name, f"{name} is true or false.")
    if isinstance(default, int):
        try:
            return int(value)
        except ValueError:
            raise InvalidInput(name, f"{name} is a whole number.") from None
    if isinstance(default, float):
        try:
            parsed = float(value)
        except ValueError:
            raise InvalidInput(name, f"{name} is a number.") from None
        if not math.isfinite(parsed):
            raise InvalidInput(name, f"{name} is a finite number.")
        return parsed
    return text


def default_range(value: int | float) -> tuple[int | float, int | float, int | float]:
    """A first range to search around a numeric default: half to twice it, in about eight steps."""
    if isinstance(value, int):
        if value == 0:
            return 0, 10, 1
        low, high = sorted((value // 2, value * 2))
        return low, high, max(1, (high - low) // 8)
    if value == 0:
        return 0.0, 1.0, 0.125
    low_f, high_f = sorted((value / 2, value * 2))
    return low_f, high_f, _round((high_f - low_f) / 8)


def param_values(name: str, *, start: str, stop: str, step: str, integer: bool) -> list[int | float]:
    """The values ``start``, ``start + step``, … up to ``stop`` (inclusive) of one parameter's range,
    typed into the form; ``InvalidInput`` naming ``name`` when it is not a range of at most
    ``MAX_VALUES`` values."""
    try:
        first, last, stride = (Decimal(text.strip()) for text in (start, stop, step))
    except InvalidOperation:
        raise InvalidInput(name, f"Give {name} a range of numbers: start, stop and step.") from None
    if not all(v.is_finite() for v in (first, last, stride)) or stride <= 0:
        raise InvalidInput(name, f"The step of {name} must be a positive number.")
    if last < first:
        raise InvalidInput(name, f"The range of {name} ends before it starts.")
    if integer and any(v != v.to_integral_value() for v in (first, last, stride)):
        raise InvalidInput(name, f"{name} takes whole numbers.")
    count = int((last - first) / stride) + 1
    if count > MAX_VALUES:
        raise InvalidInput(name, f"The range of {name} gives {count} values; the limit is {MAX_VALUES}.")
    values = [first + i * stride for i in range(count)]
    return [int(v) for v in values] if integer else [float(v) for v in values]


def search_space(
    ranges: Mapping[str, list[int | float]], *, exhaustive: bool = True
) -> dict[str, list[ParamValue]]:
    """The parameter space of an optimisation from the page: at least one parameter, at most
    ``MAX_SPACE`` of them and, for searches that try every set (grid, walk-forward), ``MAX_GRID``
    parameter sets in all (``InvalidInput`` on ``space``)."""
    if not ranges:
        raise InvalidInput("space", "Choose at least one numeric parameter to optimise.")
    if len(ranges) > MAX_SPACE:
        raise InvalidInput("space", f"Optimise at most {MAX_SPACE} parameters at once.")
    total = math.prod(len(values) for values in ranges.values())
    if exhaustive and total > MAX_GRID:
        raise InvalidInput(
            "space",
            f"That is {total:,} parameter sets; the limit is {MAX_GRID}: "
            "narrow a range or take bigger steps.",
        )
    return {name: list(values) for name, values in ranges.items()}


def search_trials(value: str) -> int:
    """The number of draws of a random or Bayesian search typed into the form (1 to ``MAX_GRID``)."""
    try:
        trials = int(value.strip())
    except ValueError:
        raise InvalidInput("trials", "Give the number of parameter sets to try, e.g. 50.") from None
    if not 1 <= trials <= MAX_GRID:
        raise InvalidInput("trials", f"Try between 1 and {MAX_GRID} parameter sets.")
    return trials


def search_folds(value: str) -> int:
    """The number of walk-forward folds typed into the form (2 to 12)."""
    try:
        folds = int(value.strip())
    except ValueError:
        raise InvalidInput("folds", "Give the number of walk-forward folds, e.g. 4.") from None
    if not 2 <= folds <= 12:
        raise InvalidInput("folds", "Use between 2 and 12 walk-forward folds.")
    return folds


def _round(value: float) -> float:
    return float(f"{value:.3g}")

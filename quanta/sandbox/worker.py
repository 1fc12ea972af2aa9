"""A sandbox worker process: warm once, then claim jobs and run each in fresh sandboxed processes.

Started by ``start_workers`` as ``python -m quanta.sandbox`` with a clean environment (no
``QUANTA_*`` variable, so no secret key) and its ``WorkerConfig`` as one JSON line on standard input.
Standard input then stays open as a lifeline: when it closes (the pool stops, or the process that
started the worker dies) the worker gives its running job back to the queue and leaves.

Warming imports numpy, pandas and the engine, loads every numba kernel from the on-disk cache, builds
the module views strategies may import and runs one small job through the whole sandbox, so that a
job's forked processes start with everything in memory and read no file.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import platform
import select
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from quanta import _jit, db, warmup
from quanta.data.errors import MarketDataError
from quanta.loading import MarketData, load_market, market_store
from quanta.sandbox import _allowed, _isolation, _queue
from quanta.sandbox._checks import SourceSyntaxError, check_source
from quanta.sandbox._child import Launch, run
from quanta.sandbox._config import READY, WorkerConfig
from quanta.sandbox._supervise import Outcome, Verdict, supervise
from quanta.sandbox.models import ErrorKind, JobError, JobKind, JobRequest, SandboxLimits

_log = logging.getLogger("quanta.sandbox.worker")
_SELF_TEST = """
from quanta import Strategy, crossover
from quanta.indicators import SMA


class Cross(Strategy):
    fast = 5
    slow = 15

    def init(self):
        self.fast_ma = self.I(SMA, self.data.close, self.fast)
        self.slow_ma = self.I(SMA, self.data.close, self.slow)

    def next(self):
        if crossover(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy()
        elif crossover(self.slow_ma, self.fast_ma):
            self.position.close()
            self.sell()
"""


_SELF_TEST_JOBS: tuple[dict[str, Any], ...] = (
    {"kind": JobKind.BACKTEST},
    {"kind": JobKind.OPTIMIZE, "space": {"fast": [5, 8]}},
    {"kind": JobKind.OPTIMIZE, "space": {"fast": [5, 8]}, "method": "random", "trials": 2},
    {"kind": JobKind.OPTIMIZE, "space": {"fast": [5, 8]}, "method": "bayes", "trials": 2},
    {"kind": JobKind.OPTIMIZE, "space": {"fast": [5, 8]}, "method": "walk-forward", "folds": 2},
)
"""Every kind of job, run once while warming so a forked job imports nothing (optuna included)."""


def utc_now() -> datetime:
    """The current time (aware UTC)."""
    return datetime.now(UTC)


# ---- warming -------------------------------------------------------------------------------------------


def warm_up() -> None:
    """Import and compile everything a job uses, so that forked jobs read no file.

    Runs the indicators' and the engine's warm-up, then the very code a job runs (a backtest and a
    search, with the strategy's restricted builtins) here in the worker, and creates every kernel's
    dispatcher: a forked job finds them all in memory, even inside a root with no files.
    """
    bars = warmup.sample_bars()
    warmup.warm_indicators(bars)
    warmup.warm_engine(bars)
    _allowed.preload()
    for fields in _SELF_TEST_JOBS:
        request = JobRequest(source=_SELF_TEST, symbols=["SAMPLE"], **fields)
        launch = Launch(
            request=request,
            market=sample_market(),
            plan=_isolation.PLANS[-1],
            limits=SandboxLimits(),
            scratch=Path(),
        )
        run(launch, lambda _p, _m: None)
    for k in _jit.KERNELS:
        k.dispatcher()


def sample_market(bars: int = 300) -> MarketData:
    """Seeded synthetic bars, for the self-test."""
    sample = warmup.sample_bars(bars)
    index = pd.bdate_range("2020-01-01", periods=bars, name="ts")
    frame = pd.DataFrame(
        {k: np.asarray(sample[k]) for k in ("open", "high", "low", "close", "volume")}, index=index
    )
    return MarketData(frames={"SAMPLE": frame}, dropped={"SAMPLE": 0})


def self_test(
    plan: _isolation.Plan, limits: SandboxLimits, scratch_dir: Path, *, checks: bool = True
) -> Outcome:
    """Run a small backtest and a small search through the whole sandbox (this also warms both paths)."""
    outcome = Outcome()
    for fields in _SELF_TEST_JOBS:
        request = JobRequest(source=_SELF_TEST, symbols=["SAMPLE"], **fields)
        scratch = Path(tempfile.mkdtemp(prefix="self-test-", dir=scratch_dir))
        try:
            launch = Launch(
                request=request,
                market=sample_market(),
                plan=plan,
                limits=limits,
                scratch=scratch,
                checks=checks,
            )
            outcome = supervise(launch, lambda _p, _m: "go")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if outcome.error is not None:
            return outcome
    return outcome


def choose_plan(config: WorkerConfig, scratch_dir: Path) -> _isolation.Plan:
    """The forced plan, or the strongest that works here and passes the self-test."""
    plans: tuple[_isolation.Plan, ...] = _isolation.PLANS
    if config.plan is not None:
        plans = tuple(p for p in plans if p.name == config.plan)
        if not plans:
            raise ValueError(f"no isolation plan {config.plan!r}")
    candidates = list(plans)
    while candidates:
        plan = _isolation.probe(tuple(candidates))
        outcome = self_test(plan, config.limits, scratch_dir, checks=config.checks)
        if outcome.error is None:
            return plan
        _log.warning("isolation plan %s failed its self-test: %s", plan.name, outcome.error)
        candidates = candidates[candidates.index(plan) + 1 :]
    raise RuntimeError("no isolation plan passed the self-test")


# ---- serving -------------------------------------------------------------------------------------------


class Worker:
    """Claims jobs from the queue and runs them, one at a time."""

    def __init__(
        self, *, config: WorkerConfig, plan: _isolation.Plan, scratch_dir: Path, stopping: Callable[[], bool]
    ) -> None:
        self.config = config
        self.plan = plan
        self.scratch_dir = scratch_dir
        self.stopping = stopping
        self.settings = config.settings()
        self.engine: Engine = db.engine_for(config.database_url)
        self.id = f"{platform.node()[:40]}:{os.getpid()}"
        self._reaped = 0.0

    def serve(self) -> None:
        """Run jobs until told to stop."""
        while not self.stopping():
            pause = self.config.queue.poll_seconds
            try:
                ran = self.run_once()
            except SQLAlchemyError as exc:  # not reachable, or not migrated yet: try again soon
                _log.warning("the app database failed (%s); retrying in a second", exc)
                ran, pause = False, 1.0
            if not ran and _wait_for_stop(pause):
                return

    def run_once(self) -> bool:
        """Claim one job and run it; False when the queue had nothing for this worker."""
        self._reap()
        job = _queue.claim(self.engine, worker_id=self.id, now=utc_now(), config=self.config.queue)
        if job is None:
            return False
        _log.info("job %s: claimed (attempt %d)", job.public_id, job.attempts)
        try:
            outcome = self._run(job)
        except Exception as exc:  # a bug of ours must fail the job, not the worker
            _log.exception("job %s: the worker failed", job.public_id)
            outcome = Outcome(error=JobError(kind=ErrorKind.INTERNAL, message=f"the worker failed: {exc}"))
        self._store(job, outcome)
        _isolation.reap_orphans()
        return True

    def _reap(self) -> None:
        if time.monotonic() - self._reaped < self.config.queue.lease_seconds / 4:
            return
        self._reaped = time.monotonic()
        touched = _queue.reap(self.engine, now=utc_now())
        if touched:
            _log.warning("requeued or failed %d job(s) whose worker was lost", touched)

    def _run(self, job: _queue.Claimed) -> Outcome:
        try:
            request = JobRequest.model_validate(job.payload)
        except ValidationError as exc:
            return Outcome(error=JobError(kind=ErrorKind.INVALID, message=f"invalid job: {exc}"))
        refused = self._check(request)
        if refused is not None:
            return Outcome(error=refused)
        try:
            market = self._market(request)
        except (MarketDataError, ValueError, OSError) as exc:
            return Outcome(error=JobError(kind=ErrorKind.DATA, message=str(exc)))
        scratch = Path(tempfile.mkdtemp(prefix=f"job-{job.id}-", dir=self.scratch_dir))
        try:
            launch = Launch(
                request=request,
                market=market,
                plan=self.plan,
                limits=self.config.limits,
                scratch=scratch,
                checks=self.config.checks,
            )
            return supervise(launch, self._ticker(job))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _check(self, request: JobRequest) -> JobError | None:
        if not self.config.checks:
            return None
        try:
            violation = check_source(request.source)
        except SourceSyntaxError as exc:
            return JobError(kind=ErrorKind.SYNTAX, message=str(exc), line=exc.line)
        if violation is None:
            return None
        return JobError(kind=ErrorKind.FORBIDDEN, message=violation.message, line=violation.line)

    def _market(self, request: JobRequest) -> MarketData:
        with market_store(self.settings) as con:
            return load_market(
                con, request.symbols, start=request.start, end=request.end, timeframe=request.timeframe
            )

    def _ticker(self, job: _queue.Claimed) -> Callable[[float, str], Verdict]:
        last = time.monotonic()

        def tick(fraction: float, message: str) -> Verdict:
            nonlocal last
            if self.stopping():
                return "stop"
            if time.monotonic() - last < self.config.queue.heartbeat_seconds:
                return "go"
            last = time.monotonic()
            beat = _queue.heartbeat(
                self.engine,
                job_id=job.id,
                worker_id=self.id,
                now=utc_now(),
                config=self.config.queue,
                progress=fraction,
                message=message,
            )
            if not beat.alive:
                return "lost"
            return "cancel" if beat.cancel else "go"

        return tick

    def _store(self, job: _queue.Claimed, outcome: Outcome) -> None:
        if outcome.stopped == "stop":
            _queue.release(self.engine, job_id=job.id, worker_id=self.id)
            _log.info("job %s: given back (worker stopping)", job.public_id)
            return
        if outcome.stopped == "lost":
            _log.warning("job %s: lost its lease; dropped", job.public_id)
            return
        stored = _queue.finish(
            self.engine,
            job_id=job.id,
            worker_id=self.id,
            now=utc_now(),
            result=outcome.result,
            output=outcome.output or None,
            error=outcome.error,
        )
        what = (
            "succeeded" if outcome.error is None else f"{outcome.error.kind.value}: {outcome.error.message}"
        )
        _log.info("job %s: %s%s", job.public_id, what, "" if stored else " (no longer ours)")


# ---- the process ---------------------------------------------------------------------------------------

_stop_requested = False


def _on_term(_signum: int, _frame: Any) -> None:
    global _stop_requested  # noqa: PLW0603 - a signal handler's one flag
    _stop_requested = True


def _lifeline_cut() -> bool:
    if _stop_requested:
        return True
    ready, _, _ = select.select([sys.stdin.fileno()], [], [], 0)
    return bool(ready)


def _wait_for_stop(seconds: float) -> bool:
    if _stop_requested:
        return True
    ready, _, _ = select.select([sys.stdin.fileno()], [], [], seconds)
    return bool(ready) or _stop_requested


def main() -> int:
    """Read the configuration, warm up, announce readiness, serve."""
    logging.basicConfig(level=logging.INFO, format="quanta-worker[%(process)d] %(levelname)s %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    config = WorkerConfig.model_validate_json(sys.stdin.readline())
    scratch_dir = Path(config.scratch_dir or Path(tempfile.gettempdir()) / "quanta-sandbox")
    scratch_dir.mkdir(parents=True, exist_ok=True)
    _isolation.adopt_orphans()
    started = time.perf_counter()
    warm_up()
    plan = choose_plan(config, scratch_dir)
    gc.collect()
    gc.freeze()
    ready = {
        "status": READY,
        "plan": plan.name,
        "layers": plan.layers(),
        "warm_seconds": time.perf_counter() - started,
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _log.info("ready in %.1fs; isolation: %s", ready["warm_seconds"], ", ".join(plan.layers()))
    Worker(config=config, plan=plan, scratch_dir=scratch_dir, stopping=_lifeline_cut).serve()
    db.dispose_engines()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

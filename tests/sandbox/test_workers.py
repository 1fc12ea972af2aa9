"""Real worker processes: results equal an in-process run, errors point at the user's line, progress
and printed output come back, cancelling kills a running job, a dead worker's job is run again by
another, and no secret reaches a worker."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from quanta import Backtest
from quanta.examples.sma_cross import SmaCross
from quanta.loading import load_market, market_store
from quanta.runs import stats_json
from quanta.sandbox import ErrorKind, JobRequest, JobStatus, cancel_job, check_source, start_workers
from quanta.sandbox._checks import ENGINE_PRIVATE
from quanta.strategy import Strategy
from tests.sandbox.conftest import (
    CANARY,
    FAST,
    SMA_CROSS,
    TIGHT,
    Sandbox,
    open_sandbox,
    read,
    run,
    submit,
    wait,
)

BLAS = ("Alpha [%]", "Beta")
EXAMPLES = sorted((Path(__file__).parents[2] / "quanta" / "examples").glob("[!_]*.py"))
SLOW = """from quanta import Strategy


class Slow(Strategy):
    def init(self):
        for _ in range(LOOPS):
            pass

    def next(self):
        pass
"""


def test_a_sandboxed_backtest_gives_exactly_the_in_process_results(sandbox: Sandbox) -> None:
    job = run(
        sandbox, sandbox.attacker, SMA_CROSS, params={"fast": 5, "slow": 30}, config={"commission": 0.002}
    )

    with market_store(sandbox.settings) as con:
        data = load_market(con, ["GOOG"], start=date(2011, 1, 1), end=date(2011, 12, 31))
    expected = Backtest(data.data, SmaCross, commission=0.002).run(fast=5, slow=30)
    assert job.error is None, job.error
    assert job.result is not None
    stats, expected_stats = job.result["stats"], stats_json(expected.stats)
    # Beta (and Alpha from it) is a BLAS dot product, whose last bits depend on the arrays' alignment
    assert {k: v for k, v in stats.items() if k not in BLAS} == {
        k: v for k, v in expected_stats.items() if k not in BLAS
    }
    assert [stats[k] for k in BLAS] == pytest.approx([expected_stats[k] for k in BLAS], rel=1e-12)
    assert job.result["params"] == {"fast": 5, "slow": 30}
    assert job.result["strategy"] == "SmaCross"
    assert len(job.result["equity"]) == len(expected.equity)
    assert job.result["receipt"]["data_sha256"] == expected.receipt.data_sha256
    assert (job.status, job.progress, job.attempts) == (JobStatus.SUCCEEDED, 1.0, 1)


def test_printed_output_comes_back(sandbox: Sandbox) -> None:
    source = SMA_CROSS.replace(
        "    def init(self) -> None:\n",
        "    def init(self) -> None:\n        print('bars:', len(self.data.close))\n",
    )

    job = run(sandbox, sandbox.attacker, source)

    assert job.output == "bars: 252\n"


def test_a_failing_strategy_reports_its_line(sandbox: Sandbox) -> None:
    source = "from quanta import Strategy\n\n\nclass Broken(Strategy):\n    def next(self):\n        1 / 0\n"

    job = run(sandbox, sandbox.attacker, source)

    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert (job.error.kind, job.error.line) == (ErrorKind.STRATEGY, 6)
    assert job.error.message == "ZeroDivisionError: division by zero"


@pytest.mark.parametrize(
    ("source", "request_fields", "kind", "message"),
    [
        ("class S(Strategy:\n", {}, ErrorKind.SYNTAX, "syntax error"),
        (
            SMA_CROSS,
            {"class_name": "Nope"},
            ErrorKind.INVALID,
            "no strategy class 'Nope'; strategies: SmaCross",
        ),
        (SMA_CROSS, {"params": {"fastt": 3}}, ErrorKind.INVALID, "Did you mean: fast"),
        (SMA_CROSS, {"config": {"cash": -1}}, ErrorKind.INVALID, "cash"),
        (SMA_CROSS, {"symbols": ["NOPE"]}, ErrorKind.DATA, "NOPE"),
    ],
)
def test_bad_requests_fail_with_a_clear_kind(
    *, sandbox: Sandbox, source: str, request_fields: dict[str, object], kind: ErrorKind, message: str
) -> None:
    job = run(sandbox, sandbox.attacker, source, **request_fields)

    assert job.error is not None
    assert job.error.kind is kind, job.error
    assert message in job.error.message


def test_a_search_reports_progress_then_its_best_parameters(sandbox: Sandbox) -> None:
    # Big enough to outlast several heartbeats (0.2 s) even with the fast sweep path.
    space = {"fast": list(range(2, 30)), "slow": list(range(31, 101, 2))}
    public_id = submit(
        sandbox, sandbox.attacker, SMA_CROSS, kind="optimize", space=space, start=None, end=None
    )
    seen = set()
    while not (job := read(sandbox, public_id)).status.finished:
        seen.add(job.progress)
        time.sleep(0.02)

    assert job.error is None, job.error
    assert job.result is not None
    assert job.result["evaluated"] == 28 * 35
    assert set(job.result["best_params"]) == {"fast", "slow"}
    assert any(0.2 < p < 1.0 for p in seen), seen
    assert job.progress == 1.0


def test_cancelling_a_running_job_kills_it(sandbox: Sandbox) -> None:
    public_id = submit(sandbox, sandbox.attacker, SLOW.replace("LOOPS", "10**10"))
    while read(sandbox, public_id).status is not JobStatus.RUNNING:
        time.sleep(0.01)

    with Session(sandbox.engine) as session:
        cancel_job(session=session, owner_id=sandbox.attacker, public_id=public_id)
        session.commit()
    cancelled_at = time.monotonic()
    job = wait(sandbox, public_id)

    assert job.status is JobStatus.CANCELLED
    assert job.error is not None
    assert job.error.kind is ErrorKind.CANCELLED
    assert time.monotonic() - cancelled_at < 1.5  # well before the 2 s CPU limit would end it


def test_workers_get_no_secret(sandbox: Sandbox) -> None:
    for process in sandbox.pool.processes:
        environment = Path(f"/proc/{process.pid}/environ").read_bytes()

        assert b"QUANTA_" not in environment
        assert CANARY.encode() not in environment


def test_workers_report_the_walls_they_put_up(sandbox: Sandbox) -> None:
    report = sandbox.pool.wait_ready()[0]

    assert report["layers"][-2:] == ["no new privileges", "resource limits"]
    if os.geteuid() == 0:
        assert report["plan"] == "root", report


@pytest.mark.slow
def test_a_dead_workers_job_runs_again_on_another_and_a_stopping_worker_gives_its_job_back(
    tmp_path: Path, market_file: Path, sqlite_template: Path
) -> None:
    first = open_sandbox(tmp_path, market_file, sqlite_template, 1)
    first.pool.wait_ready()
    public_id = submit(first, first.attacker, SLOW.replace("LOOPS", "2 * 10**7"))
    while read(first, public_id).status is not JobStatus.RUNNING:
        time.sleep(0.01)
    os.kill(first.pool.processes[0].pid, signal.SIGKILL)
    first.pool.stop()

    second = replace(first, pool=start_workers(first.settings, 1, limits=TIGHT, queue=FAST))
    second.pool.wait_ready()
    try:
        job = wait(second, public_id, timeout=30)
        assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2), job.error

        slow = submit(second, second.attacker, SLOW.replace("LOOPS", "10**9"))
        while read(second, slow).status is not JobStatus.RUNNING:
            time.sleep(0.01)
    finally:
        second.pool.stop()
    given_back = read(second, slow)
    assert (given_back.status, given_back.attempts) == (JobStatus.QUEUED, 0)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_bundled_example_passes_the_checks(example: Path) -> None:
    assert check_source(example.read_text()) is None


def test_the_checks_know_every_private_attribute_the_engine_puts_on_a_strategy(sandbox: Sandbox) -> None:
    seen: list[str] = []

    class Spy(Strategy):
        def init(self) -> None:
            seen.extend(name for name in vars(self) if name.startswith("_"))

        def next(self) -> None:
            seen.extend(name for name in vars(self) if name.startswith("_"))

    with market_store(sandbox.settings) as con:
        Backtest(load_market(con, ["GOOG"], end="2004-12-31").data, Spy).run()

    assert seen
    assert set(seen) <= ENGINE_PRIVATE


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_random_and_bayesian_searches_draw_their_trials_from_the_space(sandbox: Sandbox, method: str) -> None:
    space = {"fast": [3, 5, 8, 10, 13], "slow": [20, 30, 40, 50, 60, 70]}
    job = run(sandbox, sandbox.attacker, SMA_CROSS, kind="optimize", space=space, method=method, trials=8)

    assert job.error is None, job.error
    assert job.result is not None
    assert job.result["evaluated"] == 8
    tried = [row["params"] for row in job.result["grid"]]
    assert len({(p["fast"], p["slow"]) for p in tried}) == len(tried) <= 8
    assert all(p["fast"] in space["fast"] and p["slow"] in space["slow"] for p in tried)
    best = max(job.result["grid"], key=lambda row: row["score"])
    assert job.result["best_params"] == best["params"]


def test_a_walk_forward_fits_each_fold_then_scores_the_next_window(sandbox: Sandbox) -> None:
    space = {"fast": [3, 5, 8], "slow": [20, 40]}
    job = run(
        sandbox,
        sandbox.attacker,
        SMA_CROSS,
        kind="optimize",
        space=space,
        method="walk-forward",
        folds=3,
        start="2008-01-01",
        end="2011-12-31",
    )

    assert job.error is None, job.error
    assert job.result is not None
    folds = job.result["folds"]
    assert [f["fold"] for f in folds] == [0, 1, 2]
    assert all(f["test"][0] == f["train"][1] for f in folds)  # scored on the window right after training
    assert [f["test"][1] for f in folds[:-1]] == [f["test"][0] for f in folds[1:]]
    assert all(f["params"]["fast"] in space["fast"] and f["params"]["slow"] in space["slow"] for f in folds)
    assert job.result["best_params"] == folds[-1]["params"]
    assert job.result["stats"]["# Trades"] >= 0


def test_a_search_method_needs_an_optimize_job_and_draws_need_trials() -> None:
    with pytest.raises(ValueError, match="for optimize jobs"):
        JobRequest(source="x = 1", symbols=["GOOG"], method="random", trials=3)
    with pytest.raises(ValueError, match="needs `trials`"):
        JobRequest(source="x = 1", symbols=["GOOG"], kind="optimize", space={"a": [1]}, method="bayes")

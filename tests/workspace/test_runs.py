"""Runs of a workspace strategy: who may start, read and cancel them, the verified backtest a run of the
latest version records, the run form's parsing, and the view models the page shows.

A worker's part is played here by the same JSON a sandboxed backtest or search hands back
(``quanta.sandbox._results``), computed in-process on GOOG; the sandbox itself has its own tests, and
tests/browser/test_coediting.py runs the whole way through real workers.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from quanta.api.deps import MarketAccess
from quanta.engine import Backtest
from quanta.examples import example
from quanta.optimize import BacktestObjective, grid_search, walk_forward
from quanta.receipt import canonical_json
from quanta.results_view import job_detail, optimize_detail
from quanta.sandbox import Job, JobFinishedError, JobKind, JobNotFound, JobRequest, JobStatus
from quanta.sandbox._results import backtest_json, optimize_json, walk_forward_json
from quanta.testing.clock import FakeClock
from quanta.testing.strategies import SmaCross, load_stock
from quanta.workspace import Forbidden, StrategyNotFound, runs
from quanta.workspace.errors import InvalidInput
from quanta.workspace.models import Strategy, VersionCreate, Visibility
from quanta.workspace.service import create_version
from tests.workspace.conftest import People, make_strategy, share

SOURCE = example("sma_cross").path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def backtest_result() -> dict[str, Any]:
    """What a sandboxed backtest of the SMA crossover on GOOG hands back."""
    return backtest_json(Backtest(load_stock("GOOG"), SmaCross).run()) | {"strategy": "SmaCross"}


@pytest.fixture
def strategy(unit: Session, clock: FakeClock, people: People) -> Strategy:
    strategy = make_strategy(unit, clock, people.owner, title="SMA cross", source=SOURCE)
    share(unit, clock, strategy, people)
    return strategy


def request(source: str = SOURCE, **changes: Any) -> JobRequest:
    return JobRequest(source=source, symbols=["GOOG"], **changes)


def finish(unit: Session, clock: FakeClock, job: Job, result: dict[str, Any] | None, **changes: Any) -> Job:
    """What a worker does when a job ends (succeeded with ``result`` unless ``changes`` say otherwise)."""
    job.status = changes.pop("status", JobStatus.SUCCEEDED)
    job.result, job.progress, job.finished_at = result, 1.0, clock.now()
    for name, value in changes.items():
        setattr(job, name, value)
    unit.add(job)
    unit.commit()
    return job


# ---- who may do what -----------------------------------------------------------------------------------


def test_owners_and_editors_start_runs_that_belong_to_them_and_to_the_strategy(
    unit: Session, clock: FakeClock, people: People, strategy: Strategy
) -> None:
    mine = runs.start_run(
        session=unit, actor=people.owner, strategy=strategy, request=request(), now=clock.now()
    )
    theirs = runs.start_run(session=unit, actor=people.editor, strategy=strategy, request=request())
    unit.commit()

    assert mine.owner_id == people.owner.id
    assert theirs.owner_id == people.editor.id
    assert mine.public_id.startswith(f"{strategy.public_id}.")
    assert mine.public_id != theirs.public_id
    assert len(mine.public_id) <= 40
    assert mine.status is JobStatus.QUEUED
    assert mine.request.source == SOURCE


def test_viewers_and_strangers_cannot_start_runs(
    unit: Session, clock: FakeClock, people: People, strategy: Strategy
) -> None:
    with pytest.raises(Forbidden):
        runs.start_run(session=unit, actor=people.viewer, strategy=strategy, request=request())
    with pytest.raises(StrategyNotFound):
        runs.start_run(session=unit, actor=people.stranger, strategy=strategy, request=request())


def test_every_reader_reads_a_run_and_nobody_reads_a_job_that_is_not_one_of_its_runs(
    unit: Session, clock: FakeClock, people: People, strategy: Strategy
) -> None:
    job = runs.start_run(session=unit, actor=people.editor, strategy=strategy, request=request())
    other = make_strategy(unit, clock, people.owner, title="Other", source=SOURCE)
    elsewhere = runs.start_run(session=unit, actor=people.owner, strategy=other, request=request())
    unit.commit()

    for reader in (people.owner, people.editor, people.viewer):
        assert runs.run_of(session=unit, strategy=strategy, user_id=reader.id, job_id=job.public_id) == job
    with pytest.raises(StrategyNotFound):
        runs.run_of(session=unit, strategy=strategy, user_id=people.stranger.id, job_id=job.public_id)
    with pytest.raises(JobNotFound):
        runs.run_of(session=unit, strategy=strategy, user_id=people.owner.id, job_id=elsewhere.public_id)
    with pytest.raises(JobNotFound):
        runs.run_of(
            session=unit, strategy=strategy, user_id=people.owner.id, job_id=strategy.public_id + ".x"
        )


def test_anyone_reads_the_runs_of_a_public_strategy(unit: Session, clock: FakeClock, people: People) -> None:
    public = make_strategy(unit, clock, people.owner, visibility=Visibility.PUBLIC, source=SOURCE)
    job = runs.start_run(session=unit, actor=people.owner, strategy=public, request=request())
    unit.commit()

    assert runs.run_of(session=unit, strategy=public, user_id=None, job_id=job.public_id) == job
    assert runs.latest_run(session=unit, strategy=public, user_id=people.stranger.id) == job


def test_the_latest_run_is_the_newest_of_this_strategy_only(
    unit: Session, clock: FakeClock, people: People, strategy: Strategy
) -> None:
    assert runs.latest_run(session=unit, strategy=strategy, user_id=people.viewer.id) is None
    runs.start_run(session=unit, actor=people.owner, strategy=strategy, request=request(), now=clock.now())
    newest = runs.start_run(
        session=unit, actor=people.editor, strategy=strategy, request=request(), now=clock.advance(minutes=1)
    )
    other = make_strategy(unit, clock, people.owner, title="Other", source=SOURCE)
    runs.start_run(
        session=unit, actor=people.owner, strategy=other, request=request(), now=clock.advance(minutes=1)
    )
    unit.commit()

    assert runs.latest_run(session=unit, strategy=strategy, user_id=people.viewer.id) == newest
    with pytest.raises(StrategyNotFound):
        runs.latest_run(session=unit, strategy=strategy, user_id=people.stranger.id)


def test_writers_cancel_anyone_s_run_and_viewers_cannot(
    unit: Session, clock: FakeClock, people: People, strategy: Strategy
) -> None:
    job = runs.start_run(session=unit, actor=people.owner, strategy=strategy, request=request())
    unit.commit()

    with pytest.raises(Forbidden):
        runs.cancel_run(session=unit, actor=people.viewer, strategy=strategy, job_id=job.public_id)
    cancelled = runs.cancel_run(session=unit, actor=people.editor, strategy=strategy, job_id=job.public_id)
    unit.commit()

    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.error is not None
    with pytest.raises(JobFinishedError):
        runs.cancel_run(session=unit, actor=people.owner, strategy=strategy, job_id=job.public_id)


# ---- the verified backtest -----------------------------------------------------------------------------


def test_a_successful_backtest_of_the_latest_version_becomes_the_verified_backtest(
    unit: Session, clock: FakeClock, people: People, strategy: Strategy, backtest_result: dict[str, Any]
) -> None:
    job = runs.start_run(session=unit, actor=people.editor, strategy=strategy, request=request())
    unit.commit()
    finish(unit, clock, job, backtest_result)

    recorded = runs.record_run(session=unit, strategy=strategy, job=job)
    unit.commit()

    stats = backtest_result["stats"]
    assert recorded is not None
    assert recorded.run_id == job.public_id
    assert recorded.version == 1
    assert recorded.return_pct == pytest.approx(stats["Return [%]"])
    assert recorded.sharpe == pytest.approx(stats["Sharpe Ratio"])
    assert recorded.max_drawdown_pct == pytest.approx(stats["Max. Drawdown [%]"])
    expected_hash = hashlib.sha256(canonical_json(backtest_result["receipt"]).encode()).hexdigest()
    assert recorded.receipt_hash == expected_hash
    unit.refresh(strategy)
    assert strategy.verified_backtest == recorded


def test_drafts_older_versions_optimisations_and_failures_are_not_verified(
    unit: Session, clock: FakeClock, people: People, strategy: Strategy, backtest_result: dict[str, Any]
) -> None:
    draft = runs.start_run(
        session=unit, actor=people.owner, strategy=strategy, request=request(SOURCE + "\n# draft\n")
    )
    old = runs.start_run(session=unit, actor=people.owner, strategy=strategy, request=request())
    search = runs.start_run(
        session=unit,
        actor=people.owner,
        strategy=strategy,
        request=request(kind=JobKind.OPTIMIZE, space={"fast": [5, 10]}),
    )
    failed = runs.start_run(session=unit, actor=people.owner, strategy=strategy, request=request())
    running = runs.start_run(session=unit, actor=people.owner, strategy=strategy, request=request())
    unit.commit()
    create_version(
        session=unit,
        actor=people.owner,
        strategy=strategy,
        version_in=VersionCreate(source=SOURCE.replace("fast = 10", "fast = 12")),
    )
    unit.commit()
    finish(unit, clock, draft, backtest_result)
    finish(unit, clock, old, backtest_result)
    finish(unit, clock, search, backtest_result)
    finish(unit, clock, failed, None, status=JobStatus.FAILED, error_kind="strategy", error_message="boom")
    running.status = JobStatus.RUNNING
    unit.add(running)
    unit.commit()

    for job in (draft, old, search, failed, running):
        assert runs.record_run(session=unit, strategy=strategy, job=job) is None
    unit.refresh(strategy)
    assert strategy.verified_backtest is None


def test_a_backtest_with_undefined_figures_is_not_verified_and_an_undefined_sharpe_is_none(
    unit: Session, clock: FakeClock, people: People, strategy: Strategy, backtest_result: dict[str, Any]
) -> None:
    job = runs.start_run(session=unit, actor=people.owner, strategy=strategy, request=request())
    unit.commit()
    no_sharpe = backtest_result | {"stats": backtest_result["stats"] | {"Sharpe Ratio": None}}
    finish(unit, clock, job, no_sharpe)
    assert runs.verified_backtest(job, version=1) is not None
    assert runs.verified_backtest(job, version=1).sharpe is None  # type: ignore[union-attr]

    no_return = backtest_result | {"stats": backtest_result["stats"] | {"Return [%]": None}}
    finish(unit, clock, job, no_return)
    assert runs.verified_backtest(job, version=1) is None


# ---- the form ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        (" 12 ", 10, 12),
        ("-3", 10, -3),
        ("0.25", 0.5, 0.25),
        ("3", 0.5, 3.0),
        ("true", False, True),
        ("False", True, False),
        ("", True, False),
        ("  breakout ", "trend", "  breakout "),
    ],
)
def test_a_typed_parameter_takes_its_default_s_type(text: str, default: Any, expected: Any) -> None:
    value = runs.parse_param("p", text, default)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "default"), [("1.5", 10), ("ten", 10), ("nan", 0.5), ("inf", 0.5), ("maybe", True)]
)
def test_a_parameter_of_the_wrong_kind_is_refused_by_name(text: str, default: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        runs.parse_param("fast", text, default)
    assert raised.value.field == "fast"
    assert "fast" in str(raised.value)


def test_ranges_are_inclusive_and_exact_in_decimal() -> None:
    assert runs.param_values("fast", start="5", stop="20", step="5", integer=True) == [5, 10, 15, 20]
    assert runs.param_values("fast", start="5", stop="22", step="5", integer=True) == [5, 10, 15, 20]
    assert runs.param_values("stop", start="0.1", stop="0.3", step="0.1", integer=False) == [0.1, 0.2, 0.3]
    assert runs.param_values("fast", start="7", stop="7", step="1", integer=True) == [7]


@pytest.mark.parametrize(
    ("start", "stop", "step", "integer", "complaint"),
    [
        ("5", "1", "1", True, "ends before it starts"),
        ("1", "5", "0", True, "positive"),
        ("1", "5", "-1", True, "positive"),
        ("1", "5", "0.5", True, "whole numbers"),
        ("a", "5", "1", True, "range of numbers"),
        ("1", "1000", "1", True, "limit is 200"),
    ],
)
def test_bad_ranges_are_refused_by_name(
    start: str, stop: str, step: str, integer: bool, complaint: str
) -> None:
    with pytest.raises(InvalidInput, match=complaint) as raised:
        runs.param_values("fast", start=start, stop=stop, step=step, integer=integer)
    assert raised.value.field == "fast"


def test_a_search_space_is_small_enough_to_run_from_the_page() -> None:
    assert runs.search_space({"fast": [5, 10], "slow": [20, 30]}) == {"fast": [5, 10], "slow": [20, 30]}
    with pytest.raises(InvalidInput, match="at least one"):
        runs.search_space({})
    with pytest.raises(InvalidInput, match="401 parameter sets"):
        runs.search_space({"a": list(range(401))})
    with pytest.raises(InvalidInput, match="at most 10"):
        runs.search_space({f"p{i}": [1] for i in range(11)})


def test_default_ranges_go_from_half_to_twice_the_default() -> None:
    assert runs.default_range(10) == (5, 20, 1)
    assert runs.default_range(40) == (20, 80, 7)
    assert runs.default_range(-4) == (-8, -2, 1)
    assert runs.default_range(0) == (0, 10, 1)
    assert runs.default_range(30.0) == (15.0, 60.0, 5.62)
    assert runs.default_range(0.0) == (0.0, 1.0, 0.125)
    for value in (10, 40, 30.0, 0.02):
        start, stop, step = runs.default_range(value)
        values = runs.param_values(
            "p", start=str(start), stop=str(stop), step=str(step), integer=isinstance(value, int)
        )
        assert values[0] == start
        assert len(values) <= 16


# ---- what the page shows -------------------------------------------------------------------------------


def test_a_job_s_backtest_result_shows_like_a_saved_run(
    market_store: MarketAccess, backtest_result: dict[str, Any]
) -> None:
    detail = market_store.run(
        lambda con: job_detail(
            result=backtest_result, market=con, symbols=["GOOG"], start=None, end=date(2013, 3, 1)
        )
    )
    stats = backtest_result["stats"]
    equity = backtest_result["equity"]

    assert detail.summary["strategy"] == "SmaCross"
    assert detail.summary["symbols"] == "GOOG"
    assert detail.summary["period"] == f"{equity[0]['ts'][:10]} → 2013-03-01"
    assert detail.summary["params"] == "fast=10, slow=20"
    assert detail.summary["# Trades"] == str(stats["# Trades"])
    assert {row["name"] for row in detail.stats} == set(stats)
    series = detail.equity["series"][0]
    assert len(detail.equity["t"]) == len(equity) == len(series["values"])
    assert series["values"][-1] == pytest.approx(equity[-1]["equity"])
    assert detail.drawdown["series"][0]["values"][-1] == round(-100 * equity[-1]["drawdown_pct"], 6)
    assert len(detail.trades) == len(backtest_result["trades"])
    first = backtest_result["trades"][0]
    assert detail.trades[0]["entry_time"] == first["entry_time"][:10]
    assert detail.trades[0]["side"] == ("long" if first["size"] > 0 else "short")
    assert len(detail.candles["t"]) > 2000
    closed = sum(1 for t in backtest_result["trades"] if t["exit_time"])
    assert len(detail.markers) == len(backtest_result["trades"]) + closed
    assert [m["time"] for m in detail.markers] == sorted(m["time"] for m in detail.markers)
    assert {row["name"] for row in detail.receipt} == set(backtest_result["receipt"])


def test_several_symbols_or_an_unknown_one_show_no_candles(
    market_store: MarketAccess, backtest_result: dict[str, Any]
) -> None:
    for symbols in (["GOOG", "AAPL"], ["NOPE"]):
        detail = market_store.run(
            lambda con, symbols=symbols: job_detail(result=backtest_result, market=con, symbols=symbols)
        )
        assert detail.candles == {}
        assert detail.markers == []
        assert len(detail.trades) == len(backtest_result["trades"])


def test_an_optimisation_shows_its_best_parameters_and_a_heatmap_of_every_score() -> None:
    space = {"fast": [5, 10, 15], "slow": [20, 40]}
    objective = BacktestObjective(strategy=SmaCross, data=load_stock("GOOG"), maximize="Sharpe Ratio")
    found = grid_search(objective, space, workers=1)
    result = optimize_json(found)

    view = optimize_detail(result=result, names=["fast", "slow"])

    assert len(result["grid"]) == 6
    assert view.evaluated == 6
    assert view.best_params == [{"name": k, "value": str(v)} for k, v in found.best_params.items()]
    heat = view.heatmap
    assert (heat["x"], heat["y"], heat["columns"]) == ("fast", "slow", ["5", "10", "15"])
    assert [row["label"] for row in heat["rows"]] == ["40", "20"]
    cells = {
        (fast, row["label"]): cell
        for row in heat["rows"]
        for fast, cell in zip(heat["columns"], row["cells"], strict=True)
    }
    for entry in result["grid"]:
        cell = cells[(str(entry["params"]["fast"]), str(entry["params"]["slow"]))]
        assert cell["text"] == f"{entry['score']:.3g}"
    best = [cell for cell in cells.values() if cell["best"]]
    assert len(best) == 1
    assert best[0]["text"] == f"{found.best.score:.3g}"
    assert best[0]["color"] == "#08306b"


def test_a_heatmap_keeps_the_best_score_over_other_parameters_and_blanks_missing_cells() -> None:
    grid = [
        {"params": {"a": 1, "b": 1, "c": 0}, "score": 1.0},
        {"params": {"a": 1, "b": 1, "c": 1}, "score": 3.0},
        {"params": {"a": 2, "b": 1, "c": 0}, "score": None},
        {"params": {"a": 2, "b": 2, "c": 0}, "score": 2.0},
    ]
    heat = optimize_detail(result={"grid": grid, "best_params": {"a": 1}}, names=["a", "b", "c"]).heatmap

    rows = {row["label"]: [cell["text"] for cell in row["cells"]] for row in heat["rows"]}
    assert rows == {"2": ["", "2"], "1": ["3", ""]}
    one = optimize_detail(result={"grid": grid}, names=["a"]).heatmap
    assert one["y"] == ""
    assert [[cell["text"] for cell in row["cells"]] for row in one["rows"]] == [["3", "2"]]
    assert optimize_detail(result={}, names=[]).heatmap == {}


def test_job_times_are_aware_so_the_verified_backtest_keeps_them(
    unit: Session, clock: FakeClock, people: People, strategy: Strategy, backtest_result: dict[str, Any]
) -> None:
    job = runs.start_run(session=unit, actor=people.owner, strategy=strategy, request=request())
    unit.commit()
    finish(unit, clock, job, backtest_result)
    unit.refresh(job)
    verified = runs.verified_backtest(job, version=1)
    assert verified is not None
    assert verified.as_of.utcoffset() == timedelta(0)
    assert abs((verified.as_of - clock.now()).total_seconds()) < 1
    assert math.isfinite(verified.return_pct)


def test_a_walk_forward_shows_each_fold_and_the_last_fitted_parameters() -> None:
    objective = BacktestObjective(strategy=SmaCross, data=load_stock("GOOG"), maximize="Sharpe Ratio")
    found = walk_forward(objective, {"fast": [5, 10], "slow": [20, 40]}, folds=3, workers=1)

    view = optimize_detail(result=walk_forward_json(found), names=["fast", "slow"])

    assert [row["fold"] for row in view.folds] == ["1", "2", "3"]
    for row, fold in zip(view.folds, found.folds, strict=True):
        assert row["params"] == f"fast = {fold.params['fast']}, slow = {fold.params['slow']}"
        assert row["test"].startswith(str(fold.test_start)[:10])
    assert view.best_params == [{"name": k, "value": str(v)} for k, v in found.folds[-1].params.items()]
    assert view.heatmap["rows"] == [] or view.heatmap == {}


def test_drawn_searches_may_span_more_sets_than_a_grid_but_draw_a_bounded_number() -> None:
    wide = {"a": list(range(30)), "b": list(range(30))}
    with pytest.raises(InvalidInput, match="900 parameter sets"):
        runs.search_space(wide)
    assert runs.search_space(wide, exhaustive=False) == wide
    assert runs.search_trials(" 50 ") == 50
    for bad in ("0", "x", str(runs.MAX_GRID + 1)):
        with pytest.raises(InvalidInput):
            runs.search_trials(bad)
    assert runs.search_folds("4") == 4
    for bad in ("1", "13", "four"):
        with pytest.raises(InvalidInput):
            runs.search_folds(bad)

"""``quanta optimize`` end to end: grid, random, Bayes and walk-forward on bundled GOOG."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from quanta.examples import example
from quanta.loading import load_strategy
from quanta.optimize import BacktestObjective, grid_search, parse_constraint, parse_space
from tests.cli.conftest import Invoke

SMA_CROSS = example("sma_cross").path
RANGE = ("--start", "2009-01-01", "--end", "2012-12-31")


def test_grid_json_matches_an_in_process_grid_search(quanta: Invoke, goog_frame: pd.DataFrame) -> None:
    args = ("--param", "fast=5:20:5", "--param", "slow=20,40", "--constraint", "fast < slow")
    out = quanta("optimize", SMA_CROSS, *args, "--workers", "2", "--json")
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    strategy = load_strategy(SMA_CROSS)
    space = parse_space(strategy, ["fast=5:20:5", "slow=20,40"])
    found = grid_search(
        BacktestObjective(
            strategy=strategy, data={"GOOG": goog_frame}, options={"cash": 10_000.0, "commission": 0.0}
        ),
        space,
        constraint=parse_constraint("fast < slow", list(space)),
        workers=1,
    )
    assert got["method"] == "grid"
    assert got["evaluated"] == found.evaluated == 7
    assert got["best_params"] == found.best_params
    assert got["top"][0]["score"] == found.best.score
    assert got["best"]["Sharpe Ratio"] == found.best.score
    assert got["run_id"]


def test_grid_prints_the_top_table_and_saves_a_report(quanta: Invoke, tmp_path: Path) -> None:
    out = quanta("optimize", SMA_CROSS, *RANGE, "--param", "fast=5,10", "--param", "slow=20,30", "--top", "3")
    assert out.exit_code == 0, out.output
    assert "Best 3 of 4 (grid)" in out.output
    run_id = out.output.split("Saved run ")[1].split()[0]
    assert quanta("report", run_id, "-o", tmp_path / "o.html").exit_code == 0
    page = (tmp_path / "o.html").read_text()
    assert "Parameter heatmap" in page
    assert "Best parameter sets" in page


def test_random_and_bayes_are_reproducible(quanta: Invoke) -> None:
    args = (
        "optimize",
        SMA_CROSS,
        *RANGE,
        "--param",
        "fast=2:30",
        "--param",
        "slow=20:60:10",
        "--json",
        "--no-save",
    )
    for method in ("random", "bayes"):
        first = json.loads(quanta(*args, "--method", method, "--trials", "6", "--seed", "3").output)
        again = json.loads(quanta(*args, "--method", method, "--trials", "6", "--seed", "3").output)
        assert first["evaluated"] == 6
        assert first["top"] == again["top"]


def test_rows_out_writes_every_row(quanta: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "rows.csv"
    out = quanta(
        "optimize", SMA_CROSS, *RANGE, "--param", "fast=5:15:5", "--param", "slow=30", "--rows-out", target
    )
    assert out.exit_code == 0, out.output
    assert len(pd.read_csv(target)) == 3


def test_walk_forward_reports_folds_and_a_stitched_run(quanta: Invoke) -> None:
    args = ("--param", "fast=5,10", "--param", "slow=20,40", "--method", "walk-forward", "--folds", "3")
    out = quanta("optimize", SMA_CROSS, *args, "--json")
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert got["method"] == "walk-forward"
    assert len(got["folds"]) == 3
    assert "Sharpe Ratio" in got["stats"]
    shown = json.loads(quanta("runs", "show", got["run_id"], "--json").output)
    assert shown["kind"] == "optimize"
    assert shown["Start"] == got["folds"][0]["test_start"]


def test_bad_constraint_exits_2(quanta: Invoke) -> None:
    out = quanta("optimize", SMA_CROSS, "--param", "fast=5,10", "--constraint", "open('x')")
    assert out.exit_code == 2
    assert "may only use" in out.output


def test_unknown_statistic_exits_2_with_a_hint(quanta: Invoke) -> None:
    out = quanta("optimize", SMA_CROSS, "--param", "fast=5,10", "--maximize", "Sharpe")
    assert out.exit_code == 2
    assert "Did you mean: Sharpe Ratio?" in out.output


def test_random_without_trials_exits_2(quanta: Invoke) -> None:
    out = quanta("optimize", SMA_CROSS, "--param", "fast=5,10", "--method", "random")
    assert out.exit_code == 2
    assert "--trials" in out.output


def test_no_parameters_exits_2(quanta: Invoke) -> None:
    assert quanta("optimize", SMA_CROSS).exit_code == 2

"""Grid, random and Bayesian search: right answers, determinism, streaming and parallel workers."""

from __future__ import annotations

import gc
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import quanta.testing.strategies as shared_strategies
from quanta import Backtest, Result, StrategyError
from quanta.optimize import (
    ROW_STATS,
    BacktestObjective,
    FunctionObjective,
    Range,
    Row,
    bayes_search,
    grid_search,
    heatmap,
    iter_grid,
    optimize,
    parse_constraint,
    random_search,
    row_writer,
)
from quanta.testing.strategies import SmaCross, SmaCrossSignals
from tests.engine.test_run_stats import same

SPACE = {"fast": Range(5, 25, 5), "slow": Range(10, 60, 10)}


def fast_below_slow(p: dict[str, Any]) -> bool:
    return bool(p["fast"] < p["slow"])


def test_grid_search_picks_the_best_of_evaluating_each_combination(goog: pd.DataFrame) -> None:
    objective = BacktestObjective(strategy=SmaCross, data=goog, options={"commission": 0.002})
    found = grid_search(objective, SPACE, constraint=fast_below_slow, workers=1)
    bt = Backtest(goog, SmaCross, commission=0.002)
    direct = {
        (f, s): bt.run(fast=f, slow=s).stats["Sharpe Ratio"]
        for f in SPACE["fast"].values()
        for s in SPACE["slow"].values()
        if f < s
    }
    best = max(direct, key=lambda k: direct[k])
    assert (found.best_params["fast"], found.best_params["slow"]) == best
    assert found.best.score == direct[best]
    assert found.evaluated == len(direct)
    assert found.best.result.stats["Sharpe Ratio"] == direct[best]
    assert found.rows["score"].iloc[0] == direct[best]


def return_over_drawdown(stats: Any) -> float:
    return float(stats["Return [%]"] / -stats["Max. Drawdown [%]"])


@pytest.mark.parametrize("maximize", ["Sharpe Ratio", "SQN", return_over_drawdown])
def test_each_row_holds_the_statistics_of_a_plain_backtest(goog: pd.DataFrame, maximize: Any) -> None:
    options = {"commission": 0.002}
    objective = BacktestObjective(strategy=SmaCrossSignals, data=goog, options=options, maximize=maximize)
    space = {"fast": [2, 5, 10, 40], "slow": [3, 20, 30, 90]}
    found = grid_search(objective, space, constraint=fast_below_slow, workers=2)
    bt = Backtest(goog, SmaCrossSignals, **options)
    for row in found.rows.to_dict("records"):
        stats = bt.run(fast=row["fast"], slow=row["slow"]).stats
        expected = maximize(stats) if callable(maximize) else stats[maximize]
        assert same(row["score"], expected), row
        for name in ROW_STATS:
            assert same(float(row[name]), float(stats[name])), (name, row)


def test_parallel_rows_equal_serial_rows(objective: BacktestObjective) -> None:
    serial = grid_search(objective, SPACE, constraint=fast_below_slow, workers=1)
    parallel = grid_search(objective, SPACE, constraint=fast_below_slow, workers=2)
    pd.testing.assert_frame_equal(serial.rows, parallel.rows)
    assert serial.best_params == parallel.best_params


def test_rows_are_sorted_best_first_with_nan_last(objective: BacktestObjective) -> None:
    found = grid_search(objective, {"fast": [5, 300], "slow": [10]}, workers=1)  # SMA(300) never crosses
    assert math.isnan(found.rows["score"].iloc[-1])
    assert found.best_params == {"fast": 5, "slow": 10}


def test_random_search_is_deterministic_for_a_seed(objective: BacktestObjective) -> None:
    a = random_search(objective, SPACE, trials=8, seed=3, constraint=fast_below_slow, workers=1)
    b = random_search(objective, SPACE, trials=8, seed=3, constraint=fast_below_slow, workers=2)
    c = random_search(objective, SPACE, trials=8, seed=4, constraint=fast_below_slow, workers=1)
    pd.testing.assert_frame_equal(a.rows, b.rows)
    assert a.evaluated == 8
    assert set(a.rows["index"]) == set(range(8))
    assert not a.rows[["fast", "slow"]].equals(c.rows[["fast", "slow"]])
    assert (a.rows["fast"] < a.rows["slow"]).all()


def test_bayes_search_is_deterministic_and_respects_the_constraint(objective: BacktestObjective) -> None:
    a = bayes_search(objective, SPACE, trials=12, seed=5, constraint=fast_below_slow, workers=1)
    b = bayes_search(objective, SPACE, trials=12, seed=5, constraint=fast_below_slow, workers=2)
    pd.testing.assert_frame_equal(a.rows, b.rows)
    assert a.evaluated == 12
    assert (a.rows["fast"] < a.rows["slow"]).all()
    assert not a.rows.duplicated(["fast", "slow"]).any()


def test_bayes_search_stops_when_the_space_is_exhausted(objective: BacktestObjective) -> None:
    found = bayes_search(objective, {"fast": [5, 10], "slow": [20, 30]}, trials=50, seed=0, workers=1)
    assert found.evaluated == 4


def test_bayes_search_finds_the_maximum_of_a_smooth_function() -> None:
    objective = FunctionObjective(func=lambda p: {"v": -((p["x"] - 37) ** 2)}, maximize="v")
    found = bayes_search(objective, {"x": Range(0, 100)}, trials=40, seed=1, workers=1)
    assert abs(found.best_params["x"] - 37) <= 2


def test_maximise_a_callable_of_the_statistics(objective: BacktestObjective) -> None:
    custom = BacktestObjective(
        strategy=SmaCrossSignals,
        data=objective.data,
        options={"commission": 0.002},
        maximize=return_over_drawdown,
    )
    found = grid_search(custom, SPACE, constraint=fast_below_slow, workers=2)
    assert found.maximize == "return_over_drawdown"
    stats = found.best.result.stats
    assert found.best.score == stats["Return [%]"] / -stats["Max. Drawdown [%]"]
    assert found.best.score == found.rows["score"].max()


def test_progress_reports_every_evaluation(objective: BacktestObjective) -> None:
    calls: list[tuple[int, int]] = []
    found = grid_search(objective, SPACE, workers=2, progress=lambda d, t: calls.append((d, t)))
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert calls[-1] == (found.evaluated, found.evaluated) == (30, 30)


def test_keep_holds_that_many_full_results(objective: BacktestObjective) -> None:
    found = grid_search(objective, SPACE, constraint=fast_below_slow, workers=1, keep=3)
    assert len(found.top) == 3
    assert [t.score for t in found.top] == found.rows["score"].head(3).tolist()
    for top in found.top:
        assert top.result.params == top.params
        assert top.result.stats["Sharpe Ratio"] == top.score


def test_heatmap_pivots_two_parameters(objective: BacktestObjective) -> None:
    found = grid_search(objective, SPACE, constraint=fast_below_slow, workers=1)
    pivot = heatmap(found.rows, x="fast", y="slow", value="Sharpe Ratio")
    assert pivot.columns.tolist() == [5, 10, 15, 20, 25]
    assert list(pivot.index) == [10, 20, 30, 40, 50, 60]
    row = found.rows.iloc[0]
    assert pivot.loc[row["slow"], row["fast"]] == row["Sharpe Ratio"]
    assert pd.isna(pivot.loc[10, 25])  # excluded by the constraint
    assert found.heatmap("fast", "slow").equals(heatmap(found.rows, x="fast", y="slow", value="score"))


def test_rows_are_written_as_they_come(objective: BacktestObjective, tmp_path: Path) -> None:
    jsonl, csv = tmp_path / "rows.jsonl", tmp_path / "rows.csv"
    with row_writer(jsonl) as to_json, row_writer(csv) as to_csv:

        def both(row: Row) -> None:
            to_json(row)
            to_csv(row)

        found = grid_search(objective, SPACE, workers=2, sink=both, keep_rows=False)
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(lines) == found.evaluated == 30
    assert lines[0]["fast"] == 5
    assert "Sharpe Ratio" in lines[0]
    assert len(pd.read_csv(csv)) == 30
    assert len(found.rows) == len(found.top) == 3  # only the best are kept


def test_a_strategy_error_in_a_worker_points_at_the_users_line(tmp_path: Path, goog: pd.DataFrame) -> None:
    source = tmp_path / "broken.py"
    source.write_text(
        "from quanta import Strategy\n\n"
        "class Broken(Strategy):\n"
        "    n = 1\n\n"
        "    def next(self):\n"
        "        if self.bar > 3 and self.n == 3:\n"
        "            raise RuntimeError('boom')\n"
    )
    from quanta.loading import load_strategy

    objective = BacktestObjective(strategy=load_strategy(source), data=goog)
    with pytest.raises(StrategyError, match="boom") as caught:
        grid_search(objective, {"n": [1, 2, 3, 4]}, workers=2)
    assert caught.value.filename == str(source)
    assert caught.value.lineno == 8


@pytest.mark.slow  # each spawned worker imports quanta afresh
def test_workers_started_with_spawn_load_a_user_file(tmp_path: Path, goog: pd.DataFrame) -> None:
    source = tmp_path / "user_sma.py"
    source.write_text(Path(shared_strategies.__file__).read_text())
    from quanta.loading import load_strategy

    strategy = load_strategy(source, "SmaCrossSignals")
    objective = BacktestObjective(strategy=strategy, data=goog, options={"commission": 0.002})
    space = {"fast": [5, 10], "slow": [20, 30]}
    spawned = grid_search(objective, space, workers=2, start_method="spawn")
    forked = grid_search(objective, space, workers=1)
    pd.testing.assert_frame_equal(spawned.rows, forked.rows)


# -- streaming -------------------------------------------------------------------------------------


class Tracked(dict[str, float]):
    """Statistics that count how many instances are alive."""

    alive = 0
    peak = 0

    def __init__(self, value: float) -> None:
        super().__init__({"value": value, "other": 1.0})
        Tracked.alive += 1
        Tracked.peak = max(Tracked.peak, Tracked.alive)

    def __del__(self) -> None:
        Tracked.alive -= 1


def cheap(params: dict[str, Any]) -> Tracked:
    return Tracked(float((params["a"] * 7919 + params["b"] * 104729) % 1000))


def test_a_100k_sweep_streams_with_bounded_live_results() -> None:
    objective = FunctionObjective(func=cheap, maximize="value", stats=("other",))
    space = {"a": Range(0, 999), "b": Range(0, 99)}
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        if done % 20_000 < 16:
            gc.collect()
            seen.append(Tracked.alive)

    found = optimize(objective, space, workers=1, keep=5, keep_rows=False, progress=progress)
    assert found.evaluated == 100_000
    assert len(found.top) == 5
    assert all(t.score == 999.0 for t in found.top)
    assert len(found.rows) == 5
    assert Tracked.peak <= 5 + 1  # the kept results, plus the one being scored
    assert max(seen) <= 1


def test_a_backtest_sweep_keeps_no_result_alive(goog: pd.DataFrame) -> None:
    tiny = BacktestObjective(strategy=SmaCrossSignals, data=goog.head(60))
    alive: list[int] = []

    def progress(done: int, total: int) -> None:
        if done % 500 < 16:
            alive.append(sum(isinstance(o, Result) for o in gc.get_objects()))

    found = grid_search(
        tiny, {"fast": Range(2, 41), "slow": Range(2, 51)}, workers=1, keep=2, progress=progress
    )
    assert found.evaluated == 2000
    assert len(alive) >= 4
    assert max(alive) <= 1


def test_iter_grid_is_lazy_on_an_enormous_space() -> None:
    objective = FunctionObjective(func=lambda p: {"v": p["a"]}, maximize="v")
    rows = iter_grid(objective, {"a": Range(0, 10**6), "b": Range(0, 10**6)}, workers=1, progress=None)
    first = [next(rows) for _ in range(5)]
    rows.close()
    assert [r.index for r in first] == [0, 1, 2, 3, 4]
    assert first[1].params == {"a": 0, "b": 1}


def test_streamed_rows_arrive_in_order_from_the_pool() -> None:
    objective = FunctionObjective(func=lambda p: {"v": -p["a"]}, maximize="v")
    rule = parse_constraint("a / 3 == a / 3", ["a"])
    rows = list(iter_grid(objective, {"a": Range(0, 4999)}, constraint=rule, workers=2))
    assert [r.index for r in rows] == list(range(5000))
    assert [r.params["a"] for r in rows] == list(range(5000))

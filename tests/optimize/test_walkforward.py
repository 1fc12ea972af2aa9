"""Walk-forward optimisation: windows, per-fold fits, out-of-sample runs and the stitched account."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from quanta import Backtest
from quanta.optimize import BacktestObjective, Range, grid_search, slice_market, walk_forward, windows
from quanta.testing.strategies import SmaCrossSignals

SPACE = {"fast": Range(5, 15, 5), "slow": Range(20, 40, 10)}


def test_rolling_windows_end_at_the_last_bar() -> None:
    plan = windows(100, folds=3, train=40, test=20)
    assert plan == [((0, 40), (40, 60)), ((20, 60), (60, 80)), ((40, 80), (80, 100))]


def test_anchored_windows_all_start_at_the_first_bar() -> None:
    plan = windows(100, folds=2, train=40, test=30, anchored=True)
    assert plan == [((0, 40), (40, 70)), ((0, 70), (70, 100))]


def test_default_windows_train_on_at_least_three_test_windows() -> None:
    (first_train, first_test), *_ = plan = windows(700, folds=4)
    assert len(plan) == 4
    assert first_test[1] - first_test[0] == 100
    assert first_train[1] - first_train[0] >= 300
    assert plan[-1][1][1] == 700


def test_windows_that_do_not_fit_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot fit 5 folds"):
        windows(100, folds=5, train=60, test=10)


def test_each_fold_fits_in_sample_and_scores_out_of_sample(objective: BacktestObjective) -> None:
    wf = walk_forward(objective, SPACE, folds=3, test=80, lookback=0, workers=1)
    assert len(wf.folds) == 3
    for fold in wf.folds:
        train = BacktestObjective(
            strategy=SmaCrossSignals,
            data=slice_market(objective.market, *fold.train),
            options=objective.options,
        )
        fitted = grid_search(train, SPACE, workers=1)
        assert fold.params == fitted.best_params
        assert fold.in_sample == fitted.best.score
        test = Backtest(slice_market(objective.market, *fold.test), SmaCrossSignals, **objective.options)
        stats = test.run(**fold.params).stats
        assert fold.out_of_sample == pytest.approx(stats["Sharpe Ratio"], nan_ok=True)
        assert fold.stats["Return [%]"] == pytest.approx(stats["Return [%]"])


def test_stitched_equity_chains_the_out_of_sample_segments(objective: BacktestObjective) -> None:
    wf = walk_forward(objective, SPACE, folds=3, test=80, lookback=0, workers=2)
    result = wf.result
    assert len(result.equity) == 240
    assert result.equity[0] == pytest.approx(objective.options.get("cash", 10_000.0))
    growth = math.prod(1 + f.stats["Return [%]"] / 100 for f in wf.folds)
    assert result.stats["Return [%]"] == pytest.approx((growth - 1) * 100)
    assert result.stats["# Trades"] == sum(int(f.stats["# Trades"]) for f in wf.folds)
    assert result.trades.exit_bar.max() < 240
    assert np.all(np.diff(result.index) > 0)
    assert wf.equity.index[0] == wf.folds[0].test_start


def test_walk_forward_with_bayes_and_lookback_is_deterministic(objective: BacktestObjective) -> None:
    run = {"folds": 2, "test": 100, "method": "bayes", "trials": 5, "seed": 2, "lookback": 40}
    a = walk_forward(objective, SPACE, workers=1, **run)  # type: ignore[arg-type]
    b = walk_forward(objective, SPACE, workers=2, **run)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.table(), b.table())
    assert a.result.digest() == b.result.digest()
    assert len(a.result.equity) == 200


def test_default_lookback_warms_indicators_up_on_the_training_window(objective: BacktestObjective) -> None:
    warm = walk_forward(objective, {"fast": [5], "slow": [60]}, folds=2, test=60, workers=1)
    cold = walk_forward(objective, {"fast": [5], "slow": [60]}, folds=2, test=60, lookback=0, workers=1)
    assert len(warm.result.equity) == len(cold.result.equity) == 120
    assert cold.result.stats["# Trades"] == 0  # SMA(60) never has a value inside a 60-bar window
    assert warm.result.stats["Exposure Time [%]"] > 0


def test_table_and_dict_describe_every_fold(objective: BacktestObjective) -> None:
    wf = walk_forward(objective, SPACE, folds=2, test=100, workers=1)
    table = wf.table()
    assert list(table["fold"]) == [0, 1]
    assert {"fast", "slow", "in_sample", "out_of_sample", "Sharpe Ratio"} <= set(table.columns)
    summary = wf.to_dict()
    assert summary["folds"][1]["test"] == [300, 400]
    assert isinstance(summary["folds"][0]["test_start"], str)

"""Reproducibility: receipts, bit-identical re-runs, and results that survive a trip to another process."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from quanta import Backtest, Result
from quanta.receipt import ENGINE_VERSION, canonical_json
from quanta.testing.strategies import SmaCross, SmaCrossSignals, load_stock


def test_rerunning_with_the_same_inputs_is_bit_identical(goog: pd.DataFrame) -> None:
    first = Backtest(goog, SmaCross, commission=0.002).run(fast=8)
    again = Backtest(goog.copy(), SmaCross, commission=0.002).run(fast=8)
    assert first.receipt == again.receipt
    assert first.digest() == again.digest()
    assert first.equity.tobytes() == again.equity.tobytes()
    assert first.to_json() == again.to_json()


def test_the_receipt_records_source_parameters_data_and_engine(goog: pd.DataFrame) -> None:
    base = Backtest(goog, SmaCross, commission=0.002)
    receipt = base.run(fast=8).receipt
    assert receipt.strategy.endswith("strategies.SmaCross")
    assert len(receipt.strategy_sha256) == len(receipt.data_sha256) == 64
    assert receipt.params == canonical_json({"fast": 8, "slow": 20}) == '{"fast":8,"slow":20}'
    assert receipt.engine_version == ENGINE_VERSION
    assert '"commission":0.002' in receipt.config
    assert base.run(fast=9).receipt.differences(receipt) == ["params"]
    assert Backtest(goog, SmaCross, commission=0.001).run(fast=8).receipt.differences(receipt) == ["config"]
    moved = goog.copy()
    moved.iloc[-1, 0] += 0.01
    assert Backtest(moved, SmaCross, commission=0.002).run(fast=8).receipt.differences(receipt) == [
        "data_sha256"
    ]


def test_a_result_round_trips_through_json_and_pickle(goog: pd.DataFrame) -> None:
    result = Backtest(goog, SmaCrossSignals, commission=0.002, finalize_trades=True).run()
    for copy in (Result.from_json(result.to_json()), pickle.loads(pickle.dumps(result))):
        assert copy.digest() == result.digest()
        assert copy.stats == result.stats
        assert copy.receipt == result.receipt
        np.testing.assert_array_equal(copy.drawdown, result.drawdown)
        pd.testing.assert_frame_equal(copy.trades_frame(), result.trades_frame())
    tables = result.to_arrow()
    assert tables["trades"].num_rows == len(result.trades)
    assert tables["equity"].column("equity").to_pylist() == result.equity.tolist()


def _run_in_worker(fast: int) -> dict[str, Any]:
    return Backtest(load_stock("GOOG"), SmaCross, commission=0.002).run(fast=fast).to_dict()


def test_a_run_in_a_worker_process_comes_back_whole(goog: pd.DataFrame) -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = Result.from_dict(pool.submit(_run_in_worker, 12).result())
    local = Backtest(goog, SmaCross, commission=0.002).run(fast=12)
    assert remote.digest() == local.digest()
    assert remote.stats == local.stats

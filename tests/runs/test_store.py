"""The run store on DuckDB and PostgreSQL: save, list, load, delete; JSON-safe statistics."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ibis.backends import BaseBackend

from quanta import Backtest, Result
from quanta.runs import (
    RunMeta,
    RunNotFoundError,
    delete_run,
    display,
    list_runs,
    load_run,
    new_run_id,
    number,
    run_store,
    runs_path,
    save_run,
    stats_json,
)
from quanta.settings import Settings
from quanta.testing.sample_data import bokeh_stock
from quanta.testing.strategies import SmaCross
from tests.conftest import BACKENDS


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    frame = bokeh_stock("GOOG").tail(300)
    return frame.set_index(pd.DatetimeIndex(frame["ts"])).drop(columns=["ts", "adj_close"])


@pytest.fixture(scope="module")
def result(goog: pd.DataFrame) -> Result:
    return Backtest({"GOOG": goog}, SmaCross, commission=0.002).run(fast=5, slow=15)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        return Settings(var_dir=tmp_path, market_database_url=request.getfixturevalue("postgres_database"))
    return Settings(var_dir=tmp_path)


@pytest.fixture
def con(settings: Settings) -> Iterator[BaseBackend]:
    with run_store(settings) as connection:
        yield connection


def meta(goog: pd.DataFrame) -> RunMeta:
    return RunMeta(
        strategy_file="/somewhere/sma.py",
        options={"commission": 0.002},
        extra={"note": "hello"},
        prices=goog[["close"]].rename(columns={"close": "GOOG"}),
    )


def test_saved_run_loads_back_equal(con: BaseBackend, result: Result, goog: pd.DataFrame) -> None:
    run_id = save_run(con=con, result=result, meta=meta(goog))
    run = load_run(con=con, run_id=run_id)
    assert run.meta.run_id == run_id
    assert run.meta.kind == "backtest"
    assert run.meta.strategy == run.meta.class_name == "SmaCross"
    assert run.meta.symbols == ("GOOG",)
    assert run.meta.params == {"fast": 5, "slow": 15}
    assert run.meta.start == goog.index[0].to_pydatetime()
    assert run.meta.end == goog.index[-1].to_pydatetime()
    assert run.stats == json.loads(json.dumps(stats_json(result.stats)))
    assert run.receipt == result.receipt.to_dict()
    assert run.options == {"commission": 0.002}
    assert run.extra == {"note": "hello"}
    np.testing.assert_array_equal(run.equity["equity"].to_numpy(), result.equity)
    np.testing.assert_array_equal(run.equity["drawdown_pct"].to_numpy(), result.drawdown)
    assert list(run.equity.index) == list(goog.index)
    expected = result.trades_frame()
    assert len(run.trades) == len(expected) > 0
    np.testing.assert_allclose(run.trades["pnl"].to_numpy(), expected["PnL"].to_numpy())
    assert list(run.trades["entry_time"]) == list(expected["EntryTime"])
    np.testing.assert_array_equal(run.prices["GOOG"].to_numpy(), goog["close"].to_numpy())


def test_statistics_are_stored_json_safe(con: BaseBackend, result: Result, goog: pd.DataFrame) -> None:
    run = load_run(con=con, run_id=save_run(con=con, result=result, meta=meta(goog)))
    assert run.stats["Start"] == goog.index[0].isoformat()
    assert run.stats["Duration"]["seconds"] == result.stats["Duration"].total_seconds()
    assert run.stats["Duration"]["display"] == str(result.stats["Duration"])
    assert run.stats["# Trades"] == result.stats["# Trades"]
    assert display(run.stats["Duration"]) == str(result.stats["Duration"])
    assert number(run.stats["Sharpe Ratio"]) == result.stats["Sharpe Ratio"]


def test_nan_and_infinite_statistics_round_trip_as_json() -> None:
    encoded = stats_json({"a": math.nan, "b": math.inf, "c": pd.NaT, "d": np.int64(3)})
    assert encoded == {"a": None, "b": "Infinity", "c": None, "d": 3}
    assert json.loads(json.dumps(encoded, allow_nan=False)) == encoded
    assert number("Infinity") == math.inf
    assert math.isnan(number(None))


def test_list_shows_newest_first_with_headline_stats(
    con: BaseBackend, result: Result, goog: pd.DataFrame
) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    ids = [
        save_run(con=con, result=result, meta=meta(goog), now=now + timedelta(seconds=i)) for i in range(3)
    ]
    listed = list_runs(con=con)
    assert [r.run_id for r in listed] == ids[::-1]
    assert listed[0].headline["# Trades"] == result.stats["# Trades"]
    assert listed[0].created_at == datetime(2030, 1, 1, 0, 0, 2)
    assert [r.run_id for r in list_runs(con=con, limit=2)] == ids[:0:-1]
    assert list_runs(con=con, kind="optimize") == []


def test_run_ids_are_short_and_sort_by_time() -> None:
    first = new_run_id(datetime(2030, 1, 1, tzinfo=UTC))
    later = new_run_id(datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC))
    assert len(first) == 14
    assert first < later


def test_a_unique_prefix_finds_the_run(con: BaseBackend, result: Result, goog: pd.DataFrame) -> None:
    run_id = save_run(con=con, result=result, meta=meta(goog), now=datetime(2031, 5, 5, tzinfo=UTC))
    assert load_run(con=con, run_id=run_id[:12]).meta.run_id == run_id


def test_unknown_run_suggests_close_ids(con: BaseBackend, result: Result, goog: pd.DataFrame) -> None:
    run_id = save_run(con=con, result=result, meta=meta(goog))
    with pytest.raises(RunNotFoundError, match=f"did you mean {run_id}"):
        load_run(con=con, run_id=run_id[:-1] + ("x" if run_id[-1] != "x" else "y"))


def test_delete_removes_the_run_and_its_series(con: BaseBackend, result: Result, goog: pd.DataFrame) -> None:
    keep = save_run(con=con, result=result, meta=meta(goog))
    gone = save_run(con=con, result=result, meta=meta(goog))
    assert delete_run(con=con, run_id=gone) == gone
    assert [r.run_id for r in list_runs(con=con)] == [keep]
    for table in ("run_equity", "run_trades", "run_prices"):
        t = con.table(table)
        assert int(t.filter(t.run_id == gone).count().execute()) == 0
    with pytest.raises(RunNotFoundError):
        load_run(con=con, run_id=gone)


def test_a_run_without_prices_or_trades_saves(con: BaseBackend, goog: pd.DataFrame) -> None:
    quiet = Backtest({"GOOG": goog}, SmaCross).run(fast=5, slow=400)
    run = load_run(con=con, run_id=save_run(con=con, result=quiet, meta=RunMeta()))
    assert run.trades.empty
    assert run.prices.empty
    assert run.stats["# Trades"] == 0


def test_reading_a_store_that_does_not_exist_yet_finds_no_runs(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "fresh")
    with run_store(settings, read_only=True) as con:
        assert list_runs(con=con) == []
    assert runs_path(settings).exists()

"""Several processes share the DuckDB run store: short connections and retries on its file lock."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from quanta import Backtest
from quanta.loading import DatabaseLockedError
from quanta.runs import RunMeta, list_runs, load_run, run_store, save_run
from quanta.settings import Settings
from quanta.testing.sample_data import bokeh_stock
from quanta.testing.strategies import SmaCross

RUNS_PER_PROCESS = 6
_FORK = multiprocessing.get_context("fork")


def _writer(var_dir: str, tag: int, ready: Any) -> None:
    settings = Settings(var_dir=Path(var_dir))
    frame = bokeh_stock("GOOG").tail(200)
    result = Backtest(frame, SmaCross).run(fast=5 + tag, slow=20)
    ready.wait()
    for _ in range(RUNS_PER_PROCESS):
        with run_store(settings, wait=30) as con:
            run_id = save_run(con=con, result=result, meta=RunMeta(extra={"writer": tag}))
        with run_store(settings, read_only=True, wait=30) as con:
            assert load_run(con=con, run_id=run_id).extra == {"writer": tag}


def _holder(var_dir: str, held: Any, seconds: float) -> None:
    with run_store(Settings(var_dir=Path(var_dir))):
        held.set()
        time.sleep(seconds)


def test_two_processes_write_and_read_at_once(tmp_path: Path) -> None:
    ready = _FORK.Event()
    workers = [_FORK.Process(target=_writer, args=(str(tmp_path), tag, ready)) for tag in (1, 2)]
    for worker in workers:
        worker.start()
    ready.set()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    with run_store(Settings(var_dir=tmp_path), read_only=True) as con:
        runs = list_runs(con=con, limit=100)
    assert len(runs) == 2 * RUNS_PER_PROCESS
    assert {r.params["fast"] for r in runs} == {6, 7}


def test_opening_waits_for_another_process_to_release_the_file(tmp_path: Path) -> None:
    with run_store(Settings(var_dir=tmp_path)):
        pass  # create the file first
    held = _FORK.Event()
    holder = _FORK.Process(target=_holder, args=(str(tmp_path), held, 1.0))
    holder.start()
    try:
        assert held.wait(30)
        locked = pytest.raises(DatabaseLockedError, match="locked by another process: PID")
        with locked, run_store(Settings(var_dir=tmp_path), wait=0.2):
            pass
        started = time.monotonic()
        with run_store(Settings(var_dir=tmp_path), read_only=True, wait=10) as con:
            assert list_runs(con=con) == []
        assert time.monotonic() - started > 0.2
    finally:
        holder.join(30)
    assert holder.exitcode == 0

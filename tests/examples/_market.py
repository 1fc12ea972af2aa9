"""One DuckDB market store with the bundled real data, built once per test session and then only read."""

from __future__ import annotations

from pathlib import Path

import pytest

from quanta.data import connect, load_bundled
from quanta.settings import Settings

_BUILT: dict[str, Path] = {}


def bundled_market_file(factory: pytest.TempPathFactory) -> Path:
    """The path of a market store holding every bundled symbol (closed, so anyone may open it)."""
    if "path" not in _BUILT:
        folder = factory.mktemp("bundled-market")
        con = connect(Settings(var_dir=folder, duckdb_path=folder / "market.duckdb"))
        try:
            load_bundled(con)
        finally:
            con.disconnect()
        _BUILT["path"] = folder / "market.duckdb"
    return _BUILT["path"]

"""A read-only market store with the bundled data for the example tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ibis.backends import BaseBackend

from quanta.loading import market_store
from quanta.settings import Settings
from tests.examples._market import bundled_market_file


@pytest.fixture(scope="session")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseBackend]:
    """The bundled market data, opened read-only."""
    path = bundled_market_file(tmp_path_factory)
    with market_store(Settings(var_dir=path.parent, duckdb_path=path)) as con:
        yield con

"""Paper-trading fixtures: a migrated app database per test (SQLite, or PostgreSQL where ``settings`` is
parametrised with ``BACKENDS``), real GOOG/AAPL daily bars as live 1-second bars, and a strategy source."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from quanta import db
from quanta.settings import Settings
from quanta.streaming import Bar
from quanta.testing.strategies import load_stock
from tests.conftest import sqlalchemy_url, temporary_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ORIGIN = 1_700_000_000_000

SMA_CROSS = """
from quanta import Strategy, crossover
from quanta.indicators import SMA


class SmaCross(Strategy):
    fast = 10
    slow = 20

    def init(self):
        self.fast_ma = self.I(SMA, self.data.close, self.fast)
        self.slow_ma = self.I(SMA, self.data.close, self.slow)

    def next(self):
        if crossover(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy()
        elif crossover(self.slow_ma, self.fast_ma):
            self.position.close()
            self.sell()
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def paper_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied by each test."""
    folder = tmp_path_factory.mktemp("paper-sqlite")
    db.migrate(Settings(var_dir=folder))
    db.dispose_engines()
    return folder / "quanta.db"


@pytest.fixture(params=["sqlite"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings of a fresh migrated app database."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("paper_sqlite_template"), tmp_path / "quanta.db")
        yield Settings(var_dir=tmp_path)
    else:
        with temporary_database(request.getfixturevalue("postgres_url")) as url:
            configured = Settings(var_dir=tmp_path, database_url=sqlalchemy_url(url))
            db.migrate(configured)
            yield configured
    db.dispose_engines()


def live_bars(symbol: str = "GOOG", count: int = 300, *, skip: int = 0) -> list[Bar]:
    """``count`` real daily bars of ``symbol`` as consecutive closed 1-second bars from ``ORIGIN``."""
    frame = load_stock(symbol).iloc[skip : skip + count]
    return [
        Bar(symbol, "1s", ORIGIN + i * 1000, r.Open, r.High, r.Low, r.Close, float(r.Volume), 16)
        for i, r in enumerate(frame.itertuples(index=False))
    ]


def bar_index(bars: Sequence[Bar], ts: int) -> int:
    return next(i for i, b in enumerate(bars) if b.start == ts)


__all__ = ["BACKENDS", "ORIGIN", "SMA_CROSS", "bar_index", "live_bars"]

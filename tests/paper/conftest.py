"""Paper-trading fixtures: a migrated app database per test (SQLite, or PostgreSQL where ``settings`` is
parametrised with ``BACKENDS``), real GOOG/AAPL daily bars as live 1-second bars, a strategy source, and
the strategies both the broker's and the desk's tests run (the desk as source, with ``source_of``)."""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from quanta import Strategy, db
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


def source_of(strategy: type[Strategy]) -> str:
    """A strategy class of this module as a deployment's source: what the desk's sandbox runs."""
    return f"from quanta import Strategy\n\n\n{inspect.getsource(strategy)}"


class Brackets(Strategy):
    """Market, limit and stop entries, long and short, with tight stop-losses and take-profits (often both
    within one bar), netting against each other; now and then every lot is closed."""

    def init(self) -> None:
        pass

    def next(self) -> None:
        bar, close = len(self.data.close), float(self.data.close[-1])
        if bar % 4 == 0:
            self.buy(size=0.2, sl=close * 0.99, tp=close * 1.01)
        elif bar % 4 == 1:
            self.sell(size=2, limit=close * 1.002, sl=close * 1.02, tp=close * 0.98)
        elif bar % 4 == 2:
            self.buy(size=3, stop=close * 1.003, sl=close * 0.985, tp=close * 1.006)
        elif bar % 8 == 7:
            self.position.close()


class ClosesLots(Strategy):
    """Several lots in one symbol, most with a stop-loss and a take-profit, long for 40 bars then short
    for 40: the strategy closes the newest lot, halves the second (``trade.close(0.5)``, rounded as the
    engine rounds), closes a third of the newest twice on one bar, and at each turn closes everything."""

    def init(self) -> None:
        pass

    def next(self) -> None:
        bar, close = len(self.data.close), float(self.data.close[-1])
        side = 1 if bar // 40 % 2 == 0 else -1
        if bar % 40 == 39:
            self.position.close()  # one close per lot
            return
        order = self.buy if side > 0 else self.sell
        if bar % 4 == 0:
            order(size=0.1, sl=close * (1 - side * 0.05), tp=close * (1 + side * 0.06))
        elif bar % 4 == 1:
            order(size=5, sl=close * (1 - side * 0.03), tp=close * (1 + side * 0.04))
        elif bar % 4 == 2:
            order(size=7)
        trades = self.trades
        if bar % 5 == 3 and len(trades) >= 2:
            trades[-1].close()  # the newest, not the oldest
        elif bar % 5 == 1 and len(trades) >= 3:
            trades[1].close(0.5)
        elif bar % 7 == 6 and trades:
            trades[-1].close(1 / 3)
            trades[-1].close(1 / 3)  # twice on one bar: two orders


__all__ = ["BACKENDS", "ORIGIN", "SMA_CROSS", "Brackets", "ClosesLots", "bar_index", "live_bars", "source_of"]

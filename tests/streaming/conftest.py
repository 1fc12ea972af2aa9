"""Fixtures and helpers for the streaming tests: real daily bars, hand-made ticks, bar collection."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pytest

from quanta.streaming import Bar, DeadLetter, Output, Tick
from quanta.testing.sample_data import bokeh_stock

ORIGIN = 1_700_000_000_000  # a whole second, so 1-second windows line up with replayed days


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def daily_bars(symbol: str, *, days: int | None = None, since: str | None = None) -> pa.Table:
    """Real daily bars of ``symbol`` from bokeh-sampledata (bars schema, read without the store)."""
    frame = bokeh_stock(symbol)
    if since is not None:
        frame = frame[frame["ts"] >= since]
    if days is not None:
        frame = frame.head(days)
    frame.insert(0, "symbol", symbol)
    columns = ["symbol", "ts", "open", "high", "low", "close", "volume"]
    return pa.Table.from_pandas(frame[columns], preserve_index=False)


@pytest.fixture(scope="session")
def goog_bars() -> pa.Table:
    return daily_bars("GOOG")


@pytest.fixture(scope="session")
def two_symbols() -> pa.Table:
    """The same 300 trading days of GOOG and AAPL (from January 2005)."""
    tables = [daily_bars(symbol, days=300, since="2005-01-01") for symbol in ("GOOG", "AAPL")]
    assert tables[0].column("ts").equals(tables[1].column("ts"))
    return pa.concat_tables(tables)


def tick(ts: int, price: float, size: float = 1.0, *, seq: int | None = None, symbol: str = "X") -> Tick:
    """A tick at ``ORIGIN + ts`` milliseconds."""
    return Tick(symbol, ORIGIN + ts, price, size, ts if seq is None else seq)


def bars_of(outputs: Iterable[Output]) -> list[Bar]:
    return [out for out in outputs if isinstance(out, Bar)]


def letters_of(outputs: Iterable[Output]) -> list[DeadLetter]:
    return [out for out in outputs if isinstance(out, DeadLetter)]


def final_bars(bars: Iterable[Bar]) -> dict[tuple[str, str, int], Bar]:
    """The last emission of every window (later revisions replace earlier ones)."""
    out: dict[tuple[str, str, int], Bar] = {}
    for bar in bars:
        previous = out.get(bar.key)
        assert previous is None or bar.rev > previous.rev, f"revision went back: {previous} then {bar}"
        out[bar.key] = bar
    return dict(sorted(out.items()))

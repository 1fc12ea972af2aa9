"""The process's handles on the market data store, shared by the app's states.

With the embedded DuckDB file the app keeps a read-only connection, so the CLI and notebooks can read
the same file while the app runs; an upload closes it, writes through a short-lived read-write
connection, and the next read reopens it. With PostgreSQL one connection does both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from ibis.backends import BaseBackend

from quanta import data
from quanta.settings import get_settings


@lru_cache(maxsize=1)
def market() -> BaseBackend:
    """The market data backend chosen by the settings, for reading."""
    return data.connect(get_settings(), read_only=True)


@contextmanager
def market_writer() -> Iterator[BaseBackend]:
    """A connection that may write to the market store (for uploads)."""
    settings = get_settings()
    if settings.market_database_url:
        yield market()
        return
    close_market()
    writer = data.connect(settings)
    try:
        yield writer
    finally:
        writer.disconnect()


def close_market() -> None:
    """Close the cached reading connection; the next ``market()`` reopens it."""
    if market.cache_info().currsize:
        market().disconnect()
        market.cache_clear()

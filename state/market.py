"""The process-wide handle on the market data store, shared by the app's states."""

from __future__ import annotations

from functools import lru_cache

from ibis.backends import BaseBackend

from quanta import data
from quanta.settings import get_settings


@lru_cache(maxsize=1)
def market() -> BaseBackend:
    """The market data backend chosen by the settings (DuckDB file or PostgreSQL)."""
    return data.connect(get_settings())

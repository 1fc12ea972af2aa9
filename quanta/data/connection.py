"""Open the market-data store chosen by the settings: a DuckDB file, or PostgreSQL when configured."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ibis  # type: ignore[import-untyped]
from ibis.backends import BaseBackend  # type: ignore[import-untyped]

from quanta.data import _store
from quanta.data.schema import create_statements
from quanta.settings import Settings, get_settings

_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}


def connect(settings: Settings | None = None, *, read_only: bool = False) -> BaseBackend:
    """An Ibis connection to the market store, with its tables created if missing.

    PostgreSQL is used when ``settings.market_database_url`` is set; otherwise the DuckDB file at
    ``settings.market_duckdb_path`` (its folder is created). DuckDB admits one writing process or
    many reading ones: ``read_only`` opens the file for reading (creating it first if it is missing),
    so the app, the CLI and notebooks can read it at once.
    """
    settings = settings or get_settings()
    if settings.market_database_url:
        con: Any = ibis.connect(_ibis_postgres_url(settings.market_database_url))
        ensure_schema(con)
    elif read_only:
        if not settings.market_duckdb_path.exists():
            connect(settings).disconnect()
        con = ibis.duckdb.connect(str(settings.market_duckdb_path), read_only=True)
    else:
        path = settings.market_duckdb_path
        path.parent.mkdir(parents=True, exist_ok=True)
        con = ibis.duckdb.connect(str(path))
        ensure_schema(con)
    backend: BaseBackend = con
    return backend


def ensure_schema(con: BaseBackend) -> None:
    """Create the market tables on ``con`` if they do not exist yet."""
    for statement in create_statements(_store.backend_name(con)):
        _store.execute(con, statement)


def _ibis_postgres_url(url: str) -> str:
    """Ibis wants ``postgres://``; accept the SQLAlchemy and libpq spellings too."""
    parts = urlsplit(url)
    if parts.scheme not in _POSTGRES_SCHEMES:
        msg = f"QUANTA_MARKET_DATABASE_URL must be a postgres:// URL, got scheme {parts.scheme!r}"
        raise ValueError(msg)
    return urlunsplit(parts._replace(scheme="postgres"))

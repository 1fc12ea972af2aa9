"""The app database (users and app data): SQLite under var/ by default, PostgreSQL when configured.

Migrations are Alembic revisions in ``quanta/migrations``; ``migrate`` applies them and is idempotent.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlmodel import Session, create_engine

from quanta.settings import Settings, get_settings

MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK_KEY = 0x5155414E5441  # "QUANTA"


_engines: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """One pooled engine per database URL, made on first use."""
    if url not in _engines:
        _engines[url] = _new_engine(url)
    return _engines[url]


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (at shutdown and between tests)."""
    while _engines:
        _, pooled = _engines.popitem()
        pooled.dispose()


def _new_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return create_engine(url, connect_args={"check_same_thread": False})
    return create_engine(url, pool_pre_ping=True)


def engine(settings: Settings | None = None) -> Engine:
    """The engine of the configured app database."""
    return engine_for((settings or get_settings()).app_database_url)


@contextmanager
def session(settings: Settings | None = None) -> Iterator[Session]:
    """A unit of work: committed on success, rolled back on error."""
    with Session(engine(settings)) as unit:
        try:
            yield unit
            unit.commit()
        except Exception:
            unit.rollback()
            raise


def alembic_config(url: str) -> Config:
    """Alembic's configuration pointed at ``url`` and Quanta's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(settings: Settings | None = None) -> None:
    """Bring the app database to the newest revision (a no-op when it is there already).

    Safe when several app workers start at once: they take turns on a lock.
    """
    url = (settings or get_settings()).app_database_url
    config = alembic_config(url)
    with _migration_lock(url), engine_for(url).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """A file lock beside a SQLite database; PostgreSQL uses an advisory lock instead."""
    if not url.startswith("sqlite:///"):
        yield
        return
    lock_path = Path(url.removeprefix("sqlite:///") + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def current_revision(settings: Settings | None = None) -> str | None:
    """The revision the app database is at, or None before the first migration."""
    with engine(settings).connect() as connection:
        exists = connection.dialect.has_table(connection, "alembic_version")
        if not exists:
            return None
        return connection.execute(text("select version_num from alembic_version")).scalar_one_or_none()


def ping(settings: Settings | None = None) -> bool:
    """Whether the app database answers a trivial query."""
    with engine(settings).connect() as connection:
        answer: int = connection.execute(text("select 1")).scalar_one()
        return answer == 1

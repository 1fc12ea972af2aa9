"""The app database (users and app data): SQLite under var/ by default, PostgreSQL when configured.

Migrations are Alembic revisions in ``quanta/migrations``; ``migrate`` applies them and is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlmodel import Session, create_engine

from quanta.settings import Settings, get_settings

MIGRATIONS = Path(__file__).with_name("migrations")


@lru_cache(maxsize=4)
def engine_for(url: str) -> Engine:
    """One pooled engine per database URL."""
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
    """Bring the app database to the newest revision (a no-op when it is there already)."""
    url = (settings or get_settings()).app_database_url
    config = alembic_config(url)
    with engine_for(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


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
        return connection.execute(text("select 1")).scalar_one() == 1

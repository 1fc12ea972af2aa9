"""Shared fixtures: real PostgreSQL, Redis and Kafka servers for the session, market stores per backend.

``postgres_url``, ``redis_url`` and ``kafka_bootstrap`` start one throwaway server each per test
session (on first use) and fail loudly if it cannot start. ``market_con`` runs a test once on DuckDB
and once on PostgreSQL, each time on a fresh, empty market store.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from argon2 import PasswordHasher
from ibis.backends import BaseBackend

from quanta.accounts import passwords
from quanta.data import connect, load_bundled
from quanta.settings import Settings
from quanta.testing.services import KafkaBroker, kafka_server, postgres_server, redis_server

BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: they are the slowest, and Playwright's sync API holds an event loop in the
    main thread while a browser is open (see ``tests/browser/conftest.py``)."""
    items.sort(key=lambda item: item.path.parent.name == "browser")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with tiny parameters in-process: the same code paths, a hundred times faster."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a PostgreSQL server (superuser ``postgres``) that lives for the whole session."""
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a Redis server that lives for the whole session."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A single-node Kafka broker for the whole session; fault tests may stop and start it."""
    with kafka_server() as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker) -> str:
    """``host:port`` of the session's Kafka broker (the same across a fault test's stop and start)."""
    return kafka_broker.bootstrap


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """URL of a brand-new PostgreSQL database, dropped after the test."""
    with temporary_database(postgres_url) as url:
        yield url


def sqlalchemy_url(url: str) -> str:
    """The same PostgreSQL URL spelt for SQLAlchemy with psycopg 3."""
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql+psycopg"))


@contextlib.contextmanager
def temporary_database(server_url: str) -> Iterator[str]:
    """Create a uniquely named database on the server, yield its URL, drop it on exit."""
    name = f"quanta_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _settings(backend: str, folder: Path, database_url: str | None) -> Settings:
    if backend == "postgres":
        return Settings(var_dir=folder, market_database_url=database_url)
    return Settings(var_dir=folder, duckdb_path=folder / "market.duckdb")


@pytest.fixture(params=BACKENDS)
def market_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh, empty market store on each backend."""
    if request.param == "postgres":
        with temporary_database(request.getfixturevalue("postgres_url")) as url:
            yield _settings("postgres", tmp_path, url)
    else:
        yield _settings("duckdb", tmp_path, None)


@pytest.fixture
def market_con(market_settings: Settings) -> Iterator[BaseBackend]:
    """A connection to a fresh, empty market store, once per backend."""
    con = connect(market_settings)
    yield con
    con.disconnect()


@pytest.fixture(scope="session", params=BACKENDS)
def bundled_con(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BaseBackend]:
    """A read-only store with all bundled data loaded, shared by the session, once per backend."""
    folder = tmp_path_factory.mktemp(f"bundled-{request.param}")
    if request.param == "postgres":
        with temporary_database(request.getfixturevalue("postgres_url")) as url:
            con = connect(_settings("postgres", folder, url))
            load_bundled(con)
            yield con
            con.disconnect()
    else:
        con = connect(_settings("duckdb", folder, None))
        load_bundled(con)
        yield con
        con.disconnect()

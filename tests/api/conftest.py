"""API fixtures: the real app (``quanta_app.api.build_api``) on a migrated app database (SQLite by
default; PostgreSQL too where ``app_database`` is parametrised), the bundled market data, a fake clock,
a fresh in-memory limiter, and helpers that register people, organisations, clients and tokens through
the accounts services.
"""

from __future__ import annotations

import base64
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from quanta import db
from quanta.accounts.models import (
    ApiClient,
    ApiClientCreate,
    Organization,
    PersonalAccessTokenCreate,
    User,
)
from quanta.accounts.service import create_personal_access_token, register_api_client, sign_in
from quanta.api.app import ApiRuntime
from quanta.api.deps import MarketAccess, api_clock, api_limiter, api_market, api_settings
from quanta.data import connect, load_bundled
from quanta.ratelimit import MemoryRateLimiter
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from quanta_app.api import build_api
from tests.accounts.conftest import PASSWORD, make_org, make_user  # noqa: F401  (for the tests)
from tests.conftest import sqlalchemy_url

PUBLIC_URL = "http://testserver"
SECRET_KEY = "api-tests-secret-key-with-enough-entropy-0123456789"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ALL_SCOPES = ["market:read", "backtests:run", "backtests:read", "strategies:read"]


# ---- databases -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def api_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied by each test."""
    folder = tmp_path_factory.mktemp("api-sqlite")
    db.migrate(Settings(var_dir=folder))
    db.dispose_engines()
    return folder / "quanta.db"


@pytest.fixture(scope="session")
def api_postgres_template(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head, the template of each test's database."""
    name = f"quanta_api_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db.migrate(
        Settings(database_url=sqlalchemy_url(urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))))
    )
    db.dispose_engines()
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh migrated app database: SQLite, or ``postgres`` when parametrised so."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        target = tmp_path / "quanta.db"
        shutil.copyfile(request.getfixturevalue("api_sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    server = request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("api_postgres_template")
    name = f"quanta_api_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield sqlalchemy_url(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
    finally:
        db.dispose_engines()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def market_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketAccess]:
    """The bundled market data in a DuckDB file, shared by the session."""
    folder = tmp_path_factory.mktemp("api-market")
    con = connect(Settings(var_dir=folder, duckdb_path=folder / "market.duckdb"))
    load_bundled(con)
    yield MarketAccess(lambda: con)
    con.disconnect()


# ---- the app -------------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def limiter() -> MemoryRateLimiter:
    return MemoryRateLimiter()


@pytest.fixture
def settings(tmp_path: Path, app_database: str) -> Settings:
    return Settings(var_dir=tmp_path, database_url=app_database, public_url=PUBLIC_URL, secret_key=SECRET_KEY)


@pytest.fixture
def app(
    settings: Settings, market_store: MarketAccess, clock: FakeClock, limiter: MemoryRateLimiter
) -> Iterator[FastAPI]:
    """The app's FastAPI (as Reflex mounts it) with the test's settings, market, clock and limiter."""
    api = build_api()
    api.dependency_overrides[api_settings] = lambda: settings
    api.dependency_overrides[api_market] = lambda: market_store
    api.dependency_overrides[api_clock] = lambda: clock
    api.dependency_overrides[api_limiter] = lambda: limiter
    yield api
    runtime: ApiRuntime = api.state.quanta_api
    runtime.runner.shutdown()
    db.dispose_engines()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=PUBLIC_URL, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def unit(settings: Settings) -> Iterator[Session]:
    """A session on the test's app database."""
    with Session(db.engine(settings)) as session:
        yield session


# ---- people, organisations, clients, tokens ------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    """An API client as its organisation got it: the row, its public id and its secret."""

    client: ApiClient
    client_id: str
    secret: str

    def basic(self) -> dict[str, str]:
        """The HTTP Basic header authenticating this client."""
        raw = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}


def register_client(
    unit: Session,
    clock: FakeClock,
    owner: User,
    org: Organization,
    *,
    scopes: list[str] | None = None,
    grant_types: list[str] | None = None,
    redirect_uris: list[str] | None = None,
    name: str = "Desk robot",
) -> Registered:
    """A client of ``org`` registered by ``owner``."""
    issued = register_api_client(
        session=unit,
        actor=owner,
        org=org,
        client_in=ApiClientCreate(
            name=name,
            scopes=scopes or ALL_SCOPES,
            grant_types=grant_types or ["client_credentials"],
            redirect_uris=redirect_uris or [],
        ),
        now=clock.now(),
    )
    unit.commit()
    return Registered(client=issued.client, client_id=issued.client.client_id, secret=issued.secret)


def make_pat(unit: Session, clock: FakeClock, user: User, scopes: list[str] | None = None) -> str:
    """A personal access token of ``user``."""
    issued = create_personal_access_token(
        session=unit,
        user=user,
        token_in=PersonalAccessTokenCreate(name="cli", scopes=scopes or ALL_SCOPES),
        now=clock.now(),
    )
    unit.commit()
    return issued.secret


def sign_in_browser(client: TestClient, unit: Session, clock: FakeClock, user: User) -> str:
    """Sign ``user`` in and put the session cookie in ``client``; returns the session token."""
    grant = sign_in(
        session=unit, email=user.email, password=PASSWORD, limiter=MemoryRateLimiter(), now=clock.now()
    )
    unit.commit()
    client.cookies.set("quanta_session", grant.token)
    return grant.token


def client_token(client: TestClient, registered: Registered, scope: str | None = None) -> str:
    """An access token from the client credentials grant."""
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = client.post("/api/oauth/token", data=form, headers=registered.basic())
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def later(clock: FakeClock, **parts: float) -> None:
    """Move the clock on."""
    clock.advance(timedelta(**parts))

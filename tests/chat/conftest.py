"""Chat fixtures: a migrated app database per test (SQLite by default; PostgreSQL where ``database_url``
is parametrised with ``BACKENDS``), its session, a fake clock, a fresh limiter; a cast of people (a site
admin, a strategy owner with an editor and a viewer, a stranger) and their rooms; short helpers to post.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from quanta import db
from quanta.accounts.models import User
from quanta.accounts.service import SESSION_COOKIE, sign_in
from quanta.api.deps import api_clock, api_limiter, api_settings
from quanta.chat.events import ChatEvent
from quanta.chat.live import ChatLive
from quanta.chat.models import ChatRoom
from quanta.chat.service import competition_room, direct_room, lobby, post_message, strategy_room
from quanta.ratelimit import MemoryRateLimiter
from quanta.settings import Settings, get_settings
from quanta.testing.clock import FakeClock
from quanta.workspace.models import CollaboratorCreate, CollaboratorRole, Strategy, StrategyCreate, Visibility
from quanta.workspace.service import add_collaborator, create_strategy
from quanta_app.api import build_api
from quanta_app.chat import chat_live
from quanta_app.live import live_hub, live_market
from tests.accounts.conftest import PASSWORD, make_user
from tests.conftest import sqlalchemy_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
__all__ = ["BACKENDS", "ORIGIN", "Cast", "ChatApp", "Rooms", "forget_app_singletons", "post"]


@pytest.fixture(scope="session")
def chat_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied by each test."""
    folder = tmp_path_factory.mktemp("chat-sqlite")
    db.migrate(Settings(var_dir=folder))
    db.dispose_engines()
    return folder / "quanta.db"


@pytest.fixture(scope="session")
def chat_postgres_template(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head, the template of each test's database."""
    name = f"quanta_chat_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = sqlalchemy_url(urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}")))
    db.migrate(Settings(database_url=url))
    db.dispose_engines()
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh migrated app database: SQLite, or ``postgres`` when parametrised so."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        target = tmp_path / "quanta.db"
        shutil.copyfile(request.getfixturevalue("chat_sqlite_template"), target)
        yield f"sqlite:///{target}"
        db.dispose_engines()
        return
    server = request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("chat_postgres_template")
    name = f"quanta_chat_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield sqlalchemy_url(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
    finally:
        db.dispose_engines()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(var_dir=tmp_path, database_url=database_url)


@pytest.fixture
def unit(settings: Settings) -> Iterator[Session]:
    """A session on the test's database (tests commit when they want to)."""
    with Session(db.engine(settings)) as session:
        yield session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter() -> MemoryRateLimiter:
    return MemoryRateLimiter()


@dataclass(frozen=True)
class Cast:
    """A site admin; a strategy's owner, its editor and viewer; and a stranger to it."""

    admin: User
    owner: User
    editor: User
    viewer: User
    stranger: User


@dataclass(frozen=True)
class Rooms:
    """The lobby; a competition room owned by ``owner``; the room of ``owner``'s private strategy
    shared with ``editor`` and ``viewer``; the direct room of ``owner`` and ``editor``."""

    lobby: ChatRoom
    competition: ChatRoom
    strategy: ChatRoom
    direct: ChatRoom
    private_strategy: Strategy


@pytest.fixture
def cast(unit: Session, clock: FakeClock) -> Cast:
    admin = make_user(unit, clock, "ada@example.com", username="ada")
    admin.is_admin = True
    unit.add(admin)
    unit.commit()
    return Cast(
        admin=admin,
        owner=make_user(unit, clock, "olga@example.com", username="olga"),
        editor=make_user(unit, clock, "eddie@example.com", username="eddie"),
        viewer=make_user(unit, clock, "vic@example.com", username="vic"),
        stranger=make_user(unit, clock, "sam@example.com", username="sam"),
    )


def make_strategy(
    unit: Session, clock: FakeClock, cast: Cast, *, visibility: Visibility = Visibility.PRIVATE
) -> Strategy:
    """A committed strategy of ``cast.owner`` with ``cast.editor`` an editor and ``cast.viewer`` a viewer."""
    strategy = create_strategy(
        session=unit,
        owner=cast.owner,
        strategy_in=StrategyCreate(title="Breakout", visibility=visibility),
        now=clock.now(),
    )
    for name, role in (("eddie", CollaboratorRole.EDITOR), ("vic", CollaboratorRole.VIEWER)):
        add_collaborator(
            session=unit,
            actor=cast.owner,
            strategy=strategy,
            collaborator_in=CollaboratorCreate(username=name, role=role),
            now=clock.now(),
        )
    unit.commit()
    return strategy


@pytest.fixture
def rooms(unit: Session, clock: FakeClock, cast: Cast) -> Rooms:
    strategy = make_strategy(unit, clock, cast)
    made = Rooms(
        lobby=lobby(session=unit, now=clock.now()),
        competition=competition_room(
            session=unit, ref="spring-cup-2026", title="Spring Cup", owner=cast.owner, now=clock.now()
        ),
        strategy=strategy_room(session=unit, user=cast.owner, strategy=strategy, now=clock.now()),
        direct=direct_room(session=unit, user=cast.owner, username="eddie", now=clock.now()),
        private_strategy=strategy,
    )
    unit.commit()
    return made


def post(unit: Session, clock: FakeClock, author: User, room: ChatRoom, body: str) -> ChatEvent:
    """Post ``body`` (with a limiter of its own, so helpers never hit the rate limits) and commit."""
    event = post_message(
        session=unit, actor=author, room=room, body=body, now=clock.now(), limiter=MemoryRateLimiter()
    )
    unit.commit()
    return event


# ---- the app: REST routes and the broadcast websocket ----------------------------------------------------

ORIGIN = "http://testserver"


@dataclass
class ChatApp:
    """The app's API (``quanta_app.api.build_api``) on the test's database, with a fresh hub; ``browser``
    gives a TestClient signed in as someone (the session cookie, and the app's own ``Origin``)."""

    api: FastAPI
    unit: Session
    clock: FakeClock
    clients: list[TestClient]

    @property
    def live(self) -> ChatLive:
        return chat_live()

    def session_token(self, user: User) -> str:
        """A fresh session of ``user`` (what the session cookie holds)."""
        grant = sign_in(
            session=self.unit,
            email=user.email,
            password=PASSWORD,
            limiter=MemoryRateLimiter(),
            now=self.clock.now(),
        )
        self.unit.commit()
        return grant.token

    def browser(self, user: User | None = None) -> TestClient:
        """A client of the app, signed in as ``user`` (None: signed out)."""
        client = TestClient(self.api, base_url=ORIGIN, headers={"Origin": ORIGIN})
        client.__enter__()
        self.clients.append(client)
        if user is not None:
            client.cookies.set(SESSION_COOKIE, self.session_token(user))
        return client


@pytest.fixture
def chat_app(
    settings: Settings, unit: Session, limiter: MemoryRateLimiter, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ChatApp]:
    """The app's API with the chat routes and live push, on the test's database (real clock: the
    websocket's topic rule resolves sessions at the current time)."""
    monkeypatch.setenv("QUANTA_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("QUANTA_DATABASE_URL", str(settings.database_url))
    for name in ("QUANTA_REDIS_URL", "QUANTA_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    forget_app_singletons()
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    api = build_api()
    api.dependency_overrides[api_settings] = lambda: settings
    api.dependency_overrides[api_clock] = lambda: clock.now
    api.dependency_overrides[api_limiter] = lambda: limiter
    made = ChatApp(api=api, unit=unit, clock=clock, clients=[])
    yield made
    for client in made.clients:
        client.__exit__(None, None, None)
    api.state.quanta_api.runner.shutdown()
    db.dispose_engines()
    forget_app_singletons()


def forget_app_singletons() -> None:
    """Forget the app's settings, hub and chat (built anew from the environment on next use)."""
    get_settings.cache_clear()
    live_hub.cache_clear()
    live_market.cache_clear()
    chat_live.cache_clear()

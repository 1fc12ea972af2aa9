"""Chat fixtures: a migrated app database per test (SQLite by default; PostgreSQL where ``database_url``
is parametrised with ``BACKENDS``), its session, a fake clock, a fresh limiter; a cast of people (a site
admin, a strategy owner with an editor and a viewer, a stranger) and their rooms; short helpers to post.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from sqlmodel import Session

from quanta import db
from quanta.accounts.models import User
from quanta.chat.events import ChatEvent
from quanta.chat.models import ChatRoom
from quanta.chat.service import competition_room, direct_room, lobby, post_message, strategy_room
from quanta.ratelimit import MemoryRateLimiter
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from quanta.workspace.models import CollaboratorCreate, CollaboratorRole, Strategy, StrategyCreate, Visibility
from quanta.workspace.service import add_collaborator, create_strategy
from tests.accounts.conftest import make_user
from tests.conftest import sqlalchemy_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
__all__ = ["BACKENDS", "Cast", "Rooms", "post"]


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

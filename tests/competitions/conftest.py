"""Competition fixtures: a migrated app database per test (SQLite; PostgreSQL where ``database_url`` is
parametrised with ``BACKENDS``), a fake clock, a cast (a site admin, an organisation's owner and member, two
entrants with a strategy each) and a helper that organises a competition."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from sqlmodel import Session

from quanta import db
from quanta.accounts.models import Membership, OrganizationCreate, Role, User
from quanta.accounts.service import create_organization
from quanta.competitions.models import Competition, CompetitionCreate
from quanta.competitions.service import create_competition
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from quanta.workspace.models import Strategy, StrategyCreate
from quanta.workspace.service import create_strategy
from tests.accounts.conftest import make_user
from tests.conftest import sqlalchemy_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SMA_CROSS = (Path(__file__).parents[2] / "quanta" / "examples" / "sma_cross.py").read_text()


@pytest.fixture(scope="session")
def competition_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied by each test."""
    folder = tmp_path_factory.mktemp("competition-sqlite")
    db.migrate(Settings(var_dir=folder))
    db.dispose_engines()
    return folder / "quanta.db"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh migrated app database: SQLite, or ``postgres`` when parametrised so."""
    if getattr(request, "param", "sqlite") == "sqlite":
        target = tmp_path / "quanta.db"
        shutil.copyfile(request.getfixturevalue("competition_sqlite_template"), target)
        yield f"sqlite:///{target}"
        db.dispose_engines()
        return
    server = request.getfixturevalue("postgres_url")
    name = f"quanta_competition_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = sqlalchemy_url(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
    try:
        db.migrate(Settings(database_url=url))
        yield url
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


@dataclass(frozen=True)
class Cast:
    """A site admin; an organisation (``desk``) with its owner and a plain member; two entrants."""

    admin: User
    org_owner: User
    org_member: User
    alice: User
    bob: User
    alice_strategy: Strategy
    bob_strategy: Strategy


def _strategy(unit: Session, clock: FakeClock, owner: User, source: str) -> Strategy:
    return create_strategy(
        session=unit,
        owner=owner,
        strategy_in=StrategyCreate(title=f"{owner.email[:3]} cross", source=source),
        now=clock.now(),
    )


@pytest.fixture
def cast(unit: Session, clock: FakeClock) -> Cast:
    admin = make_user(unit, clock, "ada@example.com", username="ada")
    admin.is_admin = True
    org_owner = make_user(unit, clock, "olga@example.com", username="olga")
    org_member = make_user(unit, clock, "max@example.com", username="max")
    org = create_organization(
        session=unit, owner=org_owner, org_in=OrganizationCreate(name="Desk", slug="desk"), now=clock.now()
    )
    unit.add(Membership(org_id=org.id or 0, user_id=org_member.id or 0, role=Role.MEMBER))
    alice = make_user(unit, clock, "alice@example.com", username="alice")
    bob = make_user(unit, clock, "bob@example.com", username="bob")
    made = Cast(
        admin=admin,
        org_owner=org_owner,
        org_member=org_member,
        alice=alice,
        bob=bob,
        alice_strategy=_strategy(unit, clock, alice, SMA_CROSS),
        bob_strategy=_strategy(unit, clock, bob, SMA_CROSS),
    )
    unit.commit()
    return made


def terms(clock: FakeClock, **overrides: object) -> CompetitionCreate:
    """A replay competition on GOOG starting in a day and lasting an hour."""
    fields: dict[str, object] = {
        "title": "Spring Cup",
        "rules": "Long or short GOOG. Market orders only.",
        "symbols": ["goog"],
        "replay_start": date(2012, 1, 3),
        "replay_end": date(2012, 12, 31),
        "starts_at": clock.now() + timedelta(days=1),
        "ends_at": clock.now() + timedelta(days=1, hours=1),
        "capital": 10_000.0,
        "prizes": "Eternal glory.",
    } | overrides
    return CompetitionCreate.model_validate(fields)


def organise(unit: Session, clock: FakeClock, actor: User, **overrides: object) -> Competition:
    """A committed competition organised by ``actor``."""
    competition = create_competition(
        session=unit, actor=actor, competition_in=terms(clock, **overrides), now=clock.now()
    )
    unit.commit()
    return competition


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

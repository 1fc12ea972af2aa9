"""Accounts fixtures: a migrated app database per test on SQLite and on PostgreSQL, a fake clock,
an in-memory limiter, cheap password hashing, and short helpers to make users and read the outbox.

Each backend is migrated once per session into a template (a file for SQLite, a template database
for PostgreSQL); every test gets a fresh copy, so tests may commit.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from quanta import db
from quanta.accounts.models import InvitationCreate, Organization, OrganizationCreate, Role, User, UserCreate
from quanta.accounts.service import (
    accept_invitation,
    create_organization,
    invite_member,
    sign_up,
    verify_email,
)
from quanta.mail import OutboxEmail
from quanta.ratelimit import MemoryRateLimiter
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from tests.conftest import sqlalchemy_url

PASSWORD = "Tr4ding-on-Mondays"
BASE_URL = "https://quanta.test"
_TEMPLATE = "quanta_accounts_template"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied by each test."""
    folder = tmp_path_factory.mktemp("accounts-sqlite")
    db.migrate(Settings(var_dir=folder))
    db.dispose_engines()
    return folder / "quanta.db"


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head, used as the template of each test's database."""
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{_TEMPLATE}"')
    url = sqlalchemy_url(urlunsplit(urlsplit(postgres_url)._replace(path=f"/{_TEMPLATE}")))
    db.migrate(Settings(database_url=url))
    db.dispose_engines()
    yield _TEMPLATE
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, migrated app database, once per backend."""
    if request.param == "sqlite":
        target = tmp_path / "quanta.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    server = request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("postgres_template")
    name = f"quanta_accounts_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield sqlalchemy_url(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))
    finally:
        db.dispose_engines()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The engine of this test's database."""
    yield db.engine_for(database_url)
    db.dispose_engines()


@pytest.fixture
def unit(engine: Engine) -> Iterator[Session]:
    """A session on this test's database (tests commit when they want to)."""
    with Session(engine) as session:
        yield session


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter() -> MemoryRateLimiter:
    return MemoryRateLimiter()


# ---- helpers -------------------------------------------------------------------------------------------


def mails_to(session: Session, address: str) -> list[OutboxEmail]:
    """Every outbox email to ``address``, oldest first."""
    query = select(OutboxEmail).where(col(OutboxEmail.to) == address).order_by(col(OutboxEmail.id))
    return list(session.exec(query))


def last_mail(session: Session, address: str) -> OutboxEmail:
    """The newest outbox email to ``address``."""
    mails = mails_to(session, address)
    assert mails, f"no mail to {address}"
    return mails[-1]


def token_in(mail: OutboxEmail, path: str) -> str:
    """The token of the ``path`` link in ``mail`` (e.g. ``/verify-email``)."""
    found = re.search(rf"{re.escape(BASE_URL + path)}\?token=([A-Za-z0-9_\-]+)", mail.body)
    assert found, f"no {path} link in:\n{mail.body}"
    return found.group(1)


def make_user(
    session: Session,
    clock: FakeClock,
    email: str = "ada@example.com",
    *,
    password: str = PASSWORD,
    username: str | None = None,
    verified: bool = True,
) -> User:
    """A new account through sign-up (and its emailed verification link unless ``verified=False``)."""
    user = sign_up(
        session=session,
        user_in=UserCreate(email=email, password=password, username=username),
        base_url=BASE_URL,
        now=clock.now(),
    )
    assert user is not None
    if verified:
        token = token_in(last_mail(session, user.email), "/verify-email")
        verify_email(session=session, token=token, now=clock.now())
    session.commit()
    return user


def make_org(session: Session, clock: FakeClock, owner: User, name: str = "Alpha Desk") -> Organization:
    """A new organisation owned by ``owner``."""
    org = create_organization(
        session=session, owner=owner, org_in=OrganizationCreate(name=name), now=clock.now()
    )
    session.commit()
    return org


def add_member(
    session: Session, clock: FakeClock, org: Organization, *, by: User, user: User, role: Role
) -> None:
    """Invite ``user`` as ``role`` and accept the emailed invitation."""
    invite_member(
        session=session,
        actor=by,
        org=org,
        invitation_in=InvitationCreate(email=user.email, role=role),
        base_url=BASE_URL,
        now=clock.now(),
    )
    token = token_in(last_mail(session, user.email), "/invitations/accept")
    accept_invitation(session=session, user=user, token=token, now=clock.now())
    session.commit()

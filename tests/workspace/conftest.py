"""Workspace fixtures: the API suite's migrated app database (SQLite by default, PostgreSQL where
``app_database`` is parametrised with ``BACKENDS``), its session, fake clock and served app; people made
through the accounts services, and short helpers to make strategies.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from quanta.accounts.models import User
from quanta.accounts.service import get_profile
from quanta.testing.clock import FakeClock
from quanta.workspace.models import (
    CollaboratorCreate,
    CollaboratorRole,
    Strategy,
    StrategyCreate,
    Visibility,
)
from quanta.workspace.service import add_collaborator, create_strategy
from tests.accounts.conftest import make_user
from tests.api import conftest as api
from tests.api.conftest import BACKENDS

# The API suite's fixtures: a migrated app database (per test; PostgreSQL where parametrised), its
# session, a fake clock, and the served app with its test client.
api_sqlite_template = api.api_sqlite_template
api_postgres_template = api.api_postgres_template
app_database = api.app_database
market_store = api.market_store
clock = api.clock
limiter = api.limiter
settings = api.settings
app = api.app
client = api.client
unit = api.unit
__all__ = ["BACKENDS", "SOURCE", "People", "make_strategy", "share", "username"]

SOURCE = """from quanta.strategy import Strategy


class Breakout(Strategy):
    window = 20

    def init(self):
        self.high = self.I(max, self.data.high)

    def next(self):
        if self.data.close[-1] > self.high[-2]:
            self.buy()
"""


@dataclass(frozen=True)
class People:
    """The owner of a strategy, an editor and a viewer of it, and a stranger to it."""

    owner: User
    editor: User
    viewer: User
    stranger: User


@pytest.fixture
def people(unit: Session, clock: FakeClock) -> People:
    return People(
        owner=make_user(unit, clock, "olga@example.com", username="olga"),
        editor=make_user(unit, clock, "eddie@example.com", username="eddie"),
        viewer=make_user(unit, clock, "vic@example.com", username="vic"),
        stranger=make_user(unit, clock, "sam@example.com", username="sam"),
    )


def make_strategy(
    unit: Session,
    clock: FakeClock,
    owner: User,
    *,
    title: str = "Breakout",
    visibility: Visibility = Visibility.PRIVATE,
    source: str | None = SOURCE,
    description: str = "",
    tags: list[str] | None = None,
) -> Strategy:
    """A committed strategy of ``owner`` (with version 1 unless ``source=None``)."""
    strategy = create_strategy(
        session=unit,
        owner=owner,
        strategy_in=StrategyCreate(
            title=title,
            description=description,
            visibility=visibility,
            tags=tags or [],
            source=source,
            message="First",
        ),
        now=clock.now(),
    )
    unit.commit()
    return strategy


def share(unit: Session, clock: FakeClock, strategy: Strategy, people: People) -> None:
    """Make ``people.editor`` an editor and ``people.viewer`` a viewer of ``strategy``."""
    for person, role in ((people.editor, CollaboratorRole.EDITOR), (people.viewer, CollaboratorRole.VIEWER)):
        add_collaborator(
            session=unit,
            actor=people.owner,
            strategy=strategy,
            collaborator_in=CollaboratorCreate(username=username(unit, person), role=role),
            now=clock.now(),
        )
    unit.commit()


def username(unit: Session, user: User) -> str:
    """``user``'s username."""
    return get_profile(session=unit, user=user).username

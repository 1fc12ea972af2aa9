"""Small helpers shared by the workspace services: ids, usernames, paging, atomic counters, audit records."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from quanta.accounts._support import current_time, record
from quanta.accounts.events import AuditKind
from quanta.accounts.models import Profile, User
from quanta.workspace.errors import NotFound
from quanta.workspace.models import Page, Strategy

__all__ = [
    "MAX_PAGE",
    "audit",
    "bump",
    "current_time",
    "new_public_id",
    "page",
    "strategy_pk",
    "table",
    "user_by_username",
    "user_pk",
    "usernames",
]

PUBLIC_ID_PREFIX = "st_"
MAX_PAGE = 100
_T = TypeVar("_T")


def new_public_id() -> str:
    """A fresh strategy id: ``st_`` and 72 random bits (12 URL-safe characters)."""
    return PUBLIC_ID_PREFIX + secrets.token_urlsafe(9)


def strategy_pk(strategy: Strategy) -> int:
    """The id of a stored strategy."""
    if strategy.id is None:
        msg = "the strategy has not been saved yet"
        raise ValueError(msg)
    return strategy.id


def user_pk(user: User) -> int:
    """The id of a stored user."""
    if user.id is None:
        msg = "the user has not been saved yet"
        raise ValueError(msg)
    return user.id


def usernames(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Usernames by user id (users without a profile are left out)."""
    wanted = {uid for uid in user_ids if uid is not None}
    if not wanted:
        return {}
    rows = session.exec(select(Profile.user_id, Profile.username).where(col(Profile.user_id).in_(wanted)))
    return dict(rows.all())


def user_by_username(session: Session, username: str) -> User:
    """The active user called ``username``; ``NotFound`` otherwise."""
    name = username.strip().lower()
    user = session.exec(
        select(User)
        .join(Profile, col(Profile.user_id) == col(User.id))
        .where(col(Profile.username) == name, col(User.disabled).is_(False))
    ).first()
    if user is None:
        raise NotFound(f"No one is called {name[:40]!r}.")
    return user


def page(session: Session, query: SelectOfScalar[_T], *, offset: int, limit: int) -> Page[_T]:
    """One page of ``query`` (which must be ordered) from ``offset``; at most ``MAX_PAGE`` items."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    rows = list(session.exec(query.offset(offset).limit(limit + 1)))
    more = len(rows) > limit
    return Page(items=rows[:limit], next_offset=offset + limit if more else None)


def table(model: type[SQLModel]) -> sa.Table:
    """The Core table of a model (for statements that bypass the ORM's identity map)."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


def bump(session: Session, strategy: Strategy, column: str, by: int, **values: Any) -> int:
    """Add ``by`` to an integer column of ``strategy`` in the database (atomic under concurrency, never
    below 0) and set ``values``; the object gets the new values without being marked changed."""
    strategies = table(Strategy)
    counter = strategies.c[column]
    new_value = sa.case((counter + by < 0, 0), else_=counter + by)
    statement = (
        sa.update(strategies)
        .where(strategies.c.id == strategy_pk(strategy))
        .values({column: new_value, **values})
        .returning(counter)
    )
    result: int = session.exec(statement).scalar_one()
    set_committed_value(strategy, column, result)
    for name, value in values.items():
        set_committed_value(strategy, name, value)
    return result


def audit(
    session: Session,
    kind: AuditKind,
    *,
    now: datetime,
    actor: User,
    strategy: Strategy,
    subject_id: int | None = None,
    **detail: Any,
) -> None:
    """Record a workspace event in the accounts audit log (in the caller's unit of work)."""
    record(
        session,
        kind,
        now=now,
        actor_id=actor.id,
        subject_id=subject_id,
        detail={"strategy": strategy.public_id, "title": strategy.title, **detail},
    )

"""Small helpers shared by the chat services: ids, time, usernames, input checks, audit records."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from quanta.accounts._support import current_time, record
from quanta.accounts.events import AuditKind
from quanta.accounts.models import Profile, User
from quanta.chat.errors import InvalidInput, NotFound
from quanta.chat.models import MAX_BODY, MAX_REASON, ChatMessage, ChatRoom

__all__ = [
    "MAX_PAGE",
    "audit",
    "aware",
    "check_body",
    "check_reason",
    "current_time",
    "message_pk",
    "new_public_id",
    "room_pk",
    "table",
    "user_by_username",
    "user_pk",
    "usernames",
]

PUBLIC_ID_PREFIX = "cr_"
MAX_PAGE = 200
_MULTILINE_OK = frozenset("\n\t")
_PUBLIC_ID = re.compile(r"^cr_[A-Za-z0-9_-]{12}$")


def new_public_id() -> str:
    """A fresh room id: ``cr_`` and 72 random bits (12 URL-safe characters)."""
    return PUBLIC_ID_PREFIX + secrets.token_urlsafe(9)


def is_public_id(value: str) -> bool:
    return _PUBLIC_ID.match(value) is not None


def aware(moment: datetime) -> datetime:
    """``moment`` as aware UTC (SQLite hands back naive times through Core queries)."""
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def user_pk(user: User) -> int:
    if user.id is None:
        msg = "the user has not been saved yet"
        raise ValueError(msg)
    return user.id


def room_pk(room: ChatRoom) -> int:
    if room.id is None:
        msg = "the room has not been saved yet"
        raise ValueError(msg)
    return room.id


def message_pk(message: ChatMessage) -> int:
    if message.id is None:
        msg = "the message has not been saved yet"
        raise ValueError(msg)
    return message.id


def table(model: type[SQLModel]) -> sa.Table:
    """The Core table of a model."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


def usernames(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Usernames by user id (users without a profile are left out)."""
    wanted = {uid for uid in user_ids if uid is not None}
    if not wanted:
        return {}
    rows = session.exec(select(Profile.user_id, Profile.username).where(col(Profile.user_id).in_(wanted)))
    return dict(rows.all())


def users_by_username(session: Session, names: Iterable[str]) -> dict[str, User]:
    """The active users among ``names`` (lower-case usernames), by username."""
    wanted = set(names)
    if not wanted:
        return {}
    rows = session.exec(
        select(Profile.username, User)
        .join(User, col(User.id) == col(Profile.user_id))
        .where(col(Profile.username).in_(wanted), col(User.disabled).is_(False))
    )
    return dict(rows.all())


def user_by_username(session: Session, username: str) -> User:
    """The active user called ``username``; ``NotFound`` otherwise."""
    name = username.strip().lstrip("@").lower()
    user = users_by_username(session, [name]).get(name)
    if user is None:
        raise NotFound(f"No one is called {name[:40]!r}.")
    return user


def _refuse_control(text: str, *, field: str) -> None:
    for char in text:
        if char not in _MULTILINE_OK and unicodedata.category(char) == "Cc":
            raise InvalidInput(field, "Remove the control characters from the text.")


def check_body(body: str) -> str:
    """A message's markdown source: Unix line ends, trimmed, 1 to ``MAX_BODY`` characters."""
    cleaned = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise InvalidInput("body", "Write something first.")
    if len(cleaned) > MAX_BODY:
        raise InvalidInput("body", f"Keep messages under {MAX_BODY} characters.")
    _refuse_control(cleaned, field="body")
    return cleaned


def check_reason(reason: str, *, required: bool) -> str:
    """The reason of a report, mute or ban: trimmed, at most ``MAX_REASON`` characters."""
    cleaned = reason.replace("\r\n", "\n").strip()
    if required and not cleaned:
        raise InvalidInput("reason", "Say what is wrong with the message.")
    if len(cleaned) > MAX_REASON:
        raise InvalidInput("reason", f"Keep the reason under {MAX_REASON} characters.")
    _refuse_control(cleaned, field="reason")
    return cleaned


def audit(
    session: Session,
    kind: AuditKind,
    *,
    now: datetime,
    actor: User,
    room: ChatRoom,
    subject_id: int | None = None,
    **detail: Any,
) -> None:
    """Record a moderation action in the accounts audit log (in the caller's unit of work)."""
    record(
        session,
        kind,
        now=now,
        actor_id=actor.id,
        subject_id=subject_id,
        detail={"room": room.public_id, "room_kind": room.kind.value, **detail},
    )

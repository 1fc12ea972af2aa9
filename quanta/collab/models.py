"""Collaboration tables and value objects: the persisted updates of a room, roles, room options."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "SOURCE",
    "WRITERS",
    "Authorizer",
    "CollabUpdate",
    "RoomOptions",
    "Seed",
    "can_write",
]

SOURCE: Final = "source"
"""The name of the shared ``Y.Text`` that holds a strategy's code (``ydoc.getText("source")`` in Yjs)."""

WRITERS: Final = frozenset({"owner", "editor"})
"""The roles whose document updates a room applies; any other role (``viewer``) only reads."""

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite numbers only INTEGER keys itself


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


class CollabUpdate(SQLModel, table=True):
    """One applied Yjs update of a room, in arrival order (``seq`` grows across all rooms).

    A room's document is the merge of its rows; compaction replaces many rows by one snapshot row.
    """

    __tablename__ = "collab_updates"
    __table_args__ = (sa.Index("ix_collab_updates_room_seq", "room", "seq"),)

    seq: int | None = Field(default=None, sa_column=sa.Column("seq", _SEQ, primary_key=True))
    room: str = Field(max_length=100)
    update: bytes = Field(sa_column=sa.Column("update", sa.LargeBinary(), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)
    )


def can_write(role: str | None) -> bool:
    """Whether a connection with ``role`` may change the document."""
    return role in WRITERS


class Authorizer(Protocol):
    """Who may join a room: the role of ``user_id`` (None: not signed in) on the strategy ``public_id``.

    Returns ``"owner"``, ``"editor"``, ``"viewer"`` (a ``str``/``StrEnum``), or None to refuse. It is
    called in a worker thread (it may query the database) at connect and again every
    ``RoomOptions.reauthorize_every`` seconds while the connection sends messages.
    """

    def __call__(self, *, public_id: str, user_id: int | None) -> str | None: ...


class Seed(Protocol):
    """The text a room starts from when nothing is stored for it yet (None: an empty document).

    Called in a worker thread; for a strategy, the source of its latest saved version.
    """

    def __call__(self, public_id: str) -> str | None: ...


@dataclass(frozen=True, kw_only=True)
class RoomOptions:
    """Knobs of the room server."""

    compact_after: int = 500
    """A room's stored updates are squashed into one snapshot row when they exceed this many rows."""
    reauthorize_every: float = 30.0
    """Seconds after which a connection's next message re-checks its role (revoked: disconnected)."""
    awareness_timeout: float = 30.0
    """Seconds after which a silent peer's presence is dropped (y-websocket renews it every 15 s)."""
    max_pending_messages: int = 2000
    """Messages queued for one slow connection before it is dropped (it reconnects and resyncs)."""
    linger: float = 2.0
    """Seconds a room stays open after its last client leaves (a page reload keeps the room)."""

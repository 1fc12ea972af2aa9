"""Chat tables and value objects: rooms, messages with their mentions, notifications, mutes and bans,
reports; the views a person gets of them.

A room is named outside the server by ``public_id`` (``cr_…``, short and random) and a message by its
room and ``seq``: 1, 2, 3… per room, with no gaps (deleted messages stay as tombstones), so a client that
reconnects asks for the messages after the last ``seq`` it holds. Every change in a room (a post, an edit,
a deletion) also takes the room's next ``change`` number, so edits and deletions missed while away can be
caught up too (``changes_after``). Integer ids of rooms and messages never leave the server.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from quanta.accounts.models import utcnow

__all__ = [
    "MAX_BODY",
    "MAX_HTML",
    "MAX_MENTIONS",
    "MAX_REASON",
    "TOMBSTONE_HTML",
    "ChatMention",
    "ChatMessage",
    "ChatNotification",
    "ChatReport",
    "ChatRestriction",
    "ChatRoom",
    "MessageView",
    "NotificationKind",
    "NotificationView",
    "ReportView",
    "RestrictionKind",
    "RestrictionView",
    "RoomKind",
    "RoomView",
]

MAX_BODY: Final = 4000
"""A message's markdown source is at most this many characters."""
MAX_HTML: Final = 40_000
"""Its rendered HTML at most this many (reference links can make a short source render long)."""
MAX_MENTIONS: Final = 10
"""At most this many different people are mentioned (and notified) by one message."""
MAX_REASON: Final = 500
"""The reason of a report, mute or ban."""
MAX_TITLE: Final = 100
MAX_REF: Final = 64
TOMBSTONE: Final = "message deleted"
TOMBSTONE_HTML: Final = f"<p><em>{TOMBSTONE}</em></p>"
"""What a deleted message shows instead of its text."""
PUBLIC_ID_LENGTH: Final = 16
TOPIC_PREFIX: Final = "chat."


class RoomKind(StrEnum):
    """What a room is for; with ``ref`` it names the room (one room per kind and ref)."""

    LOBBY = "lobby"
    """The one global room (``ref`` is empty)."""
    COMPETITION = "competition"
    """One per competition (``ref`` is the competition's own id)."""
    STRATEGY = "strategy"
    """One per strategy, for its owner and collaborators (``ref`` is the strategy's ``public_id``)."""
    DIRECT = "direct"
    """Direct messages between two people (``ref`` is ``"<lower id>:<higher id>"``)."""


class RestrictionKind(StrEnum):
    """What a moderator stopped someone doing in a room."""

    MUTE = "mute"
    """May read but not post (or edit)."""
    BAN = "ban"
    """May neither read nor post."""


class NotificationKind(StrEnum):
    MENTION = "mention"


def _short_enum(enum: type[StrEnum]) -> sa.Enum:
    """Stored as a short string (no database enum type), read back as ``enum``."""
    return sa.Enum(enum, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


def _user_ref(*, ondelete: Literal["CASCADE", "SET NULL"] = "CASCADE", index: bool = True) -> Any:
    if ondelete == "SET NULL":
        return Field(default=None, foreign_key="user_account.id", ondelete="SET NULL", index=index)
    return Field(foreign_key="user_account.id", ondelete="CASCADE", index=index)


def _ref(target: str, *, index: bool = True, primary_key: bool = False) -> Any:
    return Field(foreign_key=f"{target}.id", ondelete="CASCADE", index=index, primary_key=primary_key)


# ---- rooms ---------------------------------------------------------------------------------------------


class ChatRoom(SQLModel, table=True):
    """A room. ``last_seq`` is the newest message's number, ``last_change`` the newest change's,
    ``last_message_at`` when the newest message was posted.

    ``owner_id`` moderates a competition room (its organiser); a strategy room's moderator is the
    strategy's owner. A direct room keeps its two people in ``member_low_id`` < ``member_high_id``; when
    one deletes their account the slot goes NULL and ``ref`` becomes ``closed:<id>``, so the pair's
    canonical room can be opened afresh.
    """

    __tablename__ = "chat_room"
    __table_args__ = (sa.UniqueConstraint("kind", "ref", name="uq_chat_room_kind_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=PUBLIC_ID_LENGTH, unique=True, index=True)
    kind: RoomKind = Field(sa_type=_short_enum(RoomKind))
    ref: str = Field(default="", max_length=MAX_REF)
    title: str = Field(default="", max_length=MAX_TITLE)
    owner_id: int | None = _user_ref(ondelete="SET NULL")
    member_low_id: int | None = _user_ref(ondelete="SET NULL")
    member_high_id: int | None = _user_ref(ondelete="SET NULL")
    last_seq: int = 0
    last_change: int = 0
    last_message_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def topic(self) -> str:
        """The broadcast topic its events go to: ``chat.<public_id>``."""
        return TOPIC_PREFIX + self.public_id


class RoomView(BaseModel):
    """A room as a given person sees it: what they may do in it, and where it stands."""

    model_config = ConfigDict(frozen=True)

    id: str
    topic: str
    kind: RoomKind
    ref: str
    title: str
    last_seq: int
    last_change: int
    can_post: bool
    can_moderate: bool
    muted_until: datetime | None
    """When a mute ends (None when not muted, or muted without an end: see ``muted``)."""
    muted: bool


# ---- messages ------------------------------------------------------------------------------------------


class ChatMessage(SQLModel, table=True):
    """One message: its markdown source and the sanitised HTML rendered from it.

    A deletion keeps the row (and its ``seq``) as a tombstone: ``body`` is emptied, ``html`` becomes
    ``TOMBSTONE_HTML``, ``deleted_at`` is set and ``moderated`` says whether a moderator did it.
    ``change`` is the room's change number of the last post, edit or deletion of this message.
    """

    __tablename__ = "chat_message"
    __table_args__ = (
        sa.UniqueConstraint("room_id", "seq", name="uq_chat_message_room_seq"),
        sa.Index("ix_chat_message_room_id_change", "room_id", "change"),
    )

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = _ref("chat_room", index=False)
    seq: int
    change: int
    author_id: int | None = _user_ref(ondelete="SET NULL")
    body: str = Field(sa_type=sa.Text)
    html: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    moderated: bool = False

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


class ChatMention(SQLModel, table=True):
    """Someone a message mentions (who could read the room when it was posted or edited)."""

    __tablename__ = "chat_mention"

    message_id: int = _ref("chat_message", index=False, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True, index=True)


class MessageView(BaseModel):
    """A message as everyone who may read its room sees it; ``mentions`` are usernames."""

    model_config = ConfigDict(frozen=True)

    room: str
    seq: int
    change: int
    author: str | None
    """The author's username (None once their account is deleted)."""
    body: str
    html: str
    mentions: list[str]
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    moderated: bool


# ---- notifications -------------------------------------------------------------------------------------


class ChatNotification(SQLModel, table=True):
    """Something in a room that concerns ``user_id`` (a mention)."""

    __tablename__ = "chat_notification"
    __table_args__ = (sa.Index("ix_chat_notification_user_id_read", "user_id", "read"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _user_ref(index=False)
    kind: NotificationKind = Field(sa_type=_short_enum(NotificationKind))
    room_id: int = _ref("chat_room")
    message_id: int = _ref("chat_message")
    read: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class NotificationView(BaseModel):
    """A notification as its person sees it: where, by whom, and the start of the message."""

    model_config = ConfigDict(frozen=True)

    id: int
    kind: NotificationKind
    room: str
    room_title: str
    seq: int
    author: str | None
    excerpt: str
    read: bool
    created_at: datetime


# ---- moderation ----------------------------------------------------------------------------------------


class ChatRestriction(SQLModel, table=True):
    """A mute or ban of ``user_id`` in a room until ``until`` (None: until lifted)."""

    __tablename__ = "chat_restriction"
    __table_args__ = (
        sa.UniqueConstraint("room_id", "user_id", "kind", name="uq_chat_restriction_room_user_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = _ref("chat_room")
    user_id: int = _user_ref()
    kind: RestrictionKind = Field(sa_type=_short_enum(RestrictionKind))
    until: datetime | None = None
    reason: str = Field(default="", max_length=MAX_REASON)
    created_by_id: int | None = _user_ref(ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


class RestrictionView(BaseModel):
    model_config = ConfigDict(frozen=True)

    room: str
    username: str
    kind: RestrictionKind
    until: datetime | None
    reason: str
    created_by: str | None
    created_at: datetime


class ChatReport(SQLModel, table=True):
    """Someone reported a message to the room's moderators (once per person and message)."""

    __tablename__ = "chat_report"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "reporter_id", name="uq_chat_report_message_reporter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = _ref("chat_room")
    message_id: int = _ref("chat_message")
    reporter_id: int = _user_ref()
    reason: str = Field(max_length=MAX_REASON)
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    resolved_by_id: int | None = _user_ref(ondelete="SET NULL")
    removed: bool = False
    """Whether resolving it deleted the message (False: dismissed, or not resolved yet)."""


class ReportView(BaseModel):
    """A report as moderators see it, with the message it is about."""

    model_config = ConfigDict(frozen=True)

    id: int
    room: str
    room_kind: RoomKind
    reporter: str | None
    reason: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    removed: bool
    message: MessageView

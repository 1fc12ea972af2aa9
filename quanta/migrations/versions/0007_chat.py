"""Live chat: rooms, messages, mentions, notifications, mutes and bans, reports.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

Types are spelt out (not SQLModel's) so this revision stays as it is when the models move on. Rows that
hang off a person or a room go when it goes (ON DELETE CASCADE); what outlives a person keeps its row
and loses the link (ON DELETE SET NULL: a message's author, a room's owner or a direct room's member,
who imposed a restriction or resolved a report). A strategy room names its strategy by public id, without
a foreign key (``quanta.chat._cascade`` sweeps the rooms of deleted strategies).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OnDelete = Literal["CASCADE", "SET NULL"]


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _long_text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=False)


def _int(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _ref(
    name: str, table: str, *, ondelete: OnDelete = "CASCADE", primary_key: bool = False
) -> sa.Column[int]:
    target = sa.ForeignKey(f"{table}.id", ondelete=ondelete)
    nullable = ondelete == "SET NULL"
    return sa.Column(name, sa.Integer(), target, nullable=nullable, primary_key=primary_key)


def _index(table: str, *columns: str, unique: bool = False) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def upgrade() -> None:
    op.create_table(
        "chat_room",
        _id(),
        _text("public_id", 16),
        _text("kind", 16),
        _text("ref", 64),
        _text("title", 100),
        _ref("owner_id", "user_account", ondelete="SET NULL"),
        _ref("member_low_id", "user_account", ondelete="SET NULL"),
        _ref("member_high_id", "user_account", ondelete="SET NULL"),
        _int("last_seq"),
        _int("last_change"),
        _when("last_message_at", nullable=True),
        _when("created_at"),
        sa.UniqueConstraint("kind", "ref", name="uq_chat_room_kind_ref"),
    )
    _index("chat_room", "public_id", unique=True)
    for column in ("owner_id", "member_low_id", "member_high_id"):
        _index("chat_room", column)

    op.create_table(
        "chat_message",
        _id(),
        _ref("room_id", "chat_room"),
        _int("seq"),
        _int("change"),
        _ref("author_id", "user_account", ondelete="SET NULL"),
        _long_text("body"),
        _long_text("html"),
        _when("created_at"),
        _when("edited_at", nullable=True),
        _when("deleted_at", nullable=True),
        _flag("moderated"),
        sa.UniqueConstraint("room_id", "seq", name="uq_chat_message_room_seq"),
    )
    _index("chat_message", "room_id", "change")
    _index("chat_message", "author_id")

    op.create_table(
        "chat_mention",
        _ref("message_id", "chat_message", primary_key=True),
        _ref("user_id", "user_account", primary_key=True),
    )
    _index("chat_mention", "user_id")

    op.create_table(
        "chat_notification",
        _id(),
        _ref("user_id", "user_account"),
        _text("kind", 16),
        _ref("room_id", "chat_room"),
        _ref("message_id", "chat_message"),
        _flag("read"),
        _when("created_at"),
    )
    _index("chat_notification", "user_id", "read")
    _index("chat_notification", "room_id")
    _index("chat_notification", "message_id")

    op.create_table(
        "chat_restriction",
        _id(),
        _ref("room_id", "chat_room"),
        _ref("user_id", "user_account"),
        _text("kind", 16),
        _when("until", nullable=True),
        _text("reason", 500),
        _ref("created_by_id", "user_account", ondelete="SET NULL"),
        _when("created_at"),
        sa.UniqueConstraint("room_id", "user_id", "kind", name="uq_chat_restriction_room_user_kind"),
    )
    for column in ("room_id", "user_id", "created_by_id"):
        _index("chat_restriction", column)

    op.create_table(
        "chat_report",
        _id(),
        _ref("room_id", "chat_room"),
        _ref("message_id", "chat_message"),
        _ref("reporter_id", "user_account"),
        _text("reason", 500),
        _when("created_at"),
        _when("resolved_at", nullable=True),
        _ref("resolved_by_id", "user_account", ondelete="SET NULL"),
        _flag("removed"),
        sa.UniqueConstraint("message_id", "reporter_id", name="uq_chat_report_message_reporter"),
    )
    for column in ("room_id", "message_id", "reporter_id", "resolved_by_id"):
        _index("chat_report", column)


def downgrade() -> None:
    for table in (
        "chat_report",
        "chat_restriction",
        "chat_notification",
        "chat_mention",
        "chat_message",
        "chat_room",
    ):
        op.drop_table(table)

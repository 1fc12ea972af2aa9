"""Keep the chat consistent when people and strategies are deleted, on SQLite too.

**People.** Whenever a session deletes users (one by one or in bulk), in the same unit of work: their
messages become tombstones (the text is erased, the number stays, each room's change number moves on)
and the mentions, notifications and reports of those messages go; their own mentions, notifications,
reports, mutes and bans go too; they are forgotten as the owner of rooms and
as the moderator behind restrictions and resolved reports, and their direct rooms close (the slot goes
NULL and ``ref`` becomes ``closed:<id>``; the other person keeps the history). SQLite would otherwise
hand a new account the same id, and with it the old one's rooms and notifications.

**Strategies.** A strategy room names its strategy by ``public_id`` (never reused), so a deleted
strategy's room is closed to everyone at once; the rows themselves are swept whenever rows of the
``strategy`` table are deleted (the workspace deletes them with Core statements, so this listens on the
engine's ``after_execute``) and by ``purge_orphaned_rooms``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from quanta.accounts.models import User
from quanta.chat._support import table
from quanta.chat.models import (
    TOMBSTONE_HTML,
    ChatMention,
    ChatMessage,
    ChatNotification,
    ChatReport,
    ChatRestriction,
    ChatRoom,
    RoomKind,
)
from quanta.workspace.models import Strategy

__all__ = ["erase_people", "purge_orphaned_rooms"]


def erase_people(connection: sa.Connection, users: Sequence[int], *, now: datetime | None = None) -> None:
    """Before people are deleted: what they wrote becomes tombstones, what hangs off them goes."""
    if not users:
        return
    now = now or datetime.now(UTC)
    rooms, messages = table(ChatRoom), table(ChatMessage)
    mentions, notifications = table(ChatMention), table(ChatNotification)
    reports, restrictions = table(ChatReport), table(ChatRestriction)
    authored = sa.select(messages.c.id).where(messages.c.author_id.in_(users))
    live = messages.c.author_id.in_(users) & messages.c.deleted_at.is_(None)
    touched = connection.execute(sa.select(messages.c.room_id).where(live).distinct()).scalars().all()
    for room_id in touched:
        change = connection.execute(
            sa.update(rooms)
            .where(rooms.c.id == room_id)
            .values(last_change=rooms.c.last_change + 1)
            .returning(rooms.c.last_change)
        ).scalar_one()
        connection.execute(
            sa.update(messages)
            .where(live, messages.c.room_id == room_id)
            .values(body="", html=TOMBSTONE_HTML, deleted_at=now, moderated=False, change=change)
        )
    for about_them in (notifications, mentions, reports):
        connection.execute(sa.delete(about_them).where(about_them.c.message_id.in_(authored)))
    connection.execute(sa.update(messages).where(messages.c.author_id.in_(users)).values(author_id=None))
    connection.execute(sa.delete(mentions).where(mentions.c.user_id.in_(users)))
    connection.execute(sa.delete(notifications).where(notifications.c.user_id.in_(users)))
    connection.execute(sa.delete(reports).where(reports.c.reporter_id.in_(users)))
    connection.execute(
        sa.update(reports).where(reports.c.resolved_by_id.in_(users)).values(resolved_by_id=None)
    )
    connection.execute(sa.delete(restrictions).where(restrictions.c.user_id.in_(users)))
    connection.execute(
        sa.update(restrictions).where(restrictions.c.created_by_id.in_(users)).values(created_by_id=None)
    )
    connection.execute(sa.update(rooms).where(rooms.c.owner_id.in_(users)).values(owner_id=None))
    direct = rooms.c.kind == RoomKind.DIRECT
    closed = sa.literal("closed:") + sa.cast(rooms.c.id, sa.String)
    for slot in ("member_low_id", "member_high_id"):
        connection.execute(
            sa.update(rooms).where(direct, rooms.c[slot].in_(users)).values({slot: None, "ref": closed})
        )


def purge_orphaned_rooms(connection: sa.Connection) -> int:
    """Delete the rooms of strategies that no longer exist, with everything in them; how many."""
    rooms = table(ChatRoom)
    strategies = table(Strategy)
    orphans = [
        row[0]
        for row in connection.execute(
            sa.select(rooms.c.id).where(
                rooms.c.kind == RoomKind.STRATEGY,
                ~sa.exists().where(strategies.c.public_id == rooms.c.ref),
            )
        )
    ]
    if orphans:
        delete_rooms(connection, orphans)
    return len(orphans)


def delete_rooms(connection: sa.Connection, ids: Sequence[int]) -> None:
    """Delete rooms with their messages, mentions, notifications, reports and restrictions."""
    messages, mentions = table(ChatMessage), table(ChatMention)
    in_rooms = sa.select(messages.c.id).where(messages.c.room_id.in_(ids))
    connection.execute(sa.delete(mentions).where(mentions.c.message_id.in_(in_rooms)))
    for model in (ChatNotification, ChatReport, ChatRestriction, ChatMessage):
        dependants = table(model)
        connection.execute(sa.delete(dependants).where(dependants.c.room_id.in_(ids)))
    rooms = table(ChatRoom)
    connection.execute(sa.delete(rooms).where(rooms.c.id.in_(ids)))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    users = [o.id for o in session.deleted if isinstance(o, User) and o.id is not None]
    if users:
        erase_people(session.connection(), users)


@event.listens_for(Session, "do_orm_execute")
def _before_bulk_delete(state: ORMExecuteState) -> None:
    if not state.is_delete:
        return
    target = getattr(state.statement, "table", None)
    if target is None or getattr(target, "name", None) != User.__tablename__:
        return
    where = state.statement.whereclause  # type: ignore[attr-defined]
    query = sa.select(target.c.id) if where is None else sa.select(target.c.id).where(where)
    connection = state.session.connection()
    ids = [row[0] for row in connection.execute(query)]
    if ids:
        erase_people(connection, ids)


@event.listens_for(Engine, "after_execute")
def _after_strategy_delete(connection: sa.Connection, clause: Any, *_: Any) -> None:
    if not isinstance(clause, sa.Delete) or getattr(clause.table, "name", None) != Strategy.__tablename__:
        return
    if connection.dialect.has_table(connection, "chat_room"):  # a database before 0007 has none
        purge_orphaned_rooms(connection)

"""Mentions and the notifications they make.

``@username`` in a message is a mention when that person exists, is active and may read the room at the
time (at most ``MAX_MENTIONS`` different people per message; mentions inside code are text). Each person
mentioned gets one notification per message (none for mentioning yourself); an edit that adds a mention
notifies the newcomer, one that drops a mention takes back the notification if it is still unread, and
deleting the message takes back all of them. A notification is listed only while its person may still
read the room.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import Session, col, delete, func, select, update

from quanta.accounts.models import User
from quanta.chat._markdown import mention_candidates
from quanta.chat._rooms import room_title
from quanta.chat._support import current_time, message_pk, user_pk, usernames, users_by_username
from quanta.chat.access import access_for
from quanta.chat.models import (
    MAX_MENTIONS,
    ChatMention,
    ChatMessage,
    ChatNotification,
    ChatRoom,
    NotificationKind,
    NotificationView,
)

__all__ = [
    "list_notifications",
    "mark_notifications_read",
    "unread_notification_count",
]

DEFAULT_PAGE = 50
MAX_PAGE = 200
EXCERPT = 140


def mentionable(session: Session, room: ChatRoom, body: str, *, now: datetime) -> dict[str, int]:
    """The people ``body`` may mention in ``room``: user id by lower-case username."""
    candidates = mention_candidates(body)[:MAX_MENTIONS]
    found = users_by_username(session, candidates)
    return {
        name: user_pk(user)
        for name, user in found.items()
        if access_for(session=session, room=room, user=user, now=now).read
    }


def record_mentions(
    session: Session, room: ChatRoom, message: ChatMessage, mentioned: Iterable[int], *, now: datetime
) -> None:
    """Store who ``message`` mentions now, notify the newcomers and take back unread notifications of
    those it no longer mentions."""
    message_id = message_pk(message)
    wanted = set(mentioned)
    before = set(session.exec(select(ChatMention.user_id).where(col(ChatMention.message_id) == message_id)))
    gone = before - wanted
    if gone:
        session.exec(
            delete(ChatMention).where(
                col(ChatMention.message_id) == message_id, col(ChatMention.user_id).in_(gone)
            )
        )
        session.exec(
            delete(ChatNotification).where(
                col(ChatNotification.message_id) == message_id,
                col(ChatNotification.user_id).in_(gone),
                col(ChatNotification.read).is_(False),
            )
        )
    notified = set(
        session.exec(select(ChatNotification.user_id).where(col(ChatNotification.message_id) == message_id))
    )
    for user_id in sorted(wanted - before):
        session.add(ChatMention(message_id=message_id, user_id=user_id))
        if user_id != message.author_id and user_id not in notified:
            session.add(
                ChatNotification(
                    user_id=user_id,
                    kind=NotificationKind.MENTION,
                    room_id=message.room_id,
                    message_id=message_id,
                    created_at=now,
                )
            )
    session.flush()


def forget_mentions(session: Session, message: ChatMessage) -> None:
    """A deleted message mentions nobody and notifies nobody."""
    message_id = message_pk(message)
    session.exec(delete(ChatMention).where(col(ChatMention.message_id) == message_id))
    session.exec(delete(ChatNotification).where(col(ChatNotification.message_id) == message_id))


def list_notifications(
    *,
    session: Session,
    user: User,
    unread_only: bool = False,
    before_id: int | None = None,
    limit: int = DEFAULT_PAGE,
    now: datetime | None = None,
) -> list[NotificationView]:
    """``user``'s notifications, newest first; page with ``before_id`` (the last id of a page). Those in
    rooms the person may no longer read are left out, so a page may be shorter than ``limit``."""
    now = current_time(now)
    query = select(ChatNotification, ChatMessage, ChatRoom).where(
        col(ChatNotification.user_id) == user_pk(user),
        col(ChatMessage.id) == col(ChatNotification.message_id),
        col(ChatRoom.id) == col(ChatNotification.room_id),
    )
    if unread_only:
        query = query.where(col(ChatNotification.read).is_(False))
    if before_id is not None:
        query = query.where(col(ChatNotification.id) < before_id)
    rows = session.exec(query.order_by(col(ChatNotification.id).desc()).limit(_clamp(limit))).all()
    readable: dict[int, bool] = {}
    for _, _, room in rows:
        if room.id is not None and room.id not in readable:
            readable[room.id] = access_for(session=session, room=room, user=user, now=now).read
    names = usernames(session, [message.author_id for _, message, _ in rows])
    titles = _room_titles(session, [room for _, _, room in rows], user)
    return [
        NotificationView(
            id=notification.id or 0,
            kind=notification.kind,
            room=room.public_id,
            room_title=titles.get(room.id or 0, ""),
            seq=message.seq,
            author=names.get(message.author_id or 0),
            excerpt=_excerpt(message.body),
            read=notification.read,
            created_at=notification.created_at,
        )
        for notification, message, room in rows
        if readable.get(room.id or 0)
    ]


def unread_notification_count(*, session: Session, user: User) -> int:
    """How many of ``user``'s notifications are unread (rooms they left included: an upper bound)."""
    query = select(func.count()).where(
        col(ChatNotification.user_id) == user_pk(user), col(ChatNotification.read).is_(False)
    )
    return int(session.exec(query).one())


def mark_notifications_read(*, session: Session, user: User, ids: Sequence[int] | None = None) -> int:
    """Mark ``ids`` (None: all) of ``user``'s notifications read; how many changed. Other people's ids
    are ignored."""
    statement = update(ChatNotification).where(
        col(ChatNotification.user_id) == user_pk(user), col(ChatNotification.read).is_(False)
    )
    if ids is not None:
        statement = statement.where(col(ChatNotification.id).in_(list(ids)))
    result = session.exec(statement.values(read=True))  # notifications loaded here are updated too
    return int(result.rowcount)


def _room_titles(session: Session, rooms: Sequence[ChatRoom], user: User) -> dict[int, str]:
    return {room.id: room_title(session, room, user) for room in rooms if room.id is not None}


def _excerpt(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


def _clamp(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))

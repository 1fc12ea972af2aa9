"""Messages: post, edit, delete, and read them back by number.

Posting takes the room's next ``seq`` and ``change`` with one atomic ``UPDATE chat_room … RETURNING``
(a row lock on PostgreSQL, the write lock on SQLite) in the poster's unit of work: concurrent posts get
consecutive numbers, a rolled-back post gives its number back, and a reader never sees message ``n + 1``
committed before message ``n``. The unique (room, seq) constraint backs it up. Edits and deletions take
the next ``change`` the same way. A deleted message keeps its number as a tombstone, so numbers never
have gaps and ``messages_after`` catches a reconnecting client up exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select, update

from quanta.accounts.events import AuditKind
from quanta.accounts.models import User
from quanta.chat._markdown import render_markdown
from quanta.chat._notifications import forget_mentions, mentionable, record_mentions
from quanta.chat._support import (
    MAX_PAGE,
    audit,
    aware,
    check_body,
    current_time,
    room_pk,
    table,
    user_pk,
    usernames,
)
from quanta.chat.access import require_poster, require_reader
from quanta.chat.errors import Conflict, Forbidden, InvalidInput, MessageNotFound, PostingTooFast
from quanta.chat.events import ChatEvent, ChatEventKind
from quanta.chat.models import (
    MAX_HTML,
    TOMBSTONE_HTML,
    ChatMention,
    ChatMessage,
    ChatReport,
    ChatRoom,
    MessageView,
)
from quanta.ratelimit import Quota, RateLimiter, limiter_for

__all__ = [
    "EDIT_WINDOW",
    "POST_BURST",
    "POST_SUSTAINED",
    "changes_after",
    "delete_message",
    "edit_message",
    "message_at",
    "message_views",
    "messages_after",
    "messages_before",
    "post_message",
]

POST_BURST: Final = Quota(limit=5, window=timedelta(seconds=5))
"""Posts and edits per person: at most 5 within 5 seconds…"""
POST_SUSTAINED: Final = Quota(limit=30, window=timedelta(minutes=1))
"""…and at most 30 a minute, across all rooms (60 would never bind: 5 per 5 s allows at most 60)."""
EDIT_WINDOW: Final = timedelta(hours=24)
"""Authors may edit a message for this long after posting it (deleting has no limit)."""
DEFAULT_PAGE = 50


def post_message(
    *,
    session: Session,
    actor: User,
    room: ChatRoom,
    body: str,
    now: datetime | None = None,
    limiter: RateLimiter | None = None,
) -> ChatEvent:
    """Post ``body`` (markdown) in ``room`` as its next message; mentions notify their people.

    ``RoomNotFound`` if the actor may not read the room, ``Muted`` if muted, ``InvalidInput`` for an
    empty or too long body, ``PostingTooFast`` past the rate limits.
    """
    now = current_time(now)
    require_poster(session=session, room=room, user=actor, now=now)
    text = check_body(body)
    _throttle(limiter or limiter_for(), user_pk(actor), now)
    mentioned = mentionable(session, room, text, now=now)
    html = _render(text, mentioned)
    seq, change = _advance(session, room, now=now, new_message=True)
    message = ChatMessage(
        room_id=room_pk(room),
        seq=seq,
        change=change,
        author_id=actor.id,
        body=text,
        html=html,
        created_at=now,
    )
    session.add(message)
    session.flush()
    record_mentions(session, room, message, mentioned.values(), now=now)
    return _event(session, room, message, ChatEventKind.POSTED, now)


def edit_message(
    *,
    session: Session,
    actor: User,
    room: ChatRoom,
    seq: int,
    body: str,
    now: datetime | None = None,
    limiter: RateLimiter | None = None,
) -> ChatEvent:
    """Replace the text of the actor's own message ``seq`` (within ``EDIT_WINDOW`` of posting it); the
    HTML and mentions are made again. Edits count against the posting limits."""
    now = current_time(now)
    require_reader(session=session, room=room, user=actor, now=now)
    message = _message(session, room, seq)
    if message.author_id != actor.id:
        raise Forbidden("You can only edit your own messages.")
    if message.deleted:
        raise Conflict("This message has been deleted.")
    if now - aware(message.created_at) > EDIT_WINDOW:
        raise Forbidden(f"Messages can be edited for {EDIT_WINDOW.total_seconds() / 3600:g} hours.")
    require_poster(session=session, room=room, user=actor, now=now)
    text = check_body(body)
    if text == message.body:
        raise Conflict("Nothing changed.")
    _throttle(limiter or limiter_for(), user_pk(actor), now)
    mentioned = mentionable(session, room, text, now=now)
    html = _render(text, mentioned)
    _, change = _advance(session, room, now=now, new_message=False)
    _still_there(session, message)  # the room's lock is ours: no one else changes its messages now
    message.body, message.html, message.edited_at, message.change = text, html, now, change
    session.add(message)
    session.flush()
    record_mentions(session, room, message, mentioned.values(), now=now)
    return _event(session, room, message, ChatEventKind.EDITED, now)


def delete_message(
    *, session: Session, actor: User, room: ChatRoom, seq: int, now: datetime | None = None
) -> ChatEvent:
    """Delete message ``seq``: the author their own, a moderator anyone's (audited). The message stays
    as a tombstone ("message deleted") with its number."""
    now = current_time(now)
    access = require_reader(session=session, room=room, user=actor, now=now)
    message = _message(session, room, seq)
    own = message.author_id is not None and message.author_id == actor.id
    if not own and not access.moderate:
        raise Forbidden("You can only delete your own messages.")
    if message.deleted:
        raise Conflict("This message has already been deleted.")
    if not own:
        audit(
            session,
            AuditKind.CHAT_MESSAGE_REMOVED,
            now=now,
            actor=actor,
            room=room,
            subject_id=message.author_id,
            seq=message.seq,
        )
    return erase(session, room, message, actor=actor, moderated=not own, now=now)


def erase(
    session: Session, room: ChatRoom, message: ChatMessage, *, actor: User, moderated: bool, now: datetime
) -> ChatEvent:
    """Turn ``message`` into a tombstone and resolve the open reports about it."""
    _, change = _advance(session, room, now=now, new_message=False)
    _still_there(session, message)
    message.body, message.html, message.deleted_at = "", TOMBSTONE_HTML, now
    message.moderated, message.change = moderated, change
    session.add(message)
    forget_mentions(session, message)
    session.exec(
        update(ChatReport)
        .where(col(ChatReport.message_id) == message.id, col(ChatReport.resolved_at).is_(None))
        .values(resolved_at=now, resolved_by_id=actor.id, removed=True)
    )
    session.flush()
    return _event(session, room, message, ChatEventKind.DELETED, now)


def message_at(
    *, session: Session, room: ChatRoom, user: User, seq: int, now: datetime | None = None
) -> MessageView:
    """Message ``seq`` of ``room``; ``MessageNotFound`` if there is none."""
    require_reader(session=session, room=room, user=user, now=now)
    return message_views(session=session, room=room, messages=[_message(session, room, seq)])[0]


def messages_after(
    *,
    session: Session,
    room: ChatRoom,
    user: User,
    seq: int,
    limit: int = DEFAULT_PAGE,
    now: datetime | None = None,
) -> list[MessageView]:
    """The messages numbered after ``seq``, oldest first, at most ``limit`` (≤ 200): a client that
    holds messages up to ``seq`` asks for these until a page comes back short."""
    require_reader(session=session, room=room, user=user, now=now)
    query = (
        select(ChatMessage)
        .where(col(ChatMessage.room_id) == room_pk(room), col(ChatMessage.seq) > seq)
        .order_by(col(ChatMessage.seq))
        .limit(_clamp(limit))
    )
    return message_views(session=session, room=room, messages=list(session.exec(query)))


def messages_before(
    *,
    session: Session,
    room: ChatRoom,
    user: User,
    seq: int | None = None,
    limit: int = DEFAULT_PAGE,
    now: datetime | None = None,
) -> list[MessageView]:
    """The ``limit`` messages just before ``seq`` (None: the newest), oldest first: history pages."""
    require_reader(session=session, room=room, user=user, now=now)
    query = select(ChatMessage).where(col(ChatMessage.room_id) == room_pk(room))
    if seq is not None:
        query = query.where(col(ChatMessage.seq) < seq)
    query = query.order_by(col(ChatMessage.seq).desc()).limit(_clamp(limit))
    newest_first = list(session.exec(query))
    return message_views(session=session, room=room, messages=newest_first[::-1])


def changes_after(
    *,
    session: Session,
    room: ChatRoom,
    user: User,
    change: int,
    limit: int = DEFAULT_PAGE,
    now: datetime | None = None,
) -> list[MessageView]:
    """The messages posted, edited or deleted after room change ``change``, in change order, each in
    its present state: a client that applied changes up to ``change`` replays these (by ``seq``) until
    a page comes back short, and is then up to date, edits and deletions included."""
    require_reader(session=session, room=room, user=user, now=now)
    query = (
        select(ChatMessage)
        .where(col(ChatMessage.room_id) == room_pk(room), col(ChatMessage.change) > change)
        .order_by(col(ChatMessage.change))
        .limit(_clamp(limit))
    )
    return message_views(session=session, room=room, messages=list(session.exec(query)))


def message_views(*, session: Session, room: ChatRoom, messages: Sequence[ChatMessage]) -> list[MessageView]:
    """``messages`` of ``room`` as everyone who may read it sees them (two queries for any number)."""
    ids = [m.id for m in messages if m.id is not None]
    mentions: dict[int, list[int]] = {}
    if ids:
        rows = session.exec(
            select(ChatMention.message_id, ChatMention.user_id).where(col(ChatMention.message_id).in_(ids))
        )
        for message_id, user_id in rows:
            mentions.setdefault(message_id, []).append(user_id)
    people = [m.author_id for m in messages] + [u for users in mentions.values() for u in users]
    names = usernames(session, people)
    return [
        MessageView(
            room=room.public_id,
            seq=m.seq,
            change=m.change,
            author=names.get(m.author_id) if m.author_id is not None else None,
            body=m.body,
            html=m.html,
            mentions=sorted(names[u] for u in mentions.get(m.id or 0, []) if u in names),
            created_at=aware(m.created_at),
            edited_at=aware(m.edited_at) if m.edited_at is not None else None,
            deleted=m.deleted,
            moderated=m.moderated,
        )
        for m in messages
    ]


def message_in(session: Session, room: ChatRoom, seq: int) -> ChatMessage:
    """Message ``seq`` of ``room`` (no access check); ``MessageNotFound`` if there is none."""
    return _message(session, room, seq)


def _message(session: Session, room: ChatRoom, seq: int) -> ChatMessage:
    message = session.exec(
        select(ChatMessage).where(col(ChatMessage.room_id) == room_pk(room), col(ChatMessage.seq) == seq)
    ).first()
    if message is None:
        raise MessageNotFound
    return message


def _still_there(session: Session, message: ChatMessage) -> None:
    """Read ``message`` again once the room is locked; ``Conflict`` if it was deleted meanwhile."""
    session.refresh(message)
    if message.deleted:
        raise Conflict("This message has been deleted.")


def _render(text: str, mentioned: dict[str, int]) -> str:
    html = render_markdown(text, mentions=mentioned.keys()).html
    if len(html) > MAX_HTML:
        raise InvalidInput("body", "This message is too long once formatted; shorten it.")
    return html


def _throttle(limiter: RateLimiter, user_id: int, now: datetime) -> None:
    """Count one post against both quotas, or raise ``PostingTooFast`` without counting it."""
    key = f"chat:post:{user_id}"
    sustained = limiter.peek(f"{key}:minute", POST_SUSTAINED, now=now)
    if not sustained.allowed:
        raise PostingTooFast(sustained.retry_after)
    burst = limiter.hit(f"{key}:burst", POST_BURST, now=now)
    if not burst.allowed:
        raise PostingTooFast(burst.retry_after)
    sustained = limiter.hit(f"{key}:minute", POST_SUSTAINED, now=now)
    if not sustained.allowed:  # another worker took the last one since the peek
        raise PostingTooFast(sustained.retry_after)


def _advance(session: Session, room: ChatRoom, *, now: datetime, new_message: bool) -> tuple[int, int]:
    """Take the room's next change number (and next message number for a post), atomically."""
    rooms = table(ChatRoom)
    values: dict[str, object] = {"last_change": rooms.c.last_change + 1}
    if new_message:
        values |= {"last_seq": rooms.c.last_seq + 1, "last_message_at": now}
    statement = (
        sa.update(rooms)
        .where(rooms.c.id == room_pk(room))
        .values(values)
        .returning(rooms.c.last_seq, rooms.c.last_change)
    )
    seq, change = session.exec(statement).one()
    set_committed_value(room, "last_seq", seq)
    set_committed_value(room, "last_change", change)
    if new_message:
        set_committed_value(room, "last_message_at", now)
    return int(seq), int(change)


def _event(
    session: Session, room: ChatRoom, message: ChatMessage, kind: ChatEventKind, now: datetime
) -> ChatEvent:
    view = message_views(session=session, room=room, messages=[message])[0]
    return ChatEvent(
        kind=kind,
        room=room.public_id,
        topic=room.topic,
        seq=message.seq,
        change=message.change,
        occurred_at=now,
        message=view,
    )


def _clamp(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))

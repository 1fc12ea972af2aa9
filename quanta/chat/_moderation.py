"""Moderation: mutes and bans until a time, reports of messages and their resolution.

Moderators are the room's owner and the site admins (``quanta.chat.access``). Mutes and bans do not
apply to moderators, so they cannot be given to one. Reports go to the room's moderators; reports in
direct rooms (which have no moderators) go to the site admins, who may delete the reported message.
Every moderation action is written to the accounts audit log (``chat.*`` kinds) with the room in
``detail`` and the person it concerns as ``subject``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select

from quanta.accounts.events import AuditKind
from quanta.accounts.models import User
from quanta.chat._messages import erase, message_in, message_views
from quanta.chat._support import (
    MAX_PAGE,
    audit,
    aware,
    check_reason,
    current_time,
    room_pk,
    user_by_username,
    user_pk,
    usernames,
)
from quanta.chat.access import access_for, require_moderator, require_reader
from quanta.chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from quanta.chat.events import ChatEvent
from quanta.chat.models import (
    ChatMessage,
    ChatReport,
    ChatRestriction,
    ChatRoom,
    ReportView,
    RestrictionKind,
    RestrictionView,
    RoomKind,
)
from quanta.workspace.models import Strategy

__all__ = [
    "ban_user",
    "lift_restriction",
    "list_reports",
    "list_restrictions",
    "mute_user",
    "report_message",
    "resolve_report",
]

DEFAULT_PAGE = 50
_AUDIT = {RestrictionKind.MUTE: AuditKind.CHAT_USER_MUTED, RestrictionKind.BAN: AuditKind.CHAT_USER_BANNED}


def mute_user(
    *,
    session: Session,
    actor: User,
    room: ChatRoom,
    username: str,
    until: datetime | None,
    reason: str = "",
    now: datetime | None = None,
) -> RestrictionView:
    """Stop ``username`` posting in ``room`` until ``until`` (None: until lifted); moderators only.
    Muting someone muted already moves the end."""
    return _restrict(
        session,
        actor,
        room,
        username=username,
        kind=RestrictionKind.MUTE,
        until=until,
        reason=reason,
        now=current_time(now),
    )


def ban_user(
    *,
    session: Session,
    actor: User,
    room: ChatRoom,
    username: str,
    until: datetime | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> RestrictionView:
    """Stop ``username`` reading and posting in ``room`` until ``until`` (None: until lifted)."""
    return _restrict(
        session,
        actor,
        room,
        username=username,
        kind=RestrictionKind.BAN,
        until=until,
        reason=reason,
        now=current_time(now),
    )


def lift_restriction(
    *,
    session: Session,
    actor: User,
    room: ChatRoom,
    username: str,
    kind: RestrictionKind,
    now: datetime | None = None,
) -> bool:
    """End ``username``'s mute or ban in ``room`` now; whether there was one in force."""
    now = current_time(now)
    require_moderator(session=session, room=room, user=actor, now=now)
    target = user_by_username(session, username)
    row = _restriction(session, room, target, kind)
    if row is None:
        return False
    in_force = row.until is None or aware(row.until) > now
    session.delete(row)
    if in_force:
        audit(
            session,
            AuditKind.CHAT_RESTRICTION_LIFTED,
            now=now,
            actor=actor,
            room=room,
            subject_id=target.id,
            restriction=kind.value,
        )
    session.flush()
    return in_force


def list_restrictions(
    *, session: Session, actor: User, room: ChatRoom, now: datetime | None = None
) -> list[RestrictionView]:
    """The mutes and bans in force in ``room`` (moderators only), newest first."""
    now = current_time(now)
    require_moderator(session=session, room=room, user=actor, now=now)
    rows = session.exec(
        select(ChatRestriction)
        .where(col(ChatRestriction.room_id) == room_pk(room))
        .order_by(col(ChatRestriction.created_at).desc(), col(ChatRestriction.id).desc())
    ).all()
    in_force = [r for r in rows if r.until is None or aware(r.until) > now]
    names = usernames(session, [r.user_id for r in in_force] + [r.created_by_id for r in in_force])
    return [_restriction_view(room, row, names) for row in in_force]


def report_message(
    *,
    session: Session,
    actor: User,
    room: ChatRoom,
    seq: int,
    reason: str,
    now: datetime | None = None,
) -> ReportView:
    """Report message ``seq`` to the room's moderators, saying why (once per person and message)."""
    now = current_time(now)
    require_reader(session=session, room=room, user=actor, now=now)
    message = message_in(session, room, seq)
    if message.author_id == actor.id:
        raise Forbidden("You cannot report your own message; delete it instead.")
    if message.deleted:
        raise Conflict("This message has been deleted already.")
    text = check_reason(reason, required=True)
    done = session.exec(
        select(ChatReport.id).where(
            col(ChatReport.message_id) == message.id, col(ChatReport.reporter_id) == actor.id
        )
    ).first()
    if done is not None:
        raise Conflict("You have reported this message already.")
    report = ChatReport(
        room_id=room_pk(room),
        message_id=message.id or 0,
        reporter_id=user_pk(actor),
        reason=text,
        created_at=now,
    )
    session.add(report)
    session.flush()
    return _report_views(session, [(report, message, room)])[0]


def list_reports(
    *,
    session: Session,
    actor: User,
    room: ChatRoom | None = None,
    include_resolved: bool = False,
    before_id: int | None = None,
    limit: int = DEFAULT_PAGE,
    now: datetime | None = None,
) -> list[ReportView]:
    """Reports in ``room`` (None: every room ``actor`` moderates; all rooms for site admins), newest
    first; page with ``before_id``. Open ones only unless ``include_resolved``."""
    now = current_time(now)
    query = select(ChatReport, ChatMessage, ChatRoom).where(
        col(ChatMessage.id) == col(ChatReport.message_id), col(ChatRoom.id) == col(ChatReport.room_id)
    )
    if room is not None:
        if not _handles_reports(session, room, actor, now):
            require_moderator(session=session, room=room, user=actor, now=now)  # raises the right error
        query = query.where(col(ChatReport.room_id) == room_pk(room))
    elif not actor.is_admin:
        query = query.where(_moderated_by(user_pk(actor)))
    if not include_resolved:
        query = query.where(col(ChatReport.resolved_at).is_(None))
    if before_id is not None:
        query = query.where(col(ChatReport.id) < before_id)
    query = query.order_by(col(ChatReport.id).desc()).limit(max(1, min(limit, MAX_PAGE)))
    return _report_views(session, list(session.exec(query).all()))


def resolve_report(
    *,
    session: Session,
    actor: User,
    report_id: int,
    remove: bool,
    now: datetime | None = None,
) -> ChatEvent | None:
    """Settle a report: ``remove`` deletes the message (the event to publish; every open report of it
    is resolved too), otherwise the report is dismissed (None). Audited either way."""
    now = current_time(now)
    report = session.get(ChatReport, report_id)
    room = session.get(ChatRoom, report.room_id) if report is not None else None
    if report is None or room is None or not _handles_reports(session, room, actor, now):
        raise NotFound("No such report.")
    if report.resolved_at is not None:
        raise Conflict("This report has been resolved already.")
    message = session.get(ChatMessage, report.message_id)
    if message is None:
        raise NotFound("No such report.")
    if remove:
        audit(
            session,
            AuditKind.CHAT_MESSAGE_REMOVED,
            now=now,
            actor=actor,
            room=room,
            subject_id=message.author_id,
            seq=message.seq,
            report=report.id,
        )
        return erase(session, room, message, actor=actor, moderated=True, now=now)
    report.resolved_at, report.resolved_by_id, report.removed = now, actor.id, False
    session.add(report)
    audit(
        session,
        AuditKind.CHAT_REPORT_DISMISSED,
        now=now,
        actor=actor,
        room=room,
        subject_id=message.author_id,
        seq=message.seq,
        report=report.id,
    )
    session.flush()
    return None


def _restrict(
    session: Session,
    actor: User,
    room: ChatRoom,
    *,
    username: str,
    kind: RestrictionKind,
    until: datetime | None,
    reason: str,
    now: datetime,
) -> RestrictionView:
    require_moderator(session=session, room=room, user=actor, now=now)
    target = user_by_username(session, username)
    if target.id == actor.id:
        raise InvalidInput("username", "You cannot mute or ban yourself.")
    if access_for(session=session, room=room, user=target, now=now).moderate:
        raise Forbidden("Moderators of a room cannot be muted or banned in it.")
    if until is not None:
        until = current_time(until)
        if until <= now:
            raise InvalidInput("until", "Choose an end in the future, or none.")
    text = check_reason(reason, required=False)
    row = _restriction(session, room, target, kind) or ChatRestriction(
        room_id=room_pk(room), user_id=user_pk(target), kind=kind
    )
    row.until, row.reason, row.created_by_id, row.created_at = until, text, actor.id, now
    session.add(row)
    audit(
        session,
        _AUDIT[kind],
        now=now,
        actor=actor,
        room=room,
        subject_id=target.id,
        until=until.isoformat() if until is not None else None,
        reason=text,
    )
    session.flush()
    names = usernames(session, [target.id, actor.id])
    return _restriction_view(room, row, names)


def _restriction(
    session: Session, room: ChatRoom, user: User, kind: RestrictionKind
) -> ChatRestriction | None:
    return session.exec(
        select(ChatRestriction).where(
            col(ChatRestriction.room_id) == room_pk(room),
            col(ChatRestriction.user_id) == user_pk(user),
            col(ChatRestriction.kind) == kind,
        )
    ).first()


def _restriction_view(room: ChatRoom, row: ChatRestriction, names: dict[int, str]) -> RestrictionView:
    return RestrictionView(
        room=room.public_id,
        username=names.get(row.user_id, ""),
        kind=row.kind,
        until=aware(row.until) if row.until is not None else None,
        reason=row.reason,
        created_by=names.get(row.created_by_id) if row.created_by_id is not None else None,
        created_at=aware(row.created_at),
    )


def _handles_reports(session: Session, room: ChatRoom, actor: User, now: datetime) -> bool:
    """Site admins handle every report (direct rooms' too); room moderators those of their rooms."""
    if actor.is_admin and not actor.disabled:
        return True
    return access_for(session=session, room=room, user=actor, now=now).moderate


def _moderated_by(user_id: int) -> ColumnElement[bool]:
    """Rooms ``user_id`` moderates without being an admin: competitions they own, their strategies'."""
    own_strategies = select(Strategy.public_id).where(col(Strategy.owner_id) == user_id)
    return or_(
        col(ChatRoom.owner_id) == user_id,
        (col(ChatRoom.kind) == RoomKind.STRATEGY) & col(ChatRoom.ref).in_(own_strategies),
    )


def _report_views(session: Session, rows: list[tuple[ChatReport, ChatMessage, ChatRoom]]) -> list[ReportView]:
    by_room: dict[int, list[ChatMessage]] = defaultdict(list)
    rooms: dict[int, ChatRoom] = {}
    for _, message, room in rows:
        by_room[room_pk(room)].append(message)
        rooms[room_pk(room)] = room
    views = {
        (room_id, view.seq): view
        for room_id, messages in by_room.items()
        for view in message_views(session=session, room=rooms[room_id], messages=messages)
    }
    names = usernames(session, [r.reporter_id for r, _, _ in rows] + [r.resolved_by_id for r, _, _ in rows])
    return [
        ReportView(
            id=report.id or 0,
            room=room.public_id,
            room_kind=room.kind,
            reporter=names.get(report.reporter_id),
            reason=report.reason,
            created_at=aware(report.created_at),
            resolved_at=aware(report.resolved_at) if report.resolved_at is not None else None,
            resolved_by=names.get(report.resolved_by_id) if report.resolved_by_id is not None else None,
            removed=report.removed,
            message=views[(room_pk(room), message.seq)],
        )
        for report, message, room in rows
    ]

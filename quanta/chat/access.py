"""Who may do what in a chat room, decided in one place.

``access_for`` answers what someone may do in a room:

- **lobby** and **competition** rooms: every active account reads and posts;
- **strategy** rooms: the strategy's owner and its collaborators (editors *and* viewers) read and post;
  ``quanta.workspace.access.role_for`` decides, and a visitor of a public strategy is no member;
- **direct** rooms: their two people read and post (posting stops once one of them deletes the account).

Moderators read every room but direct ones and may delete any message, mute and ban: site admins
(``User.is_admin``) everywhere but in direct rooms, competition rooms' owners (``ChatRoom.owner_id``),
strategy rooms' strategy owner. A ban (until its end) takes reading and posting away, a mute posting;
neither applies to moderators. Disabled accounts and people not signed in (``None``) have no access.
A room one may not read does not exist for them (``RoomNotFound``), like a wrong id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from quanta.accounts.models import User
from quanta.chat._support import aware, current_time, is_public_id
from quanta.chat.errors import Forbidden, Muted, RoomNotFound
from quanta.chat.models import ChatRestriction, ChatRoom, RestrictionKind, RoomKind
from quanta.workspace.access import role_for
from quanta.workspace.models import Access, Strategy, StrategyCollaborator

__all__ = [
    "NO_ACCESS",
    "RoomAccess",
    "access_for",
    "require_moderator",
    "require_poster",
    "require_reader",
    "room_by_public_id",
    "strategy_of",
]


@dataclass(frozen=True, kw_only=True)
class RoomAccess:
    """What someone may do in a room. ``muted`` with ``muted_until=None`` is a mute until lifted."""

    read: bool = False
    post: bool = False
    moderate: bool = False
    member: bool = False
    """A member by right of the room (not only a moderator reading it)."""
    muted: bool = False
    muted_until: datetime | None = None


NO_ACCESS = RoomAccess()


def strategy_of(session: Session, room: ChatRoom) -> Strategy | None:
    """The strategy of a strategy room (None for other rooms, or once the strategy is deleted)."""
    if room.kind is not RoomKind.STRATEGY:
        return None
    return session.exec(select(Strategy).where(col(Strategy.public_id) == room.ref)).first()


def _strategy_roles(session: Session, room: ChatRoom, user: User, user_id: int) -> tuple[bool, bool]:
    """(member, moderator) of a strategy room; nobody at all once the strategy is deleted."""
    strategy = strategy_of(session, room)
    if strategy is None:
        return False, False
    role = role_for(session=session, strategy=strategy, user_id=user_id)
    member = role in (Access.OWNER, Access.EDITOR)
    if role is Access.VIEWER:  # a collaborator, or anyone at all for a public strategy
        collaborator = session.exec(
            select(StrategyCollaborator.id).where(
                col(StrategyCollaborator.strategy_id) == strategy.id,
                col(StrategyCollaborator.user_id) == user_id,
            )
        ).first()
        member = collaborator is not None
    return member, role is Access.OWNER or user.is_admin


def _roles(session: Session, room: ChatRoom, user: User, user_id: int) -> tuple[bool, bool]:
    """(member, moderator) of ``room`` for an active ``user``."""
    match room.kind:
        case RoomKind.LOBBY | RoomKind.COMPETITION:
            return True, user.is_admin or room.owner_id == user_id
        case RoomKind.STRATEGY:
            return _strategy_roles(session, room, user, user_id)
        case RoomKind.DIRECT:
            return user_id in (room.member_low_id, room.member_high_id), False


def _restrictions(
    session: Session, room: ChatRoom, user_id: int, now: datetime
) -> dict[RestrictionKind, datetime | None]:
    """The mutes and bans in force: their end (None: until lifted), by kind."""
    if room.id is None:  # a room not made yet has no restrictions
        return {}
    rows = session.exec(
        select(ChatRestriction.kind, ChatRestriction.until).where(
            col(ChatRestriction.room_id) == room.id, col(ChatRestriction.user_id) == user_id
        )
    ).all()
    return {
        RestrictionKind(kind): aware(until) if until is not None else None
        for kind, until in rows
        if until is None or aware(until) > now
    }


def access_for(
    *, session: Session, room: ChatRoom, user: User | None, now: datetime | None = None
) -> RoomAccess:
    """What ``user`` (None: someone not signed in) may do in ``room`` at ``now``."""
    if user is None or user.id is None or user.disabled:
        return NO_ACCESS
    now = current_time(now)
    member, moderator = _roles(session, room, user, user.id)
    if not (member or moderator):
        return NO_ACCESS
    if moderator:
        return RoomAccess(read=True, post=True, moderate=True, member=member)
    restrictions = _restrictions(session, room, user.id, now)
    if RestrictionKind.BAN in restrictions:
        return NO_ACCESS
    muted = RestrictionKind.MUTE in restrictions
    open_room = room.kind is not RoomKind.DIRECT or None not in (room.member_low_id, room.member_high_id)
    return RoomAccess(
        read=True,
        post=open_room and not muted,
        member=True,
        muted=muted,
        muted_until=restrictions.get(RestrictionKind.MUTE),
    )


def require_reader(
    *, session: Session, room: ChatRoom, user: User | None, now: datetime | None = None
) -> RoomAccess:
    """The caller's access if they may read ``room``; ``RoomNotFound`` otherwise."""
    access = access_for(session=session, room=room, user=user, now=now)
    if not access.read:
        raise RoomNotFound
    return access


def require_poster(
    *, session: Session, room: ChatRoom, user: User | None, now: datetime | None = None
) -> RoomAccess:
    """The caller's access if they may post in ``room``: ``RoomNotFound`` when they may not read it,
    ``Muted`` when muted, ``Forbidden`` in a direct room whose other person has left."""
    access = require_reader(session=session, room=room, user=user, now=now)
    if access.muted:
        raise Muted(access.muted_until)
    if not access.post:
        raise Forbidden("This conversation is closed: the other person has deleted their account.")
    return access


def require_moderator(
    *, session: Session, room: ChatRoom, user: User | None, now: datetime | None = None
) -> RoomAccess:
    """The caller's access if they moderate ``room``; ``RoomNotFound`` or ``Forbidden`` otherwise."""
    access = require_reader(session=session, room=room, user=user, now=now)
    if not access.moderate:
        if room.kind is RoomKind.DIRECT:
            raise Forbidden("Direct messages have no moderators; report a message instead.")
        raise Forbidden("Only the room's owner and site admins can moderate this room.")
    return access


def room_by_public_id(
    *, session: Session, public_id: str, user: User | None, now: datetime | None = None
) -> ChatRoom:
    """The room ``public_id`` if ``user`` may read it; ``RoomNotFound`` otherwise."""
    room = None
    if is_public_id(public_id):
        room = session.exec(select(ChatRoom).where(col(ChatRoom.public_id) == public_id)).first()
    if room is None:
        raise RoomNotFound
    require_reader(session=session, room=room, user=user, now=now)
    return room

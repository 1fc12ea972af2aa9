"""Rooms: the lobby, one per competition, one per strategy, one per pair of people; made on first use.

Every room is unique by (kind, ref), made with ``INSERT … ON CONFLICT DO NOTHING`` and read back, so two
people opening the same room at the same moment get the same one.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, or_, select

from quanta.accounts.models import User
from quanta.chat._support import current_time, new_public_id, table, user_by_username, user_pk, usernames
from quanta.chat.access import access_for, require_reader, strategy_of
from quanta.chat.errors import InvalidInput, RoomNotFound
from quanta.chat.models import MAX_REF, MAX_TITLE, ChatRoom, RoomKind, RoomView
from quanta.workspace.models import Strategy, StrategyCollaborator

__all__ = [
    "competition_room",
    "direct_room",
    "direct_rooms",
    "lobby",
    "my_rooms",
    "room_view",
    "strategy_room",
]

LOBBY_TITLE = "Lobby"
DEFAULT_PAGE = 50
MAX_PAGE = 100
_COMPETITION_REF = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_REF - 1}}}$")


def lobby(*, session: Session, now: datetime | None = None) -> ChatRoom:
    """The global lobby (made on first use); everyone signed in reads and posts there."""
    return _get_or_create(session, kind=RoomKind.LOBBY, ref="", now=current_time(now), title=LOBBY_TITLE)


def competition_room(
    *,
    session: Session,
    ref: str,
    title: str = "",
    owner: User | None = None,
    now: datetime | None = None,
) -> ChatRoom:
    """The room of competition ``ref`` (its id in the competitions module), made on first use with
    ``title`` and ``owner`` (who moderates it besides the site admins).

    A system service: the competitions module calls it for a competition it has authorised.
    """
    if _COMPETITION_REF.match(ref) is None:
        raise InvalidInput("ref", f"A competition reference is 1 to {MAX_REF} letters, digits or ._:-")
    cleaned = title.strip()
    if len(cleaned) > MAX_TITLE:
        raise InvalidInput("title", f"Keep the title under {MAX_TITLE} characters.")
    return _get_or_create(
        session,
        kind=RoomKind.COMPETITION,
        ref=ref,
        now=current_time(now),
        title=cleaned,
        owner_id=owner.id if owner is not None else None,
    )


def strategy_room(
    *, session: Session, user: User, strategy: Strategy, now: datetime | None = None
) -> ChatRoom:
    """The room of ``strategy`` for its owner and collaborators (and site admins);
    ``RoomNotFound`` for anyone else."""
    now = current_time(now)
    probe = ChatRoom(public_id="", kind=RoomKind.STRATEGY, ref=strategy.public_id)
    if not access_for(session=session, room=probe, user=user, now=now).read:
        raise RoomNotFound
    room = _get_or_create(session, kind=RoomKind.STRATEGY, ref=strategy.public_id, now=now)
    require_reader(session=session, room=room, user=user, now=now)  # not banned from it
    return room


def direct_room(*, session: Session, user: User, username: str, now: datetime | None = None) -> ChatRoom:
    """The conversation between ``user`` and ``username`` (one per pair, made on first use)."""
    me = user_pk(user)
    other = user_pk(user_by_username(session, username))
    if other == me:
        raise InvalidInput("username", "You cannot send direct messages to yourself.")
    low, high = sorted((me, other))
    return _get_or_create(
        session,
        kind=RoomKind.DIRECT,
        ref=f"{low}:{high}",
        now=current_time(now),
        member_low_id=low,
        member_high_id=high,
    )


def direct_rooms(*, session: Session, user: User, limit: int = DEFAULT_PAGE) -> list[ChatRoom]:
    """``user``'s conversations, the one with the newest message first (empty ones last)."""
    me = user_pk(user)
    query = (
        select(ChatRoom)
        .where(
            col(ChatRoom.kind) == RoomKind.DIRECT,
            or_(col(ChatRoom.member_low_id) == me, col(ChatRoom.member_high_id) == me),
        )
        .order_by(col(ChatRoom.last_message_at).desc().nulls_last(), col(ChatRoom.id).desc())
        .limit(max(1, min(limit, MAX_PAGE)))
    )
    return list(session.exec(query))


def my_rooms(
    *, session: Session, user: User, limit: int = DEFAULT_PAGE, now: datetime | None = None
) -> list[RoomView]:
    """The rooms ``user`` may read, as they see them: the lobby (made on first use), the rooms of the
    strategies they own or collaborate on and of the competitions that have one, then their direct
    conversations; within each kind the one with the newest message first."""
    now = current_time(now)
    me = user_pk(user)
    shared = select(Strategy.public_id).where(
        or_(
            col(Strategy.owner_id) == me,
            col(Strategy.id).in_(
                select(StrategyCollaborator.strategy_id).where(StrategyCollaborator.user_id == me)
            ),
        )
    )
    newest = (col(ChatRoom.last_message_at).desc().nulls_last(), col(ChatRoom.id).desc())
    size = max(1, min(limit, MAX_PAGE))
    strategy_rooms = session.exec(
        select(ChatRoom)
        .where(col(ChatRoom.kind) == RoomKind.STRATEGY, col(ChatRoom.ref).in_(shared))
        .order_by(*newest)
        .limit(size)
    )
    competition_rooms = session.exec(
        select(ChatRoom).where(col(ChatRoom.kind) == RoomKind.COMPETITION).order_by(*newest).limit(size)
    )
    rooms = [lobby(session=session, now=now), *strategy_rooms, *competition_rooms]
    rooms += direct_rooms(session=session, user=user, limit=size)
    return [
        room_view(session=session, room=room, user=user, now=now)
        for room in rooms
        if access_for(session=session, room=room, user=user, now=now).read
    ]


def room_view(*, session: Session, room: ChatRoom, user: User, now: datetime | None = None) -> RoomView:
    """``room`` as ``user`` sees it (``RoomNotFound`` unless they may read it)."""
    access = require_reader(session=session, room=room, user=user, now=now)
    return RoomView(
        id=room.public_id,
        topic=room.topic,
        kind=room.kind,
        ref=room.ref if room.kind is not RoomKind.DIRECT else "",
        title=room_title(session, room, user),
        last_seq=room.last_seq,
        last_change=room.last_change,
        can_post=access.post,
        can_moderate=access.moderate,
        muted=access.muted,
        muted_until=access.muted_until,
    )


def room_title(session: Session, room: ChatRoom, user: User) -> str:
    """What ``user`` calls ``room``: "Lobby", the competition's or strategy's title, the other person."""
    match room.kind:
        case RoomKind.STRATEGY:
            strategy = strategy_of(session, room)
            return strategy.title if strategy is not None else ""
        case RoomKind.DIRECT:
            other = room.member_high_id if room.member_low_id == user.id else room.member_low_id
            return usernames(session, [other]).get(other or 0, "deleted account")
        case _:
            return room.title or room.ref


def _find(session: Session, kind: RoomKind, ref: str) -> ChatRoom | None:
    return session.exec(select(ChatRoom).where(col(ChatRoom.kind) == kind, col(ChatRoom.ref) == ref)).first()


def _get_or_create(session: Session, *, kind: RoomKind, ref: str, now: datetime, **values: Any) -> ChatRoom:
    room = _find(session, kind, ref)
    if room is not None:
        return room
    rooms = table(ChatRoom)
    insert = postgresql.insert if session.connection().dialect.name == "postgresql" else sqlite.insert
    session.exec(
        insert(rooms)
        .values(
            public_id=new_public_id(), kind=kind, ref=ref, last_seq=0, last_change=0, created_at=now, **values
        )
        .on_conflict_do_nothing(index_elements=["kind", "ref"])
    )
    room = _find(session, kind, ref)
    assert room is not None, "a room just inserted (or inserted concurrently) is there"
    return room

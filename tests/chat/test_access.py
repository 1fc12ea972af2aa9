"""Who may do what in each kind of room, on SQLite and PostgreSQL: the permission table of docs/chat.md
run against the services themselves (read, post, delete someone else's message, mute)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session

from quanta.accounts.models import User
from quanta.chat.access import access_for, room_by_public_id
from quanta.chat.errors import Forbidden, Muted, RoomNotFound
from quanta.chat.models import ChatRoom, RestrictionKind
from quanta.chat.service import (
    ban_user,
    delete_message,
    direct_room,
    lift_restriction,
    messages_after,
    mute_user,
    post_message,
    strategy_room,
)
from quanta.ratelimit import MemoryRateLimiter
from quanta.testing.clock import FakeClock
from quanta.workspace.errors import StrategyNotFound
from quanta.workspace.models import Visibility
from quanta.workspace.service import delete_strategy, remove_collaborator, strategy_by_public_id
from tests.chat.conftest import BACKENDS, Cast, Rooms, make_strategy, post

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)

PEOPLE = ("admin", "owner", "editor", "viewer", "stranger")
# The person whose message others try to delete, and whom they try to mute, in each room.
TARGET = {"lobby": "viewer", "competition": "viewer", "strategy": "viewer", "direct": "editor"}
USERNAMES = {"admin": "ada", "owner": "olga", "editor": "eddie", "viewer": "vic", "stranger": "sam"}

EXPECTED = {
    #               admin  owner  editor viewer stranger
    ("lobby", "read"): ("ok", "ok", "ok", "ok", "ok"),
    ("lobby", "post"): ("ok", "ok", "ok", "ok", "ok"),
    ("lobby", "delete"): ("ok", "403", "403", "-", "403"),
    ("lobby", "mute"): ("ok", "403", "403", "-", "403"),
    ("competition", "read"): ("ok", "ok", "ok", "ok", "ok"),
    ("competition", "post"): ("ok", "ok", "ok", "ok", "ok"),
    ("competition", "delete"): ("ok", "ok", "403", "-", "403"),
    ("competition", "mute"): ("ok", "ok", "403", "-", "403"),
    ("strategy", "read"): ("ok", "ok", "ok", "ok", "404"),
    ("strategy", "post"): ("ok", "ok", "ok", "ok", "404"),
    ("strategy", "delete"): ("ok", "ok", "403", "-", "404"),
    ("strategy", "mute"): ("ok", "ok", "403", "-", "404"),
    ("direct", "read"): ("404", "ok", "ok", "404", "404"),
    ("direct", "post"): ("404", "ok", "ok", "404", "404"),
    ("direct", "delete"): ("404", "403", "-", "404", "404"),
    ("direct", "mute"): ("404", "403", "-", "404", "404"),
}


def outcome(action: Callable[[], object]) -> str:
    try:
        action()
    except RoomNotFound:
        return "404"
    except Muted:
        return "muted"
    except Forbidden:
        return "403"
    return "ok"


def _attempt(
    unit: Session, clock: FakeClock, cast: Cast, *, room: ChatRoom, kind: str, action: str, actor: User
) -> str:
    target: User = getattr(cast, TARGET[kind])
    username = USERNAMES[TARGET[kind]]
    now = clock.now()
    if action == "read":
        return outcome(lambda: messages_after(session=unit, room=room, user=actor, seq=0, now=now))
    if action == "post":
        limiter = MemoryRateLimiter()
        return outcome(
            lambda: post_message(session=unit, actor=actor, room=room, body="hi", now=now, limiter=limiter)
        )
    if action == "delete":
        seq = post(unit, clock, target, room, "delete me?").seq
        return outcome(lambda: delete_message(session=unit, actor=actor, room=room, seq=seq, now=now))
    result = outcome(
        lambda: mute_user(
            session=unit, actor=actor, room=room, username=username, until=now + timedelta(hours=1), now=now
        )
    )
    if result == "ok":
        lift_restriction(
            session=unit, actor=actor, room=room, username=username, kind=RestrictionKind.MUTE, now=now
        )
    return result


def test_the_permission_table_holds(unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms) -> None:
    actual = {}
    for (kind, action), expected in EXPECTED.items():
        room = getattr(rooms, kind)
        row = []
        for person, wanted in zip(PEOPLE, expected, strict=True):
            if wanted == "-":  # the target acting on themselves: not part of the table
                row.append("-")
                continue
            actor = getattr(cast, person)
            row.append(_attempt(unit, clock, cast, room=room, kind=kind, action=action, actor=actor))
            unit.commit()
        actual[kind, action] = tuple(row)

    assert actual == EXPECTED


def test_a_public_strategy_room_is_still_only_for_its_collaborators(
    unit: Session, clock: FakeClock, cast: Cast
) -> None:
    strategy = make_strategy(unit, clock, cast, visibility=Visibility.PUBLIC)
    room = strategy_room(session=unit, user=cast.viewer, strategy=strategy, now=clock.now())

    with pytest.raises(RoomNotFound):
        strategy_room(session=unit, user=cast.stranger, strategy=strategy, now=clock.now())
    with pytest.raises(RoomNotFound):
        room_by_public_id(session=unit, public_id=room.public_id, user=cast.stranger)
    assert room_by_public_id(session=unit, public_id=room.public_id, user=cast.viewer) is room


def test_people_not_signed_in_and_disabled_accounts_have_no_access(
    unit: Session, cast: Cast, rooms: Rooms
) -> None:
    cast.editor.disabled = True
    unit.add(cast.editor)
    unit.commit()

    for room in (rooms.lobby, rooms.competition, rooms.strategy, rooms.direct):
        assert not access_for(session=unit, room=room, user=None).read
        assert not access_for(session=unit, room=room, user=cast.editor).read
    with pytest.raises(RoomNotFound):
        room_by_public_id(session=unit, public_id=rooms.lobby.public_id, user=None)


def test_unknown_and_malformed_room_ids_are_not_found(unit: Session, cast: Cast, rooms: Rooms) -> None:
    for public_id in ("cr_AAAAAAAAAAAA", "nope", "", "cr_" + "x" * 40, rooms.lobby.public_id + "'"):
        with pytest.raises(RoomNotFound):
            room_by_public_id(session=unit, public_id=public_id, user=cast.admin)


def test_a_ban_takes_reading_away_until_it_ends(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    ban_user(
        session=unit,
        actor=cast.owner,
        room=rooms.strategy,
        username="eddie",
        until=clock.now() + timedelta(days=1),
        now=clock.now(),
    )
    unit.commit()

    with pytest.raises(RoomNotFound):
        messages_after(session=unit, room=rooms.strategy, user=cast.editor, seq=0, now=clock.now())
    with pytest.raises(RoomNotFound):
        strategy_room(session=unit, user=cast.editor, strategy=rooms.private_strategy, now=clock.now())
    clock.advance(days=1)
    assert messages_after(session=unit, room=rooms.strategy, user=cast.editor, seq=0, now=clock.now()) == []


def test_a_mute_takes_posting_away_but_not_reading(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    until = clock.now() + timedelta(minutes=10)
    mute_user(session=unit, actor=cast.admin, room=rooms.lobby, username="sam", until=until, now=clock.now())
    unit.commit()

    with pytest.raises(Muted) as muted:
        post_message(session=unit, actor=cast.stranger, room=rooms.lobby, body="hi", now=clock.now())
    assert muted.value.until == until
    assert "muted in this room until" in str(muted.value)
    assert messages_after(session=unit, room=rooms.lobby, user=cast.stranger, seq=0, now=clock.now()) == []
    clock.advance(minutes=10)
    assert post(unit, clock, cast.stranger, rooms.lobby, "back").seq == 1


def test_a_collaborator_removed_from_the_strategy_leaves_its_room(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    remove_collaborator(
        session=unit, actor=cast.owner, strategy=rooms.private_strategy, username="vic", now=clock.now()
    )
    unit.commit()

    with pytest.raises(RoomNotFound):
        messages_after(session=unit, room=rooms.strategy, user=cast.viewer, seq=0)


def test_a_deleted_strategys_room_is_gone_for_everyone_even_admins(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.strategy, "before")
    public_id = rooms.strategy.public_id

    delete_strategy(session=unit, actor=cast.owner, strategy=rooms.private_strategy, now=clock.now())
    unit.commit()

    for person in (cast.admin, cast.owner, cast.editor):
        with pytest.raises(RoomNotFound):
            room_by_public_id(session=unit, public_id=public_id, user=person)
    with pytest.raises(StrategyNotFound):
        strategy_by_public_id(session=unit, public_id=rooms.private_strategy.public_id, user_id=cast.owner.id)


def test_direct_rooms_are_one_per_pair_whoever_opens_them(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    from_editor = direct_room(session=unit, user=cast.editor, username="OLGA", now=clock.now())

    assert from_editor.id == rooms.direct.id
    assert direct_room(session=unit, user=cast.owner, username="@eddie").id == rooms.direct.id
    assert direct_room(session=unit, user=cast.owner, username="vic").id != rooms.direct.id

"""Rooms are made on first use, one per kind and reference, and each person sees them with their own
title and rights."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from quanta.chat.errors import InvalidInput, NotFound
from quanta.chat.models import RoomKind
from quanta.chat.service import competition_room, direct_room, direct_rooms, lobby, room_view
from quanta.testing.clock import FakeClock
from tests.chat.conftest import Cast, Rooms, post


def test_the_lobby_and_a_competitions_room_are_made_once(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    again = competition_room(session=unit, ref="spring-cup-2026", title="Other title", now=clock.now())

    assert lobby(session=unit).id == rooms.lobby.id
    assert again.id == rooms.competition.id
    assert again.title == "Spring Cup"
    assert again.owner_id == cast.owner.id
    assert rooms.lobby.public_id.startswith("cr_")
    assert len({r.public_id for r in (rooms.lobby, rooms.competition, rooms.strategy, rooms.direct)}) == 4


def test_competition_references_and_titles_are_checked(unit: Session) -> None:
    for ref in ("", "has space", "x" * 65, "-leading", "semi;colon"):
        with pytest.raises(InvalidInput) as refused:
            competition_room(session=unit, ref=ref)
        assert refused.value.field == "ref"
    with pytest.raises(InvalidInput, match="title"):
        competition_room(session=unit, ref="cup", title="t" * 101)
    assert competition_room(session=unit, ref="league:2026.q1_a").kind is RoomKind.COMPETITION


def test_each_person_sees_a_room_with_their_title_and_rights(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    def seen(room_name: str, person: str) -> tuple[str, bool, bool]:
        view = room_view(session=unit, room=getattr(rooms, room_name), user=getattr(cast, person))
        return view.title, view.can_post, view.can_moderate

    assert seen("lobby", "viewer") == ("Lobby", True, False)
    assert seen("lobby", "admin") == ("Lobby", True, True)
    assert seen("competition", "owner") == ("Spring Cup", True, True)
    assert seen("strategy", "viewer") == ("Breakout", True, False)
    assert seen("strategy", "owner") == ("Breakout", True, True)
    assert seen("direct", "owner") == ("eddie", True, False)
    assert seen("direct", "editor") == ("olga", True, False)
    direct = room_view(session=unit, room=rooms.direct, user=cast.owner)
    assert (direct.kind, direct.ref) == (RoomKind.DIRECT, "")  # no user ids leave the server


def test_direct_rooms_need_another_existing_person(unit: Session, cast: Cast) -> None:
    with pytest.raises(InvalidInput, match="yourself"):
        direct_room(session=unit, user=cast.owner, username="olga")
    with pytest.raises(NotFound):
        direct_room(session=unit, user=cast.owner, username="nobody")


def test_conversations_are_listed_newest_message_first(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    with_vic = direct_room(session=unit, user=cast.owner, username="vic", now=clock.now())
    with_sam = direct_room(session=unit, user=cast.stranger, username="olga", now=clock.now())
    unit.commit()
    post(unit, clock, cast.viewer, with_vic, "hi olga")
    clock.advance(minutes=1)
    post(unit, clock, cast.editor, rooms.direct, "later")

    listed = direct_rooms(session=unit, user=cast.owner)

    assert [r.id for r in listed] == [rooms.direct.id, with_vic.id, with_sam.id]
    assert [r.id for r in direct_rooms(session=unit, user=cast.viewer)] == [with_vic.id]

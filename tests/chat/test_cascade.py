"""Deleting people and strategies, on SQLite and PostgreSQL: a deleted person's messages become
tombstones and what hangs off them goes (so SQLite's reused ids inherit nothing); a deleted strategy's
room goes with everything in it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, delete, func, select

from quanta.accounts.models import EmailToken, Profile, User
from quanta.accounts.service import delete_account
from quanta.chat.errors import Forbidden, RoomNotFound
from quanta.chat.models import (
    ChatMention,
    ChatMessage,
    ChatNotification,
    ChatReport,
    ChatRestriction,
    ChatRoom,
)
from quanta.chat.service import (
    direct_room,
    direct_rooms,
    list_notifications,
    messages_after,
    mute_user,
    post_message,
    purge_orphaned_rooms,
    report_message,
    room_view,
)
from quanta.testing.clock import FakeClock
from quanta.workspace.service import delete_strategy
from tests.accounts.conftest import PASSWORD, make_user
from tests.chat.conftest import BACKENDS, Cast, Rooms, post

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


def count(unit: Session, model: type, *where: object) -> int:
    return int(unit.exec(select(func.count()).select_from(model).where(*where)).one())


def test_a_deleted_persons_messages_become_tombstones_and_their_traces_go(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.lobby, "@vic I am leaving")
    post(unit, clock, cast.viewer, rooms.lobby, "@eddie why?")
    post(unit, clock, cast.editor, rooms.direct, "bye @olga")
    report_message(session=unit, actor=cast.editor, room=rooms.lobby, seq=2, reason="rude")
    report_message(session=unit, actor=cast.viewer, room=rooms.lobby, seq=1, reason="drama")
    mute_user(
        session=unit,
        actor=cast.admin,
        room=rooms.lobby,
        username="eddie",
        until=clock.now() + timedelta(hours=1),
        now=clock.now(),
    )
    unit.commit()
    editor_id = cast.editor.id

    delete_account(session=unit, user=cast.editor, password=PASSWORD, now=clock.now())
    unit.commit()

    first, second = messages_after(session=unit, room=rooms.lobby, user=cast.viewer, seq=0)
    assert (first.seq, first.author, first.body, first.deleted, first.mentions) == (1, None, "", True, [])
    assert first.change == 3  # the erasure is a change of the room, for clients catching up
    assert (second.author, second.body, second.mentions) == ("vic", "@eddie why?", [])
    assert list_notifications(session=unit, user=cast.viewer) == []
    assert list_notifications(session=unit, user=cast.owner) == []
    for model in (ChatNotification, ChatRestriction, ChatMention):
        assert count(unit, model, col(model.user_id) == editor_id) == 0
    assert count(unit, ChatReport) == 0  # the one they made, and the one about their erased message
    assert count(unit, ChatMessage, col(ChatMessage.author_id) == editor_id) == 0


def test_a_conversation_with_a_deleted_person_closes_and_a_new_account_starts_afresh(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.owner, rooms.direct, "private words")
    delete_account(session=unit, user=cast.editor, password=PASSWORD, now=clock.now())
    unit.commit()

    view = room_view(session=unit, room=rooms.direct, user=cast.owner)
    assert (view.title, view.can_post) == ("deleted account", False)
    assert messages_after(session=unit, room=rooms.direct, user=cast.owner, seq=0)[0].body == "private words"
    with pytest.raises(Forbidden, match="closed"):
        post_message(session=unit, actor=cast.owner, room=rooms.direct, body="hello?", now=clock.now())

    newcomer = make_user(unit, clock, "eve@example.com", username="eddie")  # maybe the same id on SQLite
    fresh = direct_room(session=unit, user=newcomer, username="olga", now=clock.now())
    unit.commit()
    assert fresh.id != rooms.direct.id
    assert messages_after(session=unit, room=fresh, user=newcomer, seq=0) == []
    with pytest.raises(RoomNotFound):
        messages_after(session=unit, room=rooms.direct, user=newcomer, seq=0)
    assert [r.id for r in direct_rooms(session=unit, user=cast.owner)] == [rooms.direct.id, fresh.id]


def test_people_deleted_in_bulk_are_erased_too(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.stranger, rooms.lobby, "spam")
    stranger_id = cast.stranger.id
    for model in (Profile, EmailToken):  # what the accounts hang off a person themselves
        unit.exec(delete(model).where(col(model.user_id) == stranger_id))

    unit.exec(delete(User).where(col(User.id) == stranger_id))
    unit.commit()

    [tombstone] = messages_after(session=unit, room=rooms.lobby, user=cast.viewer, seq=0)
    assert (tombstone.author, tombstone.body, tombstone.deleted) == (None, "", True)


def test_deleting_a_strategy_deletes_its_room(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.strategy, "@vic secret plans")
    report_message(session=unit, actor=cast.viewer, room=rooms.strategy, seq=1, reason="x")
    room_id = rooms.strategy.id

    delete_strategy(session=unit, actor=cast.owner, strategy=rooms.private_strategy, now=clock.now())
    unit.commit()

    assert count(unit, ChatRoom, col(ChatRoom.id) == room_id) == 0
    for model in (ChatMessage, ChatNotification, ChatReport):
        assert count(unit, model, col(model.room_id) == room_id) == 0
    assert count(unit, ChatMention) == 0
    assert count(unit, ChatRoom) == 3  # the lobby, the competition and the conversation stay
    assert purge_orphaned_rooms(unit.connection()) == 0


def test_deleting_a_strategy_owner_deletes_their_strategies_rooms(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.strategy, "team talk")
    post(unit, clock, cast.owner, rooms.competition, "organiser here")
    room_id = rooms.strategy.id

    delete_account(session=unit, user=cast.owner, password=PASSWORD, now=clock.now())
    unit.commit()

    assert count(unit, ChatRoom, col(ChatRoom.id) == room_id) == 0
    assert count(unit, ChatMessage, col(ChatMessage.room_id) == room_id) == 0
    competition = unit.get(ChatRoom, rooms.competition.id)
    assert competition is not None
    assert competition.owner_id is None

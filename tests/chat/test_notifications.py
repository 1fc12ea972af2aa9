"""Mentions: only people who exist and may read the room are mentioned; each gets one notification,
which edits add or take back and deletion removes; notifications are listed and marked read."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from quanta.chat.models import MAX_MENTIONS
from quanta.chat.service import (
    ban_user,
    delete_message,
    edit_message,
    list_notifications,
    mark_notifications_read,
    unread_notification_count,
)
from quanta.ratelimit import MemoryRateLimiter
from quanta.testing.clock import FakeClock
from quanta.workspace.service import remove_collaborator
from tests.accounts.conftest import make_user
from tests.chat.conftest import BACKENDS, Cast, Rooms, post


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_mentions_notify_people_who_may_read_the_room(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    event = post(
        unit,
        clock,
        cast.editor,
        rooms.strategy,
        "@olga @VIC look, and @sam too; me: @eddie; not `@ada`; nobody: @ghost",
    )

    assert event.message.mentions == ["eddie", "olga", "vic"]
    assert '<span class="mention">@VIC</span>' in event.message.html
    assert '<span class="mention">@sam</span>' not in event.message.html
    [olga] = list_notifications(session=unit, user=cast.owner)
    assert (olga.kind.value, olga.room, olga.room_title, olga.seq, olga.author, olga.read) == (
        "mention",
        rooms.strategy.public_id,
        "Breakout",
        1,
        "eddie",
        False,
    )
    assert olga.excerpt.startswith("@olga @VIC look")
    assert unread_notification_count(session=unit, user=cast.viewer) == 1
    for nobody in (cast.editor, cast.stranger, cast.admin):
        assert list_notifications(session=unit, user=nobody) == []


def test_notifications_are_marked_read_only_by_their_person(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    for n in range(3):
        post(unit, clock, cast.editor, rooms.lobby, f"@olga number {n}")
    newest, middle, oldest = list_notifications(session=unit, user=cast.owner)

    assert [n.seq for n in (newest, middle, oldest)] == [3, 2, 1]
    assert mark_notifications_read(session=unit, user=cast.viewer, ids=[newest.id]) == 0
    assert mark_notifications_read(session=unit, user=cast.owner, ids=[newest.id]) == 1
    assert unread_notification_count(session=unit, user=cast.owner) == 2
    assert [n.seq for n in list_notifications(session=unit, user=cast.owner, unread_only=True)] == [2, 1]
    assert [n.seq for n in list_notifications(session=unit, user=cast.owner, before_id=newest.id)] == [2, 1]
    assert [n.seq for n in list_notifications(session=unit, user=cast.owner, limit=1)] == [3]
    assert mark_notifications_read(session=unit, user=cast.owner) == 2
    assert unread_notification_count(session=unit, user=cast.owner) == 0
    assert all(n.read for n in list_notifications(session=unit, user=cast.owner))


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_edits_notify_newcomers_and_take_back_unread_notifications(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.lobby, "hi @olga and @vic")
    [for_vic] = list_notifications(session=unit, user=cast.viewer)
    mark_notifications_read(session=unit, user=cast.viewer, ids=[for_vic.id])

    event = edit_message(
        session=unit,
        actor=cast.editor,
        room=rooms.lobby,
        seq=1,
        body="hi @sam and @vic and @olga",
        now=clock.now(),
        limiter=MemoryRateLimiter(),
    )
    edit_message(
        session=unit,
        actor=cast.editor,
        room=rooms.lobby,
        seq=1,
        body="hi @sam and @vic",
        now=clock.now(),
        limiter=MemoryRateLimiter(),
    )
    unit.commit()

    assert event.message.mentions == ["olga", "sam", "vic"]
    assert len(list_notifications(session=unit, user=cast.stranger)) == 1
    assert list_notifications(session=unit, user=cast.owner) == []  # dropped while unread
    assert len(list_notifications(session=unit, user=cast.viewer)) == 1  # one per message, even re-added


def test_deleting_a_message_takes_its_notifications_back(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.lobby, "@olga see this")

    delete_message(session=unit, actor=cast.editor, room=rooms.lobby, seq=1, now=clock.now())

    assert list_notifications(session=unit, user=cast.owner) == []


def test_banned_people_are_not_mentioned_and_leavers_stop_seeing_notifications(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    ban_user(session=unit, actor=cast.admin, room=rooms.lobby, username="sam", now=clock.now())
    post(unit, clock, cast.editor, rooms.lobby, "@sam can't hear")
    post(unit, clock, cast.editor, rooms.strategy, "@vic are you there?")
    assert len(list_notifications(session=unit, user=cast.viewer)) == 1

    remove_collaborator(
        session=unit, actor=cast.owner, strategy=rooms.private_strategy, username="vic", now=clock.now()
    )
    unit.commit()

    assert list_notifications(session=unit, user=cast.stranger) == []
    assert list_notifications(session=unit, user=cast.viewer) == []


def test_one_message_mentions_at_most_ten_people(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    names = [f"fan{n:02d}" for n in range(MAX_MENTIONS + 2)]
    fans = [make_user(unit, clock, f"{name}@example.com", username=name) for name in names]

    event = post(unit, clock, cast.editor, rooms.lobby, " ".join(f"@{name}" for name in names))

    assert event.message.mentions == names[:MAX_MENTIONS]
    notified = [len(list_notifications(session=unit, user=fan)) for fan in fans]
    assert notified == [1] * MAX_MENTIONS + [0, 0]

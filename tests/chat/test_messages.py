"""Posting, numbering, paging, editing and deleting messages; the events they yield; the rate limits."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, col, select

from quanta import db
from quanta.accounts.models import AuditEvent, User
from quanta.chat.errors import Conflict, Forbidden, InvalidInput, MessageNotFound, PostingTooFast
from quanta.chat.events import ChatEventKind
from quanta.chat.models import MAX_BODY, TOMBSTONE_HTML, ChatMessage, ChatRoom, MessageView
from quanta.chat.service import (
    EDIT_WINDOW,
    changes_after,
    delete_message,
    edit_message,
    message_at,
    messages_after,
    messages_before,
    post_message,
    room_view,
)
from quanta.ratelimit import MemoryRateLimiter
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from tests.chat.conftest import BACKENDS, Cast, Rooms, post


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_posts_are_numbered_per_room_without_gaps(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    lobby_seqs = [post(unit, clock, cast.editor, rooms.lobby, f"lobby {n}").seq for n in range(3)]
    strategy_seqs = [post(unit, clock, cast.owner, rooms.strategy, f"team {n}").seq for n in range(2)]

    assert lobby_seqs == [1, 2, 3]
    assert strategy_seqs == [1, 2]
    view = room_view(session=unit, room=rooms.lobby, user=cast.viewer)
    assert (view.last_seq, view.last_change, view.title, view.topic) == (
        3,
        3,
        "Lobby",
        f"chat.{rooms.lobby.public_id}",
    )


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_post_yields_a_json_ready_event_with_the_rendered_message(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    event = post(unit, clock, cast.editor, rooms.strategy, "Try **this**, @olga <b>now</b>")

    data = event.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["kind"] == "message.posted"
    assert data["room"] == rooms.strategy.public_id
    assert data["topic"] == f"chat.{rooms.strategy.public_id}"
    assert (data["seq"], data["change"]) == (1, 1)
    assert data["message"] == {
        "room": rooms.strategy.public_id,
        "seq": 1,
        "change": 1,
        "author": "eddie",
        "body": "Try **this**, @olga <b>now</b>",
        "html": '<p>Try <strong>this</strong>, <span class="mention">@olga</span> &lt;b&gt;now&lt;/b&gt;</p>',
        "mentions": ["olga"],
        "created_at": clock.now().isoformat().replace("+00:00", "Z"),
        "edited_at": None,
        "deleted": False,
        "moderated": False,
    }


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_history_pages_forwards_and_backwards(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    for n in range(1, 8):
        post(unit, clock, cast.editor, rooms.lobby, f"message {n}")
    room, me = rooms.lobby, cast.viewer

    def seqs(views: list[MessageView]) -> list[int]:
        return [v.seq for v in views]

    assert seqs(messages_after(session=unit, room=room, user=me, seq=0, limit=3)) == [1, 2, 3]
    assert seqs(messages_after(session=unit, room=room, user=me, seq=3, limit=3)) == [4, 5, 6]
    assert seqs(messages_after(session=unit, room=room, user=me, seq=6, limit=3)) == [7]
    assert seqs(messages_after(session=unit, room=room, user=me, seq=7)) == []
    assert seqs(messages_before(session=unit, room=room, user=me, limit=3)) == [5, 6, 7]
    assert seqs(messages_before(session=unit, room=room, user=me, seq=5, limit=3)) == [2, 3, 4]
    assert seqs(messages_before(session=unit, room=room, user=me, seq=2, limit=3)) == [1]
    assert seqs(messages_before(session=unit, room=room, user=me, seq=1)) == []
    assert messages_after(session=unit, room=room, user=me, seq=0, limit=10_000)[-1].body == "message 7"
    assert message_at(session=unit, room=room, user=me, seq=4).body == "message 4"
    with pytest.raises(MessageNotFound):
        message_at(session=unit, room=room, user=me, seq=8)


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_edits_rerender_and_count_as_changes(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.lobby, "first")
    post(unit, clock, cast.editor, rooms.lobby, "second")
    clock.advance(minutes=5)

    event = edit_message(
        session=unit,
        actor=cast.editor,
        room=rooms.lobby,
        seq=1,
        body="first, *edited*",
        now=clock.now(),
        limiter=MemoryRateLimiter(),
    )
    unit.commit()

    assert (event.kind, event.seq, event.change) == (ChatEventKind.EDITED, 1, 3)
    assert event.message.html == "<p>first, <em>edited</em></p>"
    assert event.message.edited_at == clock.now()
    stored = message_at(session=unit, room=rooms.lobby, user=cast.viewer, seq=1)
    assert stored.body == "first, *edited*"
    changed = changes_after(session=unit, room=rooms.lobby, user=cast.viewer, change=2)
    assert [(v.seq, v.change) for v in changed] == [(1, 3)]
    assert [v.seq for v in changes_after(session=unit, room=rooms.lobby, user=cast.viewer, change=0)] == [
        2,
        1,
    ]


def test_only_the_author_edits_within_the_window_and_something_must_change(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.lobby, "mine")

    def edit(actor: User, body: str, seconds: float = 0) -> None:
        edit_message(
            session=unit,
            actor=actor,
            room=rooms.lobby,
            seq=1,
            body=body,
            now=clock.advance(seconds=seconds),
            limiter=MemoryRateLimiter(),
        )

    with pytest.raises(Forbidden, match="your own"):
        edit(cast.admin, "not yours")
    with pytest.raises(Conflict, match="Nothing changed"):
        edit(cast.editor, "  mine \n")
    with pytest.raises(MessageNotFound):
        edit_message(session=unit, actor=cast.editor, room=rooms.lobby, seq=2, body="x")
    with pytest.raises(Forbidden, match="24 hours"):
        edit(cast.editor, "too late", seconds=EDIT_WINDOW.total_seconds() + 1)


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_deleting_leaves_a_tombstone_with_its_number(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.lobby, "oops @olga")
    post(unit, clock, cast.viewer, rooms.lobby, "reply")

    event = delete_message(session=unit, actor=cast.editor, room=rooms.lobby, seq=1, now=clock.now())
    unit.commit()

    assert (event.kind, event.seq, event.change) == (ChatEventKind.DELETED, 1, 3)
    tombstone = messages_after(session=unit, room=rooms.lobby, user=cast.viewer, seq=0)[0]
    assert (tombstone.seq, tombstone.body, tombstone.html) == (1, "", TOMBSTONE_HTML)
    assert tombstone.deleted
    assert not tombstone.moderated
    assert tombstone.mentions == []
    assert "message deleted" in tombstone.html
    with pytest.raises(Conflict):
        delete_message(session=unit, actor=cast.editor, room=rooms.lobby, seq=1, now=clock.now())
    with pytest.raises(Conflict):
        edit_message(session=unit, actor=cast.editor, room=rooms.lobby, seq=1, body="back", now=clock.now())
    assert post(unit, clock, cast.editor, rooms.lobby, "next").seq == 3


def test_a_moderator_deleting_someone_elses_message_is_audited(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.viewer, rooms.competition, "spam")
    post(unit, clock, cast.owner, rooms.competition, "my own")

    removed = delete_message(session=unit, actor=cast.owner, room=rooms.competition, seq=1, now=clock.now())
    own = delete_message(session=unit, actor=cast.owner, room=rooms.competition, seq=2, now=clock.now())
    unit.commit()

    assert removed.message.moderated
    assert not own.message.moderated
    rows = unit.exec(select(AuditEvent).where(col(AuditEvent.kind).startswith("chat."))).all()
    assert [(r.kind, r.actor_id, r.subject_id, r.detail) for r in rows] == [
        (
            "chat.message_removed",
            cast.owner.id,
            cast.viewer.id,
            {"room": rooms.competition.public_id, "room_kind": "competition", "seq": 1},
        )
    ]


def test_bodies_are_checked(unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms) -> None:
    def attempt(body: str) -> None:
        post_message(
            session=unit, actor=cast.editor, room=rooms.lobby, body=body, limiter=MemoryRateLimiter()
        )

    for body, message in (
        ("   \n ", "Write something"),
        ("x" * (MAX_BODY + 1), "under 4000"),
        ("nul\x00byte", "control characters"),
        ("[a]: https://example.com/" + "x" * 1900 + "\n\n" + "[a]" * 600, "too long once formatted"),
    ):
        with pytest.raises(InvalidInput, match=message) as refused:
            attempt(body)
        assert refused.value.field == "body"
    event = post(unit, clock, cast.editor, rooms.lobby, "  line one\r\nline two\t ")
    assert event.message.body == "line one\nline two"
    assert event.message.html == "<p>line one<br>\nline two</p>"


def test_posting_is_limited_in_bursts_and_per_minute(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    limiter = MemoryRateLimiter()

    def say(body: str) -> int:
        event = post_message(
            session=unit, actor=cast.editor, room=rooms.lobby, body=body, now=clock.now(), limiter=limiter
        )
        return event.seq

    assert [say(f"burst {n}") for n in range(5)] == [1, 2, 3, 4, 5]
    with pytest.raises(PostingTooFast) as burst:
        say("sixth")
    assert burst.value.retry_after == 5
    assert str(burst.value) == "You are posting too fast. Try again in 5 seconds."
    assert post(unit, clock, cast.viewer, rooms.lobby, "others are not limited").seq == 6

    for _ in range(5):  # 5 more every 5 seconds: 30 in the first 25 seconds
        clock.advance(seconds=5)
        for n in range(5):
            say(f"steady {n}")
    clock.advance(seconds=5)  # the burst has room again, the minute has not
    with pytest.raises(PostingTooFast) as minute:
        say("31st")
    assert minute.value.retry_after == 30
    clock.advance(seconds=30)
    assert say("a new minute") == 32


def test_edits_count_against_the_posting_limits(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    limiter = MemoryRateLimiter()
    post_message(
        session=unit, actor=cast.editor, room=rooms.lobby, body="v0", now=clock.now(), limiter=limiter
    )
    for n in range(1, 5):
        edit_message(
            session=unit,
            actor=cast.editor,
            room=rooms.lobby,
            seq=1,
            body=f"v{n}",
            now=clock.now(),
            limiter=limiter,
        )

    with pytest.raises(PostingTooFast):
        edit_message(
            session=unit,
            actor=cast.editor,
            room=rooms.lobby,
            seq=1,
            body="v5",
            now=clock.now(),
            limiter=limiter,
        )


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_an_edit_racing_a_deletion_never_brings_the_text_back(
    settings: Settings, unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.lobby, "regrettable")
    with Session(db.engine(settings)) as slow:
        editor = slow.get(User, cast.editor.id)
        room = slow.get(ChatRoom, rooms.lobby.id)
        assert editor is not None
        assert room is not None
        stale = slow.exec(select(ChatMessage).where(col(ChatMessage.room_id) == room.id)).one()
        assert not stale.deleted  # the slow editor has read the message before the deletion …

        delete_message(session=unit, actor=cast.admin, room=rooms.lobby, seq=1, now=clock.now())
        unit.commit()

        with pytest.raises(Conflict, match="deleted"):  # … and finds out once it holds the room
            edit_message(
                session=slow,
                actor=editor,
                room=room,
                seq=1,
                body="regrettable, but worse",
                now=clock.now(),
                limiter=MemoryRateLimiter(),
            )
        slow.rollback()

    unit.expire_all()
    [tombstone] = messages_after(session=unit, room=rooms.lobby, user=cast.viewer, seq=0)
    assert (tombstone.body, tombstone.deleted, tombstone.change) == ("", True, 2)

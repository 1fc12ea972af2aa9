"""Concurrent writers on PostgreSQL: posts from many threads at once get consecutive, gapless numbers
(and readers never see a later one before an earlier one); the same room opened at once is one room."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session

from quanta import db
from quanta.accounts.models import User
from quanta.chat.access import room_by_public_id
from quanta.chat.service import direct_room, edit_message, lobby, messages_after, post_message
from quanta.ratelimit import MemoryRateLimiter
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import make_user
from tests.chat.conftest import Cast, Rooms, post

WRITERS = 8
POSTS_EACH = 6

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["postgres"], indirect=True)]


def test_concurrent_posts_get_consecutive_numbers(
    settings: Settings, unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    writers = [make_user(unit, clock, f"writer{n}@example.com").id for n in range(WRITERS)]
    room_id = rooms.lobby.public_id
    start = threading.Barrier(WRITERS)
    seen_gaps: list[tuple[int, list[int]]] = []

    def write(writer_id: int | None) -> list[tuple[int, int]]:
        numbers = []
        start.wait()
        for n in range(POSTS_EACH):
            with db.session(settings) as mine:
                writer = mine.get(User, writer_id)
                room = room_by_public_id(session=mine, public_id=room_id, user=writer)
                event = post_message(
                    session=mine,
                    actor=writer,
                    room=room,
                    body=f"{writer_id}:{n}",
                    limiter=MemoryRateLimiter(),
                )
                numbers.append((event.seq, event.change))
            with db.session(settings) as reader:  # what a reconnecting client would fetch now
                me = reader.get(User, writer_id)
                room = room_by_public_id(session=reader, public_id=room_id, user=me)
                views = messages_after(session=reader, room=room, user=me, seq=0, limit=200)
                seqs = [m.seq for m in views]
                if seqs != list(range(1, len(seqs) + 1)):
                    seen_gaps.append((writer_id or 0, seqs))
        return numbers

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(write, writers))

    numbers = sorted(pair for result in results for pair in result)
    total = WRITERS * POSTS_EACH
    assert numbers == [(n, n) for n in range(1, total + 1)]
    assert seen_gaps == []
    unit.expire_all()
    stored = messages_after(session=unit, room=rooms.lobby, user=cast.viewer, seq=0, limit=200)
    assert [m.seq for m in stored] == list(range(1, total + 1))
    for writer_id in writers:  # each writer's own posts keep their order
        mine = [int(m.body.split(":")[1]) for m in stored if m.body.startswith(f"{writer_id}:")]
        assert mine == list(range(POSTS_EACH))


def test_concurrent_posts_and_edits_share_one_change_sequence(
    settings: Settings, unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.strategy, "to be edited")
    room_id = rooms.strategy.public_id
    ids = {"editor": cast.editor.id, "owner": cast.owner.id}

    def act(n: int) -> int:
        now, limiter = clock.now(), MemoryRateLimiter()
        with db.session(settings) as mine:
            who = mine.get(User, ids["editor" if n % 2 else "owner"])
            room = room_by_public_id(session=mine, public_id=room_id, user=who)
            if n % 2:
                return edit_message(
                    session=mine, actor=who, room=room, seq=1, body=f"edit {n}", now=now, limiter=limiter
                ).change
            return post_message(
                session=mine, actor=who, room=room, body=f"post {n}", now=now, limiter=limiter
            ).change

    with ThreadPoolExecutor(max_workers=4) as pool:
        changes = sorted(pool.map(act, range(8)))

    assert changes == list(range(2, 10))


def test_the_same_rooms_opened_at_once_are_one_room(settings: Settings, unit: Session, cast: Cast) -> None:
    people = {"olga": cast.owner.id, "eddie": cast.editor.id}
    start = threading.Barrier(8)

    def open_rooms(n: int) -> tuple[int | None, int | None]:
        me, other = ("olga", "eddie") if n % 2 else ("eddie", "olga")
        start.wait()
        with db.session(settings) as mine:
            user = mine.get(User, people[me])
            assert user is not None
            return lobby(session=mine).id, direct_room(session=mine, user=user, username=other).id

    with ThreadPoolExecutor(max_workers=8) as pool:
        opened = set(pool.map(open_rooms, range(8)))

    assert len(opened) == 1

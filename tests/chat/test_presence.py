"""The presence board: who is in a room and who is typing, expiring by the clock the caller passes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from quanta.chat.presence import PRESENCE_TTL, TYPING_TTL, PresenceBoard
from quanta.testing.clock import FakeClock

ROOM = "cr_lobby000000"


def test_joining_is_news_once_and_shows_in_the_snapshot() -> None:
    board, clock = PresenceBoard(), FakeClock()

    first = board.seen(room=ROOM, user_id=2, username="olga", now=clock.now())
    again = board.seen(room=ROOM, user_id=2, username="olga", now=clock.advance(seconds=10))
    board.seen(room=ROOM, user_id=1, username="eddie", now=clock.now())

    snapshot = board.snapshot(room=ROOM, now=clock.now())
    assert (first, again) == (True, False)
    assert snapshot.to_json() == {"room": ROOM, "present": ["eddie", "olga"], "typing": []}
    assert snapshot.present[1].last_seen == clock.now()


def test_people_not_seen_for_the_ttl_expire() -> None:
    board, clock = PresenceBoard(), FakeClock()
    board.seen(room=ROOM, user_id=1, username="eddie", now=clock.now())
    board.seen(room=ROOM, user_id=2, username="olga", now=clock.advance(seconds=30))

    clock.advance(PRESENCE_TTL - timedelta(seconds=30))
    assert [p.username for p in board.snapshot(room=ROOM, now=clock.now()).present] == ["olga"]
    assert board.expire(now=clock.now()) == {ROOM}
    assert board.expire(now=clock.now()) == set()

    clock.advance(seconds=30)
    assert board.expire(now=clock.now()) == {ROOM}
    assert board.snapshot(room=ROOM, now=clock.now()).present == ()
    assert board.rooms() == set()


def test_a_heartbeat_keeps_someone_present() -> None:
    board, clock = PresenceBoard(), FakeClock()
    board.seen(room=ROOM, user_id=1, username="eddie", now=clock.now())
    for _ in range(5):
        board.seen(room=ROOM, user_id=1, username="eddie", now=clock.advance(seconds=50))

    assert board.expire(now=clock.now()) == set()
    assert board.snapshot(room=ROOM, now=clock.now()).to_json()["present"] == ["eddie"]


def test_typing_lasts_a_few_seconds_after_the_last_keystroke() -> None:
    board, clock = PresenceBoard(), FakeClock()

    started = board.typing(room=ROOM, user_id=1, username="eddie", now=clock.now())
    still = board.typing(room=ROOM, user_id=1, username="eddie", now=clock.advance(seconds=2))
    shown = board.snapshot(room=ROOM, now=clock.advance(TYPING_TTL - timedelta(seconds=1))).typing
    gone = board.snapshot(room=ROOM, now=clock.advance(seconds=1)).typing

    assert (started, still) == (True, False)
    assert shown == ("eddie",)
    assert gone == ()
    assert board.snapshot(room=ROOM, now=clock.now()).to_json()["present"] == ["eddie"]
    assert board.expire(now=clock.now()) == {ROOM}  # the indicator ended
    assert board.typing(room=ROOM, user_id=1, username="eddie", now=clock.now()) is True


def test_stopping_typing_and_leaving() -> None:
    board, clock = PresenceBoard(), FakeClock()
    board.typing(room=ROOM, user_id=1, username="eddie", now=clock.now())

    assert board.stopped_typing(room=ROOM, user_id=1, now=clock.now()) is True
    assert board.stopped_typing(room=ROOM, user_id=1, now=clock.now()) is False
    assert board.snapshot(room=ROOM, now=clock.now()).typing == ()
    assert board.left(room=ROOM, user_id=1) is True
    assert board.left(room=ROOM, user_id=1) is False
    assert board.rooms() == set()


def test_rooms_are_separate() -> None:
    board, clock = PresenceBoard(), FakeClock()
    board.seen(room="cr_a00000000000", user_id=1, username="eddie", now=clock.now())
    board.typing(room="cr_b00000000000", user_id=2, username="olga", now=clock.now())

    assert board.snapshot(room="cr_a00000000000", now=clock.now()).to_json() == {
        "room": "cr_a00000000000",
        "present": ["eddie"],
        "typing": [],
    }
    assert board.rooms() == {"cr_a00000000000", "cr_b00000000000"}


def test_lifetimes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        PresenceBoard(ttl=timedelta(0))

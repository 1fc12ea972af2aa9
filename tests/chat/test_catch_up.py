"""Reconnecting clients: paging ``messages_after`` from any number yields exactly the messages missed, in
order, once each; replaying ``changes_after`` from any change number over the events already seen
ends in the same state as loading the room afresh, edits and deletions included."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from quanta.chat.events import ChatEvent
from quanta.chat.models import ChatRoom, MessageView
from quanta.chat.service import (
    changes_after,
    competition_room,
    delete_message,
    edit_message,
    messages_after,
)
from quanta.ratelimit import MemoryRateLimiter
from quanta.testing.clock import FakeClock
from tests.chat.conftest import Cast, post

_rooms = itertools.count()
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# A history: each step posts a message, edits one, or deletes one (by index into those posted so far).
steps = st.lists(
    st.one_of(
        st.just(("post", 0)),
        st.tuples(st.just("edit"), st.integers(0, 50)),
        st.tuples(st.just("delete"), st.integers(0, 50)),
    ),
    max_size=30,
)


def fresh_room(unit: Session, clock: FakeClock) -> ChatRoom:
    """A new, empty room for each example (the database is shared by the examples of a test)."""
    room = competition_room(session=unit, ref=f"catch-up-{next(_rooms)}", now=clock.now())
    unit.commit()
    return room


Step = tuple[str, int]


def play(unit: Session, clock: FakeClock, cast: Cast, room: ChatRoom, history: list[Step]) -> list[ChatEvent]:
    """Run ``history`` in ``room``; the events, in order (steps on nothing are skipped)."""
    events: list[ChatEvent] = []
    live: list[int] = []
    for n, (action, index) in enumerate(history):
        clock.advance(seconds=1)
        if action == "post":
            events.append(post(unit, clock, cast.editor, room, f"message {n}"))
            live.append(events[-1].seq)
            continue
        if not live:
            continue
        seq = live[index % len(live)]
        if action == "edit":
            event = edit_message(
                session=unit,
                actor=cast.editor,
                room=room,
                seq=seq,
                body=f"edited at step {n}",
                now=clock.now(),
                limiter=MemoryRateLimiter(),
            )
        else:
            event = delete_message(session=unit, actor=cast.editor, room=room, seq=seq, now=clock.now())
            live.remove(seq)
        unit.commit()
        events.append(event)
    return events


@EXAMPLES
@given(history=steps, start=st.integers(0, 40), page=st.integers(1, 7))
def test_paging_after_any_seq_yields_exactly_the_missing_messages(
    unit: Session, cast: Cast, history: list[Step], start: int, page: int
) -> None:
    clock = FakeClock()
    room = fresh_room(unit, clock)
    events = play(unit, clock, cast, room, history)
    last = max((e.seq for e in events), default=0)
    start = min(start, last)

    got: list[MessageView] = []
    cursor = start
    while True:
        batch = messages_after(session=unit, room=room, user=cast.viewer, seq=cursor, limit=page)
        got += batch
        if len(batch) < page:
            break
        cursor = batch[-1].seq

    assert [m.seq for m in got] == list(range(start + 1, last + 1))
    final = {e.seq: e.message for e in events}  # the last event of each message is its state now
    assert got == [final[m.seq] for m in got]


@EXAMPLES
@given(history=steps, seen=st.integers(0, 40), page=st.integers(1, 7))
def test_replaying_changes_after_any_point_converges_on_the_room(
    unit: Session, cast: Cast, history: list[Step], seen: int, page: int
) -> None:
    clock = FakeClock()
    room = fresh_room(unit, clock)
    events = play(unit, clock, cast, room, history)
    assert [e.change for e in events] == list(range(1, len(events) + 1))
    seen = min(seen, len(events))

    client: dict[int, MessageView] = {}
    for event in events[:seen]:  # what the client applied live before the connection dropped
        client[event.seq] = event.message
    cursor = seen
    while True:
        batch = changes_after(session=unit, room=room, user=cast.viewer, change=cursor, limit=page)
        for view in batch:
            assert view.change > cursor
            client[view.seq] = view
            cursor = view.change
        if len(batch) < page:
            break

    fresh = messages_after(session=unit, room=room, user=cast.viewer, seq=0, limit=200)
    assert [client[seq] for seq in sorted(client)] == fresh

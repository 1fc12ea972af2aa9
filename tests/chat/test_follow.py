"""The client's merge rules (``RoomCopy``, as in components/chat.jsx) against any delivery of the events:
lost, repeated or out of order, interleaved with new posts, edits and deletions and with catch-up pages of
any size. Whatever happens, once the room's newest event has arrived (all others may be lost) the copy
holds exactly what a fresh load returns — never a duplicate, never a gap, never an edit or deletion
missed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from quanta.chat.errors import Conflict
from quanta.chat.events import ChatEvent
from quanta.chat.models import ChatRoom
from quanta.chat.service import changes_after, competition_room, delete_message, edit_message, post_message
from quanta.ratelimit import MemoryRateLimiter
from quanta.testing.clock import FakeClock
from tests.chat.conftest import Cast
from tests.chat.follow import Page, RoomCopy

Step = tuple[str, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(["post", "post", "edit", "delete", "deliver", "repeat", "drop", "drop"]),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=40,
)


class Room:
    """A room where ``cast.owner`` posts, edits and deletes; the events wait in ``in_flight``."""

    def __init__(self, unit: Session, clock: FakeClock, cast: Cast) -> None:
        self.unit, self.clock, self.cast = unit, clock, cast
        ref = f"cup-{uuid.uuid4().hex[:12]}"
        self.room: ChatRoom = competition_room(session=unit, ref=ref, title="Cup", now=clock.now())
        unit.commit()
        self.in_flight: list[ChatEvent] = []
        self.posted = 0

    def act(self, kind: str, n: int) -> None:
        self.clock.advance(seconds=2)
        now, actor, room = self.clock.now(), self.cast.owner, self.room
        limiter = MemoryRateLimiter()
        if kind == "post" or self.posted == 0:
            event = post_message(
                session=self.unit, actor=actor, room=room, body=f"m{n}", now=now, limiter=limiter
            )
            self.posted += 1
        else:
            seq = n % self.posted + 1
            try:
                if kind == "edit":
                    body = f"edited {n} at {now:%H%M%S}"
                    event = edit_message(
                        session=self.unit,
                        actor=actor,
                        room=room,
                        seq=seq,
                        body=body,
                        now=now,
                        limiter=limiter,
                    )
                else:
                    event = delete_message(session=self.unit, actor=actor, room=room, seq=seq, now=now)
            except Conflict:  # editing or deleting a deleted message
                self.unit.rollback()
                return
        self.unit.commit()
        self.in_flight.append(event)

    def fetch(self, after: int, limit: int) -> Page:
        self.unit.expire_all()
        room = self.unit.get(ChatRoom, self.room.id)
        assert room is not None
        items = changes_after(
            session=self.unit,
            room=room,
            user=self.cast.editor,
            change=after,
            limit=limit,
            now=self.clock.now(),
        )
        return [m.model_dump(mode="json") for m in items], room.last_change

    def fresh(self) -> dict[int, Any]:
        items, _ = self.fetch(0, 200)
        return {m["seq"]: m for m in items}


def deliver(copy: RoomCopy, room: Room, event: ChatEvent, limit: int) -> None:
    copy.apply(event.message.model_dump(mode="json"))
    if copy.behind:
        copy.catch_up(room.fetch, limit)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=steps, limit=st.integers(1, 4))
def test_any_delivery_ends_in_the_state_of_a_fresh_load(
    unit: Session, clock: FakeClock, cast: Cast, script: list[Step], limit: int
) -> None:
    room, copy = Room(unit, clock, cast), RoomCopy()
    for kind, n in script:
        if kind in {"post", "edit", "delete"}:
            room.act(kind, n)
        elif room.in_flight:
            event = room.in_flight[n % len(room.in_flight)]
            if kind != "repeat":
                room.in_flight.remove(event)
            if kind != "drop":
                deliver(copy, room, event, limit)
    room.act("post", 999)  # the room's newest event arrives; every other one still in flight is lost
    deliver(copy, room, room.in_flight[-1], limit)

    fresh = room.fresh()
    assert copy.messages == fresh
    assert sorted(copy.messages) == list(range(1, len(fresh) + 1))
    assert not copy.behind
    assert copy.last_change == max(m["change"] for m in fresh.values())


def test_a_copy_that_is_up_to_date_reads_nothing(unit: Session, clock: FakeClock, cast: Cast) -> None:
    room, copy = Room(unit, clock, cast), RoomCopy()
    for n in range(5):
        room.act("post" if n % 2 == 0 else "edit", n)
    for event in room.in_flight:
        deliver(copy, room, event, limit=2)
    assert copy.catch_ups == 0
    assert copy.messages == room.fresh()
    clock.advance(timedelta(minutes=1))

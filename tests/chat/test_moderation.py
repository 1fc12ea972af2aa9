"""Moderation: mutes and bans with an end, who may be given one, lifting them, reports and their
resolution; every action in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from quanta.accounts.models import AuditEvent
from quanta.chat.errors import Conflict, Forbidden, InvalidInput, NotFound, RoomNotFound
from quanta.chat.models import RestrictionKind
from quanta.chat.service import (
    ban_user,
    lift_restriction,
    list_reports,
    list_restrictions,
    messages_after,
    mute_user,
    report_message,
    resolve_report,
)
from quanta.testing.clock import FakeClock
from tests.chat.conftest import BACKENDS, Cast, Rooms, post


def chat_audit(unit: Session) -> list[tuple[str, int | None, int | None, dict[str, object]]]:
    rows = unit.exec(
        select(AuditEvent).where(col(AuditEvent.kind).startswith("chat.")).order_by(col(AuditEvent.id))
    ).all()
    return [(r.kind, r.actor_id, r.subject_id, r.detail) for r in rows]


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_mutes_and_bans_are_listed_audited_and_lifted(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    until = clock.now() + timedelta(hours=2)
    muted = mute_user(
        session=unit,
        actor=cast.owner,
        room=rooms.competition,
        username="eddie",
        until=until,
        reason="flooding",
        now=clock.now(),
    )
    ban_user(session=unit, actor=cast.admin, room=rooms.competition, username="sam", now=clock.now())
    unit.commit()

    assert (muted.username, muted.kind, muted.until, muted.reason, muted.created_by) == (
        "eddie",
        RestrictionKind.MUTE,
        until,
        "flooding",
        "olga",
    )
    listed = list_restrictions(session=unit, actor=cast.owner, room=rooms.competition, now=clock.now())
    assert sorted((r.username, r.kind.value, r.until) for r in listed) == [
        ("eddie", "mute", until),
        ("sam", "ban", None),
    ]
    assert lift_restriction(
        session=unit,
        actor=cast.owner,
        room=rooms.competition,
        username="sam",
        kind=RestrictionKind.BAN,
        now=clock.now(),
    )
    assert not lift_restriction(
        session=unit,
        actor=cast.owner,
        room=rooms.competition,
        username="sam",
        kind=RestrictionKind.BAN,
        now=clock.now(),
    )
    unit.commit()
    clock.advance(hours=2)
    assert list_restrictions(session=unit, actor=cast.owner, room=rooms.competition, now=clock.now()) == []
    room = {"room": rooms.competition.public_id, "room_kind": "competition"}
    assert chat_audit(unit) == [
        (
            "chat.user_muted",
            cast.owner.id,
            cast.editor.id,
            {**room, "until": until.isoformat(), "reason": "flooding"},
        ),
        ("chat.user_banned", cast.admin.id, cast.stranger.id, {**room, "until": None, "reason": ""}),
        ("chat.restriction_lifted", cast.owner.id, cast.stranger.id, {**room, "restriction": "ban"}),
    ]


def test_muting_again_moves_the_end(unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms) -> None:
    first = clock.now() + timedelta(minutes=5)
    later = clock.now() + timedelta(days=1)
    for until in (first, later):
        mute_user(
            session=unit, actor=cast.admin, room=rooms.lobby, username="vic", until=until, now=clock.now()
        )
    unit.commit()

    clock.advance(minutes=10)
    [restriction] = list_restrictions(session=unit, actor=cast.admin, room=rooms.lobby, now=clock.now())
    assert restriction.until == later


def test_moderators_and_oneself_cannot_be_restricted_and_ends_lie_ahead(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    def mute(actor_name: str, target: str, until_minutes: int | None = 5) -> None:
        until = clock.now() + timedelta(minutes=until_minutes) if until_minutes is not None else None
        mute_user(
            session=unit,
            actor=getattr(cast, actor_name),
            room=rooms.strategy,
            username=target,
            until=until,
            now=clock.now(),
        )

    with pytest.raises(Forbidden, match="Moderators"):
        mute("owner", "ada")
    with pytest.raises(Forbidden, match="Moderators"):
        mute("admin", "olga")
    with pytest.raises(InvalidInput, match="yourself"):
        mute("owner", "olga")
    with pytest.raises(InvalidInput, match="future") as past:
        mute("owner", "eddie", until_minutes=-1)
    assert past.value.field == "until"
    with pytest.raises(NotFound, match="nobody-here"):
        mute("owner", "nobody-here")
    with pytest.raises(Forbidden, match="owner and site admins"):
        mute("editor", "vic")
    mute("owner", "eddie", until_minutes=None)


def test_direct_rooms_have_no_moderators(unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms) -> None:
    with pytest.raises(Forbidden, match="Direct messages have no moderators"):
        ban_user(session=unit, actor=cast.owner, room=rooms.direct, username="eddie", now=clock.now())
    with pytest.raises(RoomNotFound):
        ban_user(session=unit, actor=cast.admin, room=rooms.direct, username="eddie", now=clock.now())


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_reports_reach_the_rooms_moderators_who_remove_or_dismiss(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.strategy, "buy my course")
    post(unit, clock, cast.viewer, rooms.strategy, "fine message")
    post(unit, clock, cast.editor, rooms.lobby, "lobby spam")
    spam = report_message(
        session=unit, actor=cast.viewer, room=rooms.strategy, seq=1, reason=" advertising ", now=clock.now()
    )
    fine = report_message(session=unit, actor=cast.editor, room=rooms.strategy, seq=2, reason="meh")
    report_message(session=unit, actor=cast.viewer, room=rooms.lobby, seq=1, reason="spam")
    unit.commit()

    assert (spam.reporter, spam.reason, spam.message.body, spam.room_kind.value) == (
        "vic",
        "advertising",
        "buy my course",
        "strategy",
    )
    owner_sees = list_reports(session=unit, actor=cast.owner)
    assert [(r.room, r.message.seq) for r in owner_sees] == [
        (rooms.strategy.public_id, 2),
        (rooms.strategy.public_id, 1),
    ]
    assert len(list_reports(session=unit, actor=cast.admin)) == 3
    assert list_reports(session=unit, actor=cast.editor) == []
    with pytest.raises(Forbidden):
        list_reports(session=unit, actor=cast.editor, room=rooms.strategy)

    event = resolve_report(session=unit, actor=cast.owner, report_id=spam.id, remove=True, now=clock.now())
    assert resolve_report(session=unit, actor=cast.owner, report_id=fine.id, remove=False) is None
    unit.commit()

    assert event is not None
    assert event.message.deleted
    assert event.message.moderated
    assert list_reports(session=unit, actor=cast.owner) == []
    settled = list_reports(session=unit, actor=cast.owner, room=rooms.strategy, include_resolved=True)
    assert [(r.id, r.removed, r.resolved_by) for r in settled] == [
        (fine.id, False, "olga"),
        (spam.id, True, "olga"),
    ]
    with pytest.raises(Conflict):
        resolve_report(session=unit, actor=cast.owner, report_id=spam.id, remove=False)
    room = {"room": rooms.strategy.public_id, "room_kind": "strategy"}
    assert chat_audit(unit) == [
        ("chat.message_removed", cast.owner.id, cast.editor.id, {**room, "seq": 1, "report": spam.id}),
        ("chat.report_dismissed", cast.owner.id, cast.viewer.id, {**room, "seq": 2, "report": fine.id}),
    ]


def test_only_those_handling_a_room_resolve_its_reports(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.lobby, "hm")
    report = report_message(session=unit, actor=cast.viewer, room=rooms.lobby, seq=1, reason="rude")
    unit.commit()

    for person in (cast.owner, cast.editor, cast.viewer):
        with pytest.raises(NotFound, match="No such report"):
            resolve_report(session=unit, actor=person, report_id=report.id, remove=True)
    with pytest.raises(NotFound):
        resolve_report(session=unit, actor=cast.admin, report_id=report.id + 100, remove=True)


def test_reports_of_direct_messages_go_to_the_site_admins(
    unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms
) -> None:
    post(unit, clock, cast.editor, rooms.direct, "threatening words")
    report = report_message(session=unit, actor=cast.owner, room=rooms.direct, seq=1, reason="threats")
    unit.commit()

    [seen] = list_reports(session=unit, actor=cast.admin)
    assert (seen.id, seen.message.body) == (report.id, "threatening words")
    assert list_reports(session=unit, actor=cast.admin, room=rooms.direct)[0].id == report.id
    with pytest.raises(RoomNotFound):  # admins still may not read the conversation itself
        messages_after(session=unit, room=rooms.direct, user=cast.admin, seq=0)
    event = resolve_report(session=unit, actor=cast.admin, report_id=report.id, remove=True, now=clock.now())
    assert event is not None
    assert event.message.deleted
    assert messages_after(session=unit, room=rooms.direct, user=cast.owner, seq=0)[0].deleted


def test_reports_are_checked(unit: Session, clock: FakeClock, cast: Cast, rooms: Rooms) -> None:
    post(unit, clock, cast.editor, rooms.lobby, "one")
    report_message(session=unit, actor=cast.viewer, room=rooms.lobby, seq=1, reason="x")

    with pytest.raises(Conflict, match="already"):
        report_message(session=unit, actor=cast.viewer, room=rooms.lobby, seq=1, reason="again")
    with pytest.raises(Forbidden, match="your own"):
        report_message(session=unit, actor=cast.editor, room=rooms.lobby, seq=1, reason="me")
    with pytest.raises(InvalidInput, match="Say what"):
        report_message(session=unit, actor=cast.stranger, room=rooms.lobby, seq=1, reason="  ")
    with pytest.raises(InvalidInput, match="under 500"):
        report_message(session=unit, actor=cast.stranger, room=rooms.lobby, seq=1, reason="x" * 501)
    with pytest.raises(RoomNotFound):
        report_message(session=unit, actor=cast.stranger, room=rooms.strategy, seq=1, reason="x")

"""``/api/v1/chat``: the live chat for the signed-in browser — rooms, history, posting, moderation,
reports, presence and notifications (docs/chat.md).

These routes authenticate with the session cookie (``quanta.accounts.service.session_token_in``), like
the pages that call them; a request without a valid session is ``401``. Writes must come from Quanta's
own pages (``Origin``, or the ``X-Requested-With: quanta`` header a cross-site form cannot send).

Who may do what is ``quanta.chat.access``: a room one may not read is ``404``, a readable one where the
action is not allowed ``403`` (muted: ``403`` saying until when), posting too fast ``429`` with
``retry_after``. Every post, edit and deletion is committed first, then published on the room's
broadcast topic (``chat.<room id>``) through the app's ``ChatLive`` (``app.state.quanta_chat_live``,
installed by ``quanta_app.chat``); without one the API works, only nothing is pushed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from quanta import db
from quanta.accounts.models import User
from quanta.accounts.service import get_profile
from quanta.api.deps import (
    LimiterDep,
    NowDep,
    QuantaRoute,
    SettingsDep,
    browser_session,
    not_signed_in,
    require_same_origin,
)
from quanta.chat import service
from quanta.chat.errors import RoomNotFound
from quanta.chat.events import ChatEvent
from quanta.chat.live import ChatLive, PresenceAction
from quanta.chat.models import (
    MAX_BODY,
    MAX_REASON,
    ChatRoom,
    MessageView,
    NotificationView,
    ReportView,
    RestrictionKind,
    RestrictionView,
    RoomKind,
    RoomView,
)
from quanta.settings import Settings
from quanta.workspace.models import Strategy

router = APIRouter(prefix="/chat", tags=["chat"], route_class=QuantaRoute)

_T = TypeVar("_T")
RoomId = Annotated[str, Path(min_length=1, max_length=40, description="A room id (`cr_…`).")]
Seq = Annotated[int, Path(ge=1, description="A message's number in its room.")]
Limit = Annotated[int, Query(ge=1, le=200)]
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "quanta"
_SQLITE_TURNS = threading.Lock()


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoomOpen(_Input):
    """Open (make on first use) a room: the lobby, a strategy's (``ref``: its ``st_…`` id), a
    competition's that exists (``ref``: the competition's id), or a conversation with ``username``."""

    kind: RoomKind
    ref: str = Field(default="", max_length=64)
    username: str = Field(default="", max_length=32)


class MessageIn(_Input):
    """A message's markdown."""

    body: str = Field(min_length=1, max_length=MAX_BODY)


class ReportIn(_Input):
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class RestrictionIn(_Input):
    """Mute or ban ``username``; for ``minutes`` (None: until lifted)."""

    username: str = Field(min_length=1, max_length=32)
    kind: RestrictionKind
    minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 365)
    reason: str = Field(default="", max_length=MAX_REASON)


class ResolveIn(_Input):
    remove: bool


class PresenceIn(_Input):
    """What the browser says: ``here`` (join, heartbeat), ``typing``, ``idle`` (sent or cleared), ``left``."""

    state: PresenceAction


class ReadIn(_Input):
    """Mark these notifications read (None: all)."""

    ids: list[int] | None = Field(default=None, max_length=200)


class RoomList(BaseModel):
    items: list[RoomView]
    unread_notifications: int


class MessagePage(BaseModel):
    """Messages in ``seq`` order, with the room as the caller sees it."""

    room: RoomView
    items: list[MessageView]


class ChangePage(BaseModel):
    """Messages changed after a change number, in change order, in their present state; ``last_change``
    is the room's newest change when read (every change up to it is in this page or an earlier one once
    a page comes back shorter than asked)."""

    items: list[MessageView]
    last_change: int


class PresenceAnswer(BaseModel):
    unread_notifications: int


class NotificationList(BaseModel):
    items: list[NotificationView]
    unread: int


class Counted(BaseModel):
    count: int


# ---- plumbing ------------------------------------------------------------------------------------------


def chat_live(request: Request) -> ChatLive | None:
    """The app's chat topics (None when the API runs without the broadcast hub)."""
    live: ChatLive | None = getattr(request.app.state, "quanta_chat_live", None)
    return live


def _same_site(request: Request, settings: Settings) -> None:
    require_same_origin(
        request,
        settings=settings,
        csrf_ok=lambda _: request.headers.get(CSRF_HEADER, "").lower() == CSRF_VALUE,
        csrf_token=None,
    )


async def _as_user(
    request: Request, settings: Settings, now: datetime, work: Callable[[Session, User], _T]
) -> _T:
    """``work(unit, user)`` for the session cookie's person in one committed unit of work (a thread).

    On SQLite one unit of work runs at a time in this process: concurrent writers would otherwise
    wait for the file lock in SQLite's busy handler, which sleeps, and a busy room's posts would take
    seconds instead of milliseconds (bench/bench_chat.py). PostgreSQL locks per room row instead.
    """
    engine = db.engine(settings)
    serial = _SQLITE_TURNS if engine.dialect.name == "sqlite" else contextlib.nullcontext()

    def run() -> _T:
        with serial, Session(engine) as unit:
            try:
                current = browser_session(request, session=unit, now=now)
                if current is None:
                    raise not_signed_in()
                result = work(unit, current.user)
                unit.commit()
            except Exception:
                unit.rollback()
                raise
            return result

    return await run_in_threadpool(run)


async def _publish(request: Request, event: ChatEvent | None) -> None:
    live = chat_live(request)
    if live is not None and event is not None:
        await live.publish(event)


def _room(unit: Session, user: User, room: str, now: datetime) -> ChatRoom:
    return service.room_by_public_id(session=unit, public_id=room, user=user, now=now)


def _open(unit: Session, user: User, wanted: RoomOpen, now: datetime) -> ChatRoom:
    match wanted.kind:
        case RoomKind.LOBBY:
            return service.lobby(session=unit, now=now)
        case RoomKind.STRATEGY:
            strategy = unit.exec(select(Strategy).where(col(Strategy.public_id) == wanted.ref)).first()
            if strategy is None:
                raise RoomNotFound
            return service.strategy_room(session=unit, user=user, strategy=strategy, now=now)
        case RoomKind.COMPETITION:  # made by the competitions module; opened here
            room = unit.exec(
                select(ChatRoom).where(
                    col(ChatRoom.kind) == RoomKind.COMPETITION, col(ChatRoom.ref) == wanted.ref
                )
            ).first()
            if room is None:
                raise RoomNotFound
            return room
        case RoomKind.DIRECT:
            return service.direct_room(session=unit, user=user, username=wanted.username, now=now)


# ---- rooms ---------------------------------------------------------------------------------------------


@router.get("/rooms", response_model=RoomList)
async def list_rooms(*, request: Request, settings: SettingsDep, now: NowDep) -> RoomList:
    """Your rooms: the lobby, your strategies' and the competitions' rooms, your conversations."""

    def work(unit: Session, user: User) -> RoomList:
        return RoomList(
            items=service.my_rooms(session=unit, user=user, now=now),
            unread_notifications=service.unread_notification_count(session=unit, user=user),
        )

    return await _as_user(request, settings, now, work)


@router.post("/rooms", response_model=RoomView)
async def open_room(*, wanted: RoomOpen, request: Request, settings: SettingsDep, now: NowDep) -> RoomView:
    """Open a room (made on first use); 404 if you may not read it."""
    _same_site(request, settings)

    def work(unit: Session, user: User) -> RoomView:
        return service.room_view(session=unit, room=_open(unit, user, wanted, now), user=user, now=now)

    return await _as_user(request, settings, now, work)


@router.get("/rooms/{room}", response_model=RoomView)
async def get_room(*, room: RoomId, request: Request, settings: SettingsDep, now: NowDep) -> RoomView:
    """A room as you see it: what you may do, its newest ``seq`` and ``change``."""

    def work(unit: Session, user: User) -> RoomView:
        return service.room_view(session=unit, room=_room(unit, user, room, now), user=user, now=now)

    return await _as_user(request, settings, now, work)


# ---- history -------------------------------------------------------------------------------------------


@router.get("/rooms/{room}/messages", response_model=MessagePage)
async def list_messages(
    *,
    room: RoomId,
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    before: Annotated[int | None, Query(ge=1, description="The page before this seq (older).")] = None,
    after: Annotated[int | None, Query(ge=0, description="The page after this seq (newer).")] = None,
    limit: Limit = 50,
) -> MessagePage:
    """A page of messages, oldest first: the newest page by default, ``before`` for older ones,
    ``after`` for the ones after a number (until a page comes back short)."""

    def work(unit: Session, user: User) -> MessagePage:
        found = _room(unit, user, room, now)
        view = service.room_view(session=unit, room=found, user=user, now=now)
        if after is not None:
            items = service.messages_after(
                session=unit, room=found, user=user, seq=after, limit=limit, now=now
            )
        else:
            items = service.messages_before(
                session=unit, room=found, user=user, seq=before, limit=limit, now=now
            )
        return MessagePage(room=view, items=items)

    return await _as_user(request, settings, now, work)


@router.get("/rooms/{room}/changes", response_model=ChangePage)
async def list_changes(
    *,
    room: RoomId,
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    after: Annotated[int, Query(ge=0, description="The last change number you hold.")],
    limit: Limit = 100,
) -> ChangePage:
    """What changed after change ``after`` (posts, edits, deletions): how a reconnecting client catches up."""

    def work(unit: Session, user: User) -> ChangePage:
        found = _room(unit, user, room, now)
        last = found.last_change
        items = service.changes_after(session=unit, room=found, user=user, change=after, limit=limit, now=now)
        return ChangePage(items=items, last_change=last)

    return await _as_user(request, settings, now, work)


# ---- messages ------------------------------------------------------------------------------------------


@router.post("/rooms/{room}/messages", response_model=MessageView, status_code=201)
async def post_message(
    *,
    room: RoomId,
    message: MessageIn,
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    limiter: LimiterDep,
) -> MessageView:
    """Post a message (markdown); everyone in the room gets it live."""
    _same_site(request, settings)

    def work(unit: Session, user: User) -> ChatEvent:
        found = _room(unit, user, room, now)
        return service.post_message(
            session=unit, actor=user, room=found, body=message.body, now=now, limiter=limiter
        )

    event = await _as_user(request, settings, now, work)
    await _publish(request, event)
    return event.message


@router.patch("/rooms/{room}/messages/{seq}", response_model=MessageView)
async def edit_message(
    *,
    room: RoomId,
    seq: Seq,
    message: MessageIn,
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    limiter: LimiterDep,
) -> MessageView:
    """Edit your own message (within 24 hours)."""
    _same_site(request, settings)

    def work(unit: Session, user: User) -> ChatEvent:
        found = _room(unit, user, room, now)
        return service.edit_message(
            session=unit, actor=user, room=found, seq=seq, body=message.body, now=now, limiter=limiter
        )

    event = await _as_user(request, settings, now, work)
    await _publish(request, event)
    return event.message


@router.delete("/rooms/{room}/messages/{seq}", response_model=MessageView)
async def delete_message(
    *, room: RoomId, seq: Seq, request: Request, settings: SettingsDep, now: NowDep
) -> MessageView:
    """Delete your own message, or anyone's as a moderator; the tombstone keeps its number."""
    _same_site(request, settings)

    def work(unit: Session, user: User) -> ChatEvent:
        return service.delete_message(
            session=unit, actor=user, room=_room(unit, user, room, now), seq=seq, now=now
        )

    event = await _as_user(request, settings, now, work)
    await _publish(request, event)
    return event.message


@router.post("/rooms/{room}/messages/{seq}/report", response_model=ReportView, status_code=201)
async def report_message(
    *, room: RoomId, seq: Seq, report: ReportIn, request: Request, settings: SettingsDep, now: NowDep
) -> ReportView:
    """Report someone else's message to the room's moderators (once)."""
    _same_site(request, settings)

    def work(unit: Session, user: User) -> ReportView:
        found = _room(unit, user, room, now)
        return service.report_message(
            session=unit, actor=user, room=found, seq=seq, reason=report.reason, now=now
        )

    return await _as_user(request, settings, now, work)


# ---- moderation ----------------------------------------------------------------------------------------


@router.get("/rooms/{room}/restrictions", response_model=list[RestrictionView])
async def list_restrictions(
    *, room: RoomId, request: Request, settings: SettingsDep, now: NowDep
) -> list[RestrictionView]:
    """The mutes and bans in force (moderators)."""

    def work(unit: Session, user: User) -> list[RestrictionView]:
        return service.list_restrictions(session=unit, actor=user, room=_room(unit, user, room, now), now=now)

    return await _as_user(request, settings, now, work)


@router.post("/rooms/{room}/restrictions", response_model=RestrictionView, status_code=201)
async def restrict(
    *, room: RoomId, restriction: RestrictionIn, request: Request, settings: SettingsDep, now: NowDep
) -> RestrictionView:
    """Mute (no posting) or ban (no reading either) someone, for some minutes or until lifted."""
    _same_site(request, settings)
    until = now + timedelta(minutes=restriction.minutes) if restriction.minutes is not None else None

    def work(unit: Session, user: User) -> RestrictionView:
        found = _room(unit, user, room, now)
        act = service.ban_user if restriction.kind is RestrictionKind.BAN else service.mute_user
        return act(
            session=unit,
            actor=user,
            room=found,
            username=restriction.username,
            until=until,
            reason=restriction.reason,
            now=now,
        )

    view = await _as_user(request, settings, now, work)
    live = chat_live(request)
    if live is not None and restriction.kind is RestrictionKind.BAN:
        await live.recheck(view.room)  # everyone following the room asks again; the banned person is refused
    return view


@router.delete("/rooms/{room}/restrictions/{kind}/{username}", status_code=204)
async def lift(
    *,
    room: RoomId,
    kind: RestrictionKind,
    username: Annotated[str, Path(min_length=1, max_length=32)],
    request: Request,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Lift a mute or ban (404 if none is in force)."""
    _same_site(request, settings)

    def work(unit: Session, user: User) -> bool:
        found = _room(unit, user, room, now)
        return service.lift_restriction(
            session=unit, actor=user, room=found, username=username, kind=kind, now=now
        )

    if not await _as_user(request, settings, now, work):
        return Response(status_code=404)
    return Response(status_code=204)


@router.get("/reports", response_model=list[ReportView])
async def list_reports(
    *,
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    room: Annotated[str | None, Query(max_length=40)] = None,
    include_resolved: bool = False,
    limit: Limit = 50,
) -> list[ReportView]:
    """Open reports of the rooms you moderate (one room with ``room``)."""

    def work(unit: Session, user: User) -> list[ReportView]:
        found = _room(unit, user, room, now) if room is not None else None
        return service.list_reports(
            session=unit, actor=user, room=found, include_resolved=include_resolved, limit=limit, now=now
        )

    return await _as_user(request, settings, now, work)


@router.post("/reports/{report_id}/resolve", status_code=204)
async def resolve_report(
    *,
    report_id: Annotated[int, Path(ge=1)],
    resolution: ResolveIn,
    request: Request,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Remove the reported message (``remove: true``) or dismiss the report."""
    _same_site(request, settings)

    def work(unit: Session, user: User) -> ChatEvent | None:
        return service.resolve_report(
            session=unit, actor=user, report_id=report_id, remove=resolution.remove, now=now
        )

    await _publish(request, await _as_user(request, settings, now, work))
    return Response(status_code=204)


# ---- presence and notifications ------------------------------------------------------------------------


@router.post("/rooms/{room}/presence", response_model=PresenceAnswer)
async def presence(
    *, room: RoomId, said: PresenceIn, request: Request, settings: SettingsDep, now: NowDep
) -> PresenceAnswer:
    """Here (join, and a heartbeat every 20 s), typing, idle or left; answers your unread mentions."""
    _same_site(request, settings)

    def work(unit: Session, user: User) -> tuple[int, str, int]:
        _room(unit, user, room, now)
        username = get_profile(session=unit, user=user).username or f"user-{user.id}"
        return user.id or 0, username, service.unread_notification_count(session=unit, user=user)

    user_id, username, unread = await _as_user(request, settings, now, work)
    live = chat_live(request)
    if live is not None:
        await live.presence(room=room, user_id=user_id, username=username, action=said.state)
    return PresenceAnswer(unread_notifications=unread)


@router.get("/notifications", response_model=NotificationList)
async def list_notifications(
    *,
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    unread_only: bool = False,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Limit = 50,
) -> NotificationList:
    """Your mentions, newest first."""

    def work(unit: Session, user: User) -> NotificationList:
        items = service.list_notifications(
            session=unit, user=user, unread_only=unread_only, before_id=before_id, limit=limit, now=now
        )
        return NotificationList(
            items=items, unread=service.unread_notification_count(session=unit, user=user)
        )

    return await _as_user(request, settings, now, work)


@router.post("/notifications/read", response_model=Counted)
async def mark_read(*, marked: ReadIn, request: Request, settings: SettingsDep, now: NowDep) -> Counted:
    """Mark your notifications read (all, or the given ids)."""
    _same_site(request, settings)

    def work(unit: Session, user: User) -> Counted:
        return Counted(count=service.mark_notifications_read(session=unit, user=user, ids=marked.ids))

    return await _as_user(request, settings, now, work)

"""State of /competitions (the list, and the form organisers create one with) and /competitions/[id] (the
terms, entering a strategy version, the entries; the live board itself bypasses Reflex state: the
``components/leaderboard.jsx`` component follows the hub topic ``competition.<id>.board``).

Handlers resolve the session again, call one ``quanta.competitions.service`` use case and keep small rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import reflex as rx
from pydantic import ValidationError
from sqlmodel import Session

from quanta import db
from quanta.accounts import AccountsError
from quanta.accounts.models import User
from quanta.accounts.service import list_organizations
from quanta.competitions import service
from quanta.competitions.errors import InvalidInput
from quanta.competitions.models import (
    Competition,
    CompetitionCreate,
    CompetitionStatus,
    EntryStatus,
    Metric,
    Mode,
)
from quanta.paper.events import OrderKind
from quanta.workspace.service import list_own_strategies
from state.auth import AuthState
from state.views import invalid, last_segment, text, when

FOLLOW_SECONDS = 2.0
FOLLOW_FOR = 3600.0
FINISHED = CompetitionStatus.FINISHED.value
METRICS = [m.value for m in Metric]
MODES = [m.value for m in Mode]
ORDER_KINDS = [k.value for k in OrderKind]


@dataclasses.dataclass(frozen=True)
class CompetitionRow:
    """One competition in the list."""

    id: str = ""
    title: str = ""
    status: str = ""
    host: str = ""
    symbols: str = ""
    metric: str = ""
    starts: str = ""
    ends: str = ""
    entry_count: int = 0


@dataclasses.dataclass(frozen=True)
class EntryRow:
    """One entry of a competition."""

    id: str = ""
    user: str = ""
    strategy: str = ""
    title: str = ""
    version: int = 0
    status: str = ""
    error: str = ""
    rank: str = ""
    mine: bool = False


@dataclasses.dataclass(frozen=True)
class CompetitionDetail:
    """The terms of a competition."""

    id: str = ""
    title: str = ""
    rules: str = ""
    prizes: str = ""
    status: str = ""
    host: str = ""
    symbols: str = ""
    mode: str = ""
    window: str = ""
    starts: str = ""
    ends: str = ""
    deadline: str = ""
    capital: float = 0.0
    order_types: str = ""
    costs: str = ""
    metric: str = ""
    max_entries: int = 1
    chat_room: str = ""


def _row(unit: Session, competition: Competition) -> CompetitionRow:
    view = service.competition_view(session=unit, competition=competition)
    return CompetitionRow(
        id=view.id,
        title=view.title,
        status=view.status.value,
        host=view.host,
        symbols=", ".join(view.symbols),
        metric=view.metric.value,
        starts=when(view.starts_at),
        ends=when(view.ends_at),
        entry_count=view.entries,
    )


def _detail(unit: Session, competition: Competition) -> CompetitionDetail:
    view = service.competition_view(session=unit, competition=competition)
    window = f"{view.replay_start} → {view.replay_end}" if view.mode is Mode.REPLAY else "live feed"
    metric = view.metric.value
    if view.drawdown_limit_pct is not None:
        metric = f"{metric} (max drawdown {view.drawdown_limit_pct:g} %)"
    return CompetitionDetail(
        id=view.id,
        title=view.title,
        rules=view.rules,
        prizes=view.prizes,
        status=view.status.value,
        host=view.host,
        symbols=", ".join(view.symbols),
        mode=view.mode.value,
        window=window,
        starts=when(view.starts_at),
        ends=when(view.ends_at),
        deadline=when(view.entry_deadline),
        capital=view.capital,
        order_types=", ".join(view.order_types),
        costs=f"commission {view.commission * 100:g} %, slippage {view.slippage_bps:g} bp",
        metric=metric,
        max_entries=view.max_entries_per_user,
        chat_room=view.chat_room or "",
    )


def _moment(value: str, field: str) -> datetime:
    """A ``datetime-local`` input (UTC) as an aware time."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(field, f"Give the {field.replace('_', ' ')} as a date and time.") from None


def competition_in(form: dict[str, Any]) -> CompetitionCreate:
    """The create form as a ``CompetitionCreate`` (pydantic checks the rest)."""
    starts_at = _moment(text(form, "starts_at"), "starts_at")
    minutes = float(text(form, "minutes") or "60")
    deadline = text(form, "entry_deadline")
    mode = text(form, "mode") or Mode.REPLAY.value
    fields: dict[str, Any] = {
        "title": text(form, "title"),
        "rules": text(form, "rules"),
        "symbols": [s for s in text(form, "symbols").replace(",", " ").split() if s],
        "mode": mode,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=minutes),
        "entry_deadline": _moment(deadline, "entry_deadline") if deadline else None,
        "capital": text(form, "capital") or 100_000,
        "order_types": [k for k in ORDER_KINDS if form.get(f"order_{k}")] or [OrderKind.MARKET.value],
        "commission": float(text(form, "commission_pct") or 0) / 100,
        "slippage_bps": text(form, "slippage_bps") or 0,
        "metric": text(form, "metric") or Metric.RETURN.value,
        "drawdown_limit_pct": text(form, "drawdown_limit_pct") or None,
        "max_entries_per_user": text(form, "max_entries") or 1,
        "prizes": text(form, "prizes"),
        "org": text(form, "org") or None,
    }
    if mode == Mode.REPLAY.value:
        fields["replay_start"] = date.fromisoformat(text(form, "replay_start") or "2012-01-03")
        fields["replay_end"] = date.fromisoformat(text(form, "replay_end") or "2012-12-31")
    return CompetitionCreate.model_validate(fields)


class CompetitionsState(AuthState):
    """The list of competitions and, for organisers, the create form."""

    rows: list[CompetitionRow] = []
    can_create: bool = False
    orgs: list[str] = []
    metric: str = Metric.RETURN.value
    mode: str = Mode.REPLAY.value
    error: str = ""
    loaded: bool = False

    @rx.event
    def load(self) -> None:
        """The competitions; whether this person may organise one (and for which organisations)."""
        self.error = ""
        with db.session() as unit:
            user = self._user(unit)
            self.rows = [_row(unit, c) for c in service.list_competitions(session=unit)]
            self.can_create = user is not None and service.may_organise(session=unit, user=user)
            self.orgs = _managed_orgs(unit, user)
        self.loaded = True

    @rx.event
    def set_metric(self, metric: str) -> None:
        """The scoring metric picked in the form (the drawdown limit shows for return-drawdown)."""
        self.metric = metric

    @rx.event
    def set_mode(self, mode: str) -> None:
        """Replay (a window of stored bars) or live."""
        self.mode = mode

    @rx.event
    def create(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Create the competition of the form and open its page."""
        try:
            competition_input = competition_in({**form, "metric": self.metric, "mode": self.mode})
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                competition = service.create_competition(
                    session=unit, actor=user, competition_in=competition_input
                )
                public_id = competition.public_id
        except ValidationError as exc:
            self.error = invalid(exc)
            return None
        except (AccountsError, ValueError) as exc:
            self.error = str(exc)
            return None
        return rx.redirect(f"/competitions/{public_id}")


def _managed_orgs(unit: Session, user: User | None) -> list[str]:
    if user is None:
        return []
    return [org.slug for org, role in list_organizations(session=unit, user=user) if role.manages_members]


class CompetitionState(AuthState):
    """One competition: its terms, the entries, and entering one of your strategies."""

    competition: CompetitionDetail = CompetitionDetail()
    entries: list[EntryRow] = []
    strategies: list[list[str]] = []
    chosen: str = ""
    my_entries: list[str] = []
    missing: bool = False
    error: str = ""
    message: str = ""
    _follower: str = ""
    """The token of this page's newest ``follow`` loop."""

    @rx.var
    def may_enter(self) -> bool:
        """Signed in, the competition upcoming, and a strategy to enter."""
        return self.signed_in and self.competition.status == CompetitionStatus.UPCOMING.value

    @rx.var
    def final(self) -> bool:
        """Whether the ranking is frozen."""
        return self.competition.status == CompetitionStatus.FINISHED.value

    @rx.event
    def load(self) -> None:
        """The competition of the URL."""
        self.error, self.message, self.missing = "", "", False
        self._load(last_segment(self.router.url.path))

    def _load(self, public_id: str) -> None:
        try:
            with db.session() as unit:
                user = self._user(unit)
                competition = service.competition_by_public_id(session=unit, public_id=public_id)
                service.refresh_entries(session=unit, competition=competition)
                self._show(unit, user, competition)
        except AccountsError as exc:
            self.missing, self.error = True, str(exc)

    @rx.event(background=True)
    async def follow(self) -> None:
        """Keep the status, the entries and (at the end) the final ranks current while the page is open —
        the board itself is live on its own. The newest loop of a page wins (an older one stops at its
        next tick); each runs for at most ``FOLLOW_FOR`` seconds."""
        async with self:  # the URL's competition: ``load`` may not have run yet (they start together)
            public_id = last_segment(self.router.url.path)
            follower = self._follower = secrets.token_urlsafe(8)
        deadline = time.monotonic() + FOLLOW_FOR
        while time.monotonic() < deadline:
            await asyncio.sleep(FOLLOW_SECONDS)
            async with self:
                if self._follower != follower or self.competition.id not in ("", public_id):
                    return
                self._load(public_id)
                if self.missing or self.competition.status == FINISHED:
                    return

    def _show(self, unit: Session, user: User | None, competition: Competition) -> None:
        self.competition = _detail(unit, competition)
        entries = service.entries_of(session=unit, competition=competition)
        views = service.entry_views(session=unit, entries=entries)
        mine = {e.public_id for e in entries if user is not None and e.user_id == user.id}
        self.my_entries = sorted(mine)
        self.entries = [
            EntryRow(
                id=v.id,
                user=v.user,
                strategy=v.strategy,
                title=v.strategy_title,
                version=v.version,
                status=v.status.value,
                error=v.error or "",
                rank=str(v.final_rank or ""),
                mine=v.id in mine,
            )
            for v in views
            if v.status is not EntryStatus.REJECTED or v.id in mine
        ]
        own = list_own_strategies(session=unit, user=user, limit=100).items if user is not None else []
        self.strategies = [[s.public_id, f"{s.title} (v{s.latest_version})"] for s in own if s.latest_version]
        if self.strategies and self.chosen not in {s[0] for s in self.strategies}:
            self.chosen = self.strategies[0][0]

    @rx.event
    def choose(self, strategy_id: str) -> None:
        """The strategy to enter (its latest version)."""
        self.chosen = strategy_id

    @rx.event
    def enter(self) -> rx.event.EventSpec | None:
        """Enter the chosen strategy's latest version; its validation run is queued."""
        self.error, self.message = "", ""
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                competition = service.competition_by_public_id(session=unit, public_id=self.competition.id)
                entry = service.enter(
                    session=unit, actor=user, competition=competition, strategy_id=self.chosen
                )
                self.message = f"Entered version {entry.version}: validating it with a dry run…"
                self._show(unit, user, competition)
        except AccountsError as exc:
            self.error = str(exc)
        return None

"""Competition use cases: organise, enter, validate, move through the lifecycle, freeze the final ranking.

Keyword-only arguments and an explicit session; the caller commits. Who may do what:

- site admins (``User.is_admin``, granted with ``quanta admin grant <email>``) organise competitions;
  so do the owners and admins of an organisation, for that organisation (``competition_in.org``);
- anyone signed in enters a version of a strategy they own, before the entry deadline, up to the
  competition's entries per person. The entry is validated by a dry-run backtest in the sandbox
  (``quanta.workspace.runs.start_run``); :func:`refresh_entries` accepts or rejects it (with the error).

Lifecycle (:func:`advance`): upcoming → running at the start (entries still being validated are
rejected) → finished, when :func:`finish_competition` freezes the final ranking with each entry's figures
and receipt. Badges (:func:`badges_of`) are the podium places of finished competitions.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session, col, func, select

from quanta.accounts.errors import NotAllowed
from quanta.accounts.models import Membership, Organization, Profile, Role, User, utcnow
from quanta.chat import service as chat
from quanta.chat.models import ChatRoom, RoomKind
from quanta.competitions.errors import (
    CompetitionNotFound,
    Conflict,
    EntryNotFound,
    EntryRefused,
    InvalidInput,
)
from quanta.competitions.models import (
    Badge,
    Competition,
    CompetitionCreate,
    CompetitionPublic,
    CompetitionStatus,
    EntryPublic,
    EntryStatus,
    Mode,
    StoredEntry,
)
from quanta.competitions.ranking import Ranked
from quanta.competitions.scoring import ScoringRules
from quanta.sandbox import Job, JobRequest, JobStatus
from quanta.streaming.events import SYMBOL
from quanta.workspace.access import require_owner, strategy_by_public_id
from quanta.workspace.models import Strategy
from quanta.workspace.runs import start_run
from quanta.workspace.service import get_version

__all__ = [
    "advance",
    "badges_of",
    "badges_of_username",
    "competition_by_public_id",
    "competition_view",
    "create_competition",
    "enter",
    "entries_of",
    "entry_views",
    "finish_competition",
    "grant_admin",
    "list_competitions",
    "may_organise",
    "refresh_entries",
    "replay_interval",
    "scoring_rules",
]

VALIDATION_LOOKBACK = timedelta(days=365)
"""How far before a replay window the validation backtest starts."""
MEDALS = {1: "gold", 2: "silver", 3: "bronze"}


def _now(now: datetime | None) -> datetime:
    return (now or utcnow()).astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    """A stored time as aware UTC (SQLite gives naive datetimes back)."""
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _ms(moment: datetime) -> int:
    return int(_aware(moment).timestamp() * 1000)


# ---- admins and organisers -----------------------------------------------------------------------------


def grant_admin(*, session: Session, email: str, admin: bool = True) -> User:
    """Make the account with ``email`` a site admin (or, ``admin=False``, no longer one)."""
    user = session.exec(select(User).where(col(User.email) == email.strip().lower())).first()
    if user is None:
        raise InvalidInput("email", f"No account has the email {email!r}.")
    user.is_admin = admin
    session.add(user)
    return user


def may_organise(*, session: Session, user: User, org: Organization | None = None) -> bool:
    """Whether ``user`` may create competitions: site admins always, organisations' owners and admins for
    their organisation (any of them, when ``org`` is None)."""
    if user.disabled:
        return False
    if user.is_admin:
        return True
    query = select(Membership.role).where(col(Membership.user_id) == user.id)
    if org is not None:
        query = query.where(col(Membership.org_id) == org.id)
    return any(Role(role).manages_members for role in session.exec(query))


def _host(session: Session, actor: User, slug: str | None) -> Organization | None:
    """The organisation hosting a new competition (None: the site), if ``actor`` may organise for it."""
    if slug is None:
        if not (actor.is_admin and not actor.disabled):
            raise NotAllowed("Only site admins, or organisations' owners and admins, organise competitions.")
        return None
    org = session.exec(select(Organization).where(col(Organization.slug) == slug)).first()
    if org is None:
        raise InvalidInput("org", f"No organisation is called {slug!r}.")
    if not may_organise(session=session, user=actor, org=org):
        raise NotAllowed("Only the organisation's owners and admins organise its competitions.")
    return org


# ---- competitions --------------------------------------------------------------------------------------


def create_competition(
    *, session: Session, actor: User, competition_in: CompetitionCreate, now: datetime | None = None
) -> Competition:
    """A new upcoming competition organised by ``actor``; ``NotAllowed`` unless they may organise it."""
    moment = _now(now)
    org = _host(session, actor, competition_in.org)
    if competition_in.starts_at <= moment:
        raise InvalidInput("starts_at", "The start is in the past.")
    symbols = _symbols(competition_in.symbols)
    data = competition_in.model_dump(exclude={"org", "title", "symbols", "order_types", "entry_deadline"})
    competition = Competition(
        **data,
        public_id="cp_" + secrets.token_urlsafe(9),
        title=competition_in.title.strip(),
        symbols=symbols,
        order_types=[kind.value for kind in competition_in.order_types],
        entry_deadline=competition_in.entry_deadline or competition_in.starts_at,
        created_by_id=actor.id,
        org_id=org.id if org else None,
        created_at=moment,
    )
    if competition_in.replay_start and competition_in.replay_end:
        competition.interval = replay_interval(
            competition_in.replay_start,
            competition_in.replay_end,
            competition_in.starts_at,
            competition_in.ends_at,
        )
    session.add(competition)
    session.flush()
    chat.competition_room(
        session=session, ref=competition.public_id, title=competition.title, owner=actor, now=moment
    )
    return competition


def replay_interval(replay_start: date, replay_end: date, starts_at: datetime, ends_at: datetime) -> str:
    """The bar interval that replays a window's trading days (Monday to Friday) within a competition's
    time: whole seconds per trading day, at least one (a longer window then outlasts the competition)."""
    days = max(1, int(np.busday_count(replay_start, replay_end + timedelta(days=1))))
    return f"{max(1, math.floor((ends_at - starts_at).total_seconds() / days))}s"


def _symbols(symbols: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(symbol.strip().upper() for symbol in symbols))
    bad = [symbol for symbol in cleaned if SYMBOL.fullmatch(symbol) is None]
    if bad:
        raise InvalidInput("symbols", f"Not a symbol: {', '.join(bad)}.")
    return cleaned


def competition_by_public_id(*, session: Session, public_id: str) -> Competition:
    """The competition ``public_id`` (competitions are public); ``CompetitionNotFound`` otherwise."""
    found = session.exec(select(Competition).where(col(Competition.public_id) == public_id)).first()
    if found is None:
        raise CompetitionNotFound
    return found


def list_competitions(
    *, session: Session, status: CompetitionStatus | None = None, limit: int = 100
) -> list[Competition]:
    """Competitions, the soonest to start first (running and upcoming before finished ones)."""
    query = select(Competition)
    if status is not None:
        query = query.where(col(Competition.status) == status)
    query = query.order_by(col(Competition.status) == CompetitionStatus.FINISHED, col(Competition.starts_at))
    return list(session.exec(query.limit(limit)))


def competition_view(*, session: Session, competition: Competition) -> CompetitionPublic:
    """What anyone may see of ``competition``."""
    count = session.exec(
        select(func.count()).select_from(StoredEntry).where(col(StoredEntry.competition_id) == competition.id)
    ).one()
    host = "Quanta"
    if competition.org_id is not None:
        org = session.get(Organization, competition.org_id)
        host = org.name if org else host
    return CompetitionPublic(
        id=competition.public_id,
        **competition.model_dump(
            exclude={
                "id",
                "public_id",
                "created_by_id",
                "org_id",
                "interval",
                "periods_per_year",
                "created_at",
                "started_at",
                "finished_at",
            }
        ),
        host=host,
        entries=int(count),
        chat_room=session.exec(
            select(ChatRoom.public_id).where(
                col(ChatRoom.kind) == RoomKind.COMPETITION, col(ChatRoom.ref) == competition.public_id
            )
        ).first(),
    )


def scoring_rules(competition: Competition) -> ScoringRules:
    """How the competition's entries are valued (see ``quanta.competitions.scoring``)."""
    return ScoringRules(
        capital=competition.capital,
        symbols=frozenset(competition.symbols),
        metric=competition.metric,
        interval=competition.interval,
        periods_per_year=competition.periods_per_year,
        drawdown_limit_pct=competition.drawdown_limit_pct,
        start_ms=_ms(competition.starts_at),
        end_ms=_ms(competition.ends_at),
    )


# ---- entries -------------------------------------------------------------------------------------------


def enter(
    *,
    session: Session,
    actor: User,
    competition: Competition,
    strategy_id: str,
    version: int | None = None,
    now: datetime | None = None,
) -> StoredEntry:
    """Enter version ``version`` (default: the latest) of ``actor``'s strategy ``strategy_id``, and queue its
    validation. ``EntryRefused`` after the deadline, once the competition started, or over the limit."""
    moment = _now(now)
    if competition.status is not CompetitionStatus.UPCOMING or moment > _aware(competition.entry_deadline):
        raise EntryRefused("Entries are closed for this competition.")
    strategy = strategy_by_public_id(session=session, public_id=strategy_id, user_id=actor.id)
    require_owner(session=session, strategy=strategy, user_id=actor.id)
    frozen = get_version(session=session, strategy=strategy, user_id=actor.id, number=version)
    mine = [
        e
        for e in entries_of(session=session, competition=competition, user_id=actor.id)
        if e.status is not EntryStatus.REJECTED
    ]
    if any(e.strategy_id == strategy.id and e.version == frozen.number for e in mine):
        raise Conflict("This version is entered already.")
    if len(mine) >= competition.max_entries_per_user:
        raise EntryRefused(f"At most {competition.max_entries_per_user} entries per person.")
    entry = StoredEntry(
        public_id="en_" + secrets.token_urlsafe(9),
        competition_id=_pk(competition),
        user_id=_user_pk(actor),
        strategy_id=strategy.id,
        strategy_public_id=strategy.public_id,
        strategy_title=strategy.title,
        version=frozen.number,
        source=frozen.source,
        source_sha256=hashlib.sha256(frozen.source.encode()).hexdigest(),
        created_at=moment,
    )
    entry.job_id = _validate(
        session, actor=actor, strategy=strategy, competition=competition, entry=entry, moment=moment
    )
    session.add(entry)
    session.flush()
    return entry


def _validate(
    session: Session,
    *,
    actor: User,
    strategy: Strategy,
    competition: Competition,
    entry: StoredEntry,
    moment: datetime,
) -> str:
    """Queue the dry run that validates ``entry``: its source on the universe, on data before the window."""
    start = end = None
    if competition.mode is Mode.REPLAY and competition.replay_start and competition.replay_end:
        start, end = competition.replay_start - VALIDATION_LOOKBACK, competition.replay_end
    request = JobRequest(
        source=entry.source,
        symbols=list(competition.symbols),
        start=start,
        end=end,
        config={"cash": competition.capital, "commission": competition.commission},
    )
    job = start_run(session=session, actor=actor, strategy=strategy, request=request, now=moment)
    return job.public_id


def entries_of(
    *, session: Session, competition: Competition, user_id: int | None = None
) -> list[StoredEntry]:
    """The competition's entries (one person's, with ``user_id``), in entry order."""
    query = select(StoredEntry).where(col(StoredEntry.competition_id) == competition.id)
    if user_id is not None:
        query = query.where(col(StoredEntry.user_id) == user_id)
    return list(session.exec(query.order_by(col(StoredEntry.id))))


def entry_by_public_id(*, session: Session, competition: Competition, public_id: str) -> StoredEntry:
    """One entry of ``competition``; ``EntryNotFound`` otherwise."""
    found = session.exec(
        select(StoredEntry).where(
            col(StoredEntry.competition_id) == competition.id, col(StoredEntry.public_id) == public_id
        )
    ).first()
    if found is None:
        raise EntryNotFound
    return found


def refresh_entries(
    *, session: Session, competition: Competition, now: datetime | None = None
) -> list[StoredEntry]:
    """Accept or reject the entries whose validation run ended; the entries that changed."""
    changed = []
    for entry in entries_of(session=session, competition=competition):
        if entry.status is not EntryStatus.PENDING or entry.job_id is None:
            continue
        job = session.exec(select(Job).where(col(Job.public_id) == entry.job_id)).first()
        if job is None or not job.status.finished:
            continue
        if job.status is JobStatus.SUCCEEDED:
            entry.status = EntryStatus.ACCEPTED
        else:
            entry.status, entry.error = EntryStatus.REJECTED, str(job.error or "The validation run failed.")
        entry.validated_at = _now(now)
        session.add(entry)
        changed.append(entry)
    return changed


def usernames(*, session: Session, user_ids: Sequence[int]) -> dict[int, str]:
    """Usernames by user id."""
    if not user_ids:
        return {}
    rows = session.exec(select(Profile.user_id, Profile.username).where(col(Profile.user_id).in_(user_ids)))
    return dict(rows.all())


def entry_views(*, session: Session, entries: Sequence[StoredEntry]) -> list[EntryPublic]:
    """What anyone may see of ``entries`` (never the source)."""
    names = usernames(session=session, user_ids=[e.user_id for e in entries])
    return [
        EntryPublic(
            id=e.public_id,
            user=names.get(e.user_id, "someone"),
            strategy=e.strategy_public_id,
            strategy_title=e.strategy_title,
            version=e.version,
            status=e.status,
            error=e.error,
            created_at=e.created_at,
            final_rank=e.final_rank,
            final_score=e.final_score,
            final_return_pct=e.final_return_pct,
            final_max_drawdown_pct=e.final_max_drawdown_pct,
            receipt=e.receipt,
        )
        for e in entries
    ]


# ---- lifecycle -----------------------------------------------------------------------------------------


def advance(*, session: Session, competition: Competition, now: datetime | None = None) -> CompetitionStatus:
    """Start an upcoming competition whose start has come (entries not validated by then are rejected).

    A running competition past its end is finished by its runner with :func:`finish_competition`, which
    holds the final scores; this only starts competitions and settles validations.
    """
    moment = _now(now)
    refresh_entries(session=session, competition=competition, now=moment)
    if competition.status is CompetitionStatus.UPCOMING and moment >= _aware(competition.starts_at):
        for entry in entries_of(session=session, competition=competition):
            if entry.status is EntryStatus.PENDING:
                entry.status, entry.error = (
                    EntryStatus.REJECTED,
                    "The validation run did not end before the start.",
                )
                entry.validated_at = moment
                session.add(entry)
        competition.status, competition.started_at = CompetitionStatus.RUNNING, moment
        session.add(competition)
    return competition.status


def finish_competition(
    *,
    session: Session,
    competition: Competition,
    ranking: Sequence[Ranked],
    receipts: Mapping[str, dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> list[StoredEntry]:
    """Freeze the final ranking: each accepted entry's place (in ``ranking``'s order), figures and receipt
    are stored for good.

    Finishing twice is refused (``Conflict``): the first final ranking stands.
    """
    if competition.status is CompetitionStatus.FINISHED:
        raise Conflict("This competition has finished already.")
    moment = _now(now)
    stored = {e.public_id: e for e in entries_of(session=session, competition=competition)}
    accepted = [
        r for r in ranking if r.event.entry in stored and stored[r.event.entry].status is EntryStatus.ACCEPTED
    ]
    frozen = []
    for place, ranked in enumerate(accepted, start=1):
        entry = stored[ranked.event.entry]
        event = ranked.event
        entry.final_rank, entry.final_score = place, event.score
        entry.final_return_pct, entry.final_max_drawdown_pct = event.return_pct, event.max_drawdown_pct
        entry.final_sharpe, entry.final_trades = event.sharpe, event.trades
        entry.receipt = dict((receipts or {}).get(entry.public_id, {})) | {
            "entry": entry.public_id,
            "strategy": entry.strategy_public_id,
            "version": entry.version,
            "source_sha256": entry.source_sha256,
            "rank": place,
            "equity": event.equity,
            "marks": event.marks,
            "as_of_ms": event.ts,
        }
        session.add(entry)
        frozen.append(entry)
    competition.status, competition.finished_at = CompetitionStatus.FINISHED, moment
    session.add(competition)
    return frozen


def badges_of(*, session: Session, user_id: int) -> list[Badge]:
    """``user_id``'s podium places in finished competitions, the most recent first."""
    rows = session.exec(
        select(StoredEntry, Competition)
        .join(Competition, col(Competition.id) == col(StoredEntry.competition_id))
        .where(
            col(StoredEntry.user_id) == user_id,
            col(StoredEntry.final_rank) <= len(MEDALS),
            col(Competition.status) == CompetitionStatus.FINISHED,
        )
        .order_by(col(Competition.finished_at).desc(), col(StoredEntry.final_rank))
    ).all()
    return [
        Badge(
            competition=competition.public_id,
            title=competition.title,
            rank=entry.final_rank or 0,
            medal=MEDALS[entry.final_rank or 1],  # type: ignore[arg-type]
            finished_at=competition.finished_at,
        )
        for entry, competition in rows
    ]


def badges_of_username(*, session: Session, username: str) -> list[Badge]:
    """The badges of the person with ``username`` (none for an unknown name)."""
    user_id = session.exec(select(Profile.user_id).where(col(Profile.username) == username)).first()
    return [] if user_id is None else badges_of(session=session, user_id=user_id)


def _pk(competition: Competition) -> int:
    if competition.id is None:
        raise ValueError("the competition is not stored")
    return competition.id


def _user_pk(user: User) -> int:
    if user.id is None:
        raise ValueError("the user is not stored")
    return user.id

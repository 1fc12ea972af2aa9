"""Competition tables and value objects: competitions, their entries (each a frozen strategy version), and
what a finished competition keeps (every entry's final rank, figures and receipt).

One family per entity (``XBase``, ``XCreate``, ``X(table=True)``, ``XPublic``). A competition is named in
URLs by ``public_id`` (``cp_…``), an entry by its own (``en_…``), which is also the paper-trading account
its fills carry. Badges are not stored: they are the finished entries ranked 1 to 3 (``badges_of``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as PydanticField
from sqlmodel import JSON, Field, SQLModel

from quanta.accounts.models import utcnow
from quanta.competitions.scoring import Metric
from quanta.paper.events import OrderKind

__all__ = [
    "MAX_PRIZES",
    "MAX_RULES",
    "MAX_SYMBOLS",
    "MAX_TITLE",
    "Badge",
    "Competition",
    "CompetitionBase",
    "CompetitionCreate",
    "CompetitionPublic",
    "CompetitionStatus",
    "EntryPublic",
    "EntryStatus",
    "Metric",
    "Mode",
    "StoredEntry",
]

MAX_TITLE = 100
MAX_RULES = 10_000
MAX_PRIZES = 2_000
MAX_SYMBOLS = 10
PUBLIC_ID_LENGTH = 16


class Mode(StrEnum):
    """Where the prices come from."""

    REPLAY = "replay"
    """A historical window of stored daily bars, replayed as live bars."""
    LIVE = "live"
    """The live feed between the start and the end."""


class CompetitionStatus(StrEnum):
    """upcoming → running → finished."""

    UPCOMING = "upcoming"
    RUNNING = "running"
    FINISHED = "finished"


class EntryStatus(StrEnum):
    """pending (its validation run queued) → accepted | rejected; accepted entries trade."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def _short_enum(enum: type[StrEnum]) -> sa.Enum:
    """Stored as a short string (no database enum type), read back as ``enum``."""
    return sa.Enum(enum, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


# ---- competitions --------------------------------------------------------------------------------------


class CompetitionBase(SQLModel):
    """What an organiser decides."""

    title: str = Field(min_length=1, max_length=MAX_TITLE)
    rules: str = Field(default="", max_length=MAX_RULES, sa_type=sa.Text)
    symbols: list[str] = Field(default_factory=list, sa_type=JSON)
    mode: Mode = Field(default=Mode.REPLAY, sa_type=_short_enum(Mode))
    replay_start: date | None = None
    replay_end: date | None = None
    starts_at: datetime
    ends_at: datetime
    entry_deadline: datetime
    capital: float = 100_000.0
    order_types: list[str] = Field(default_factory=lambda: [OrderKind.MARKET.value], sa_type=JSON)
    commission: float = 0.0
    """Commission as a fraction of each fill's value (0.001 = 0.1 %)."""
    slippage_bps: float = 0.0
    metric: Metric = Field(default=Metric.RETURN, sa_type=_short_enum(Metric))
    drawdown_limit_pct: float | None = None
    max_entries_per_user: int = 1
    prizes: str = Field(default="", max_length=MAX_PRIZES, sa_type=sa.Text)


class CompetitionCreate(BaseModel):
    """A new competition, as an organiser fills it in; ``org`` (a slug) makes an organisation its host."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = PydanticField(min_length=1, max_length=MAX_TITLE)
    rules: str = PydanticField(default="", max_length=MAX_RULES)
    symbols: list[str] = PydanticField(min_length=1, max_length=MAX_SYMBOLS)
    mode: Mode = Mode.REPLAY
    replay_start: date | None = None
    replay_end: date | None = None
    starts_at: datetime
    ends_at: datetime
    entry_deadline: datetime | None = None
    capital: float = PydanticField(default=100_000.0, gt=0, le=1e12, allow_inf_nan=False)
    order_types: list[OrderKind] = PydanticField(default_factory=lambda: [OrderKind.MARKET], min_length=1)
    commission: float = PydanticField(default=0.0, ge=0, le=0.1, allow_inf_nan=False)
    slippage_bps: float = PydanticField(default=0.0, ge=0, le=1000, allow_inf_nan=False)
    metric: Metric = Metric.RETURN
    drawdown_limit_pct: float | None = PydanticField(default=None, gt=0, le=100, allow_inf_nan=False)
    max_entries_per_user: int = PydanticField(default=1, ge=1, le=10)
    prizes: str = PydanticField(default="", max_length=MAX_PRIZES)
    org: str | None = PydanticField(default=None, max_length=40)

    @model_validator(mode="after")
    def _consistent(self) -> CompetitionCreate:
        if self.starts_at.utcoffset() is None or self.ends_at.utcoffset() is None:
            raise ValueError("give the start and the end with a time zone")
        if self.ends_at <= self.starts_at:
            raise ValueError("the end is not after the start")
        if self.entry_deadline is not None and self.entry_deadline > self.starts_at:
            raise ValueError("the entry deadline is after the start")
        if self.mode is Mode.REPLAY and (self.replay_start is None or self.replay_end is None):
            raise ValueError("a replay competition needs the replay window (replay_start, replay_end)")
        if self.replay_start and self.replay_end and self.replay_start >= self.replay_end:
            raise ValueError("the replay window ends before it starts")
        if (self.metric is Metric.RETURN_DRAWDOWN) != (self.drawdown_limit_pct is not None):
            raise ValueError("a drawdown limit goes with the metric return-drawdown, and only with it")
        return self


class Competition(CompetitionBase, table=True):
    """A competition: its organiser's terms, who hosts it and where it is in its lifecycle."""

    __tablename__ = "competition"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=PUBLIC_ID_LENGTH, unique=True, index=True)
    created_by_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True
    )
    org_id: int | None = Field(default=None, foreign_key="organization.id", ondelete="SET NULL", index=True)
    status: CompetitionStatus = Field(
        default=CompetitionStatus.UPCOMING, sa_type=_short_enum(CompetitionStatus), index=True
    )
    interval: str = Field(default="1s", max_length=8)
    """The bars that value the entries (one mark per bar)."""
    periods_per_year: float = 252.0
    """Marks per year, to annualise Sharpe, Sortino and Calmar (a replayed bar is one trading day)."""
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class CompetitionPublic(BaseModel):
    """A competition as anyone may see it."""

    id: str
    title: str
    rules: str
    symbols: list[str]
    mode: Mode
    replay_start: date | None
    replay_end: date | None
    starts_at: datetime
    ends_at: datetime
    entry_deadline: datetime
    capital: float
    order_types: list[str]
    commission: float
    slippage_bps: float
    metric: Metric
    drawdown_limit_pct: float | None
    max_entries_per_user: int
    prizes: str
    status: CompetitionStatus
    host: str
    entries: int
    chat_room: str | None = None
    """The public id of the competition's chat room (``/chat/<id>``)."""


# ---- entries -------------------------------------------------------------------------------------------


class StoredEntry(SQLModel, table=True):
    """A frozen strategy version entered in a competition (its source is copied: it never changes), the
    validation run that accepted or rejected it, and — once the competition finished — its archive."""

    __tablename__ = "competition_entry"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=PUBLIC_ID_LENGTH, unique=True, index=True)
    competition_id: int = Field(foreign_key="competition.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    strategy_id: int | None = Field(default=None, foreign_key="strategy.id", ondelete="SET NULL", index=True)
    strategy_public_id: str = Field(max_length=PUBLIC_ID_LENGTH)
    strategy_title: str = Field(max_length=MAX_TITLE)
    version: int
    source: str = Field(sa_type=sa.Text)
    source_sha256: str = Field(max_length=64)
    class_name: str | None = Field(default=None, max_length=100)
    status: EntryStatus = Field(default=EntryStatus.PENDING, sa_type=_short_enum(EntryStatus))
    error: str | None = Field(default=None, sa_type=sa.Text)
    job_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow)
    validated_at: datetime | None = None
    final_rank: int | None = None
    final_score: float | None = None
    final_return_pct: float | None = None
    final_max_drawdown_pct: float | None = None
    final_sharpe: float | None = None
    final_trades: int | None = None
    receipt: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class EntryPublic(BaseModel):
    """An entry as anyone may see it (the source stays private)."""

    id: str
    user: str
    strategy: str
    strategy_title: str
    version: int
    status: EntryStatus
    error: str | None
    created_at: datetime
    final_rank: int | None
    final_score: float | None
    final_return_pct: float | None
    final_max_drawdown_pct: float | None
    receipt: dict[str, Any] | None


class Badge(BaseModel):
    """A podium place in a finished competition, shown on the winner's profile."""

    competition: str
    title: str
    rank: int
    medal: Literal["gold", "silver", "bronze"]
    finished_at: datetime | None

"""Workspace tables and value objects: strategies, their immutable versions, collaborators, stars, tags.

One family per entity (``XBase``, ``XCreate``, ``XUpdate``, ``X(table=True)``, ``XPublic``). A strategy is
named in URLs by ``public_id`` (``st_…``, short and random); its integer ``id`` never leaves the server.
Versions are numbered 1, 2, 3… per strategy and never change; ``Strategy.latest_version`` is the newest
number (0 before the first). Star and fork counts are kept on the strategy (the services update them in
the same unit of work), so the gallery sorts without counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import JSON, Field, SQLModel

from quanta.accounts.models import utcnow

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_MESSAGE",
    "MAX_SOURCE_BYTES",
    "MAX_TAGS",
    "MAX_TITLE",
    "Access",
    "CollaboratorCreate",
    "CollaboratorPublic",
    "CollaboratorRole",
    "CollaboratorUpdate",
    "DiffHunk",
    "DiffLine",
    "ForkCreate",
    "GalleryQuery",
    "GallerySort",
    "Lineage",
    "LineageEntry",
    "Page",
    "Strategy",
    "StrategyCollaborator",
    "StrategyCreate",
    "StrategyPublic",
    "StrategyStar",
    "StrategyTag",
    "StrategyUpdate",
    "StrategyVersion",
    "VerifiedBacktest",
    "VersionCreate",
    "VersionDiff",
    "VersionPublic",
    "VersionSummary",
    "Visibility",
]

MAX_TITLE = 100
MAX_DESCRIPTION = 2000
MAX_TAGS = 10
MAX_TAG = 24
MAX_MESSAGE = 500
MAX_SOURCE_BYTES = 200_000
"""A version's source, UTF-8 encoded, is at most this big."""
PUBLIC_ID_LENGTH = 16
USERNAME_LENGTH = 32

_T = TypeVar("_T")


class Visibility(StrEnum):
    """Who may read a strategy besides its owner and collaborators."""

    PRIVATE = "private"
    """Nobody else; strangers are told it does not exist."""
    UNLISTED = "unlisted"
    """Anyone with its address; not in the gallery."""
    PUBLIC = "public"
    """Anyone; listed in the gallery."""

    @property
    def readable_by_anyone(self) -> bool:
        """Whether people without a role (and anonymous visitors) may read it."""
        return self is not Visibility.PRIVATE


class Access(StrEnum):
    """What someone may do with a strategy: owner > editor > viewer (see ``quanta.workspace.access``)."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"

    def at_least(self, other: Access) -> bool:
        """Whether this access includes everything ``other`` allows."""
        return _RANK[self] >= _RANK[other]


_RANK = {Access.VIEWER: 1, Access.EDITOR: 2, Access.OWNER: 3}


class CollaboratorRole(StrEnum):
    """The role the owner gives a collaborator (the owner's own role is implicit)."""

    VIEWER = "viewer"
    EDITOR = "editor"

    @property
    def access(self) -> Access:
        """The access this role grants."""
        return Access(self.value)


def _short_enum(enum: type[StrEnum]) -> sa.Enum:
    """Stored as a short string (no database enum type), read back as ``enum``."""
    return sa.Enum(enum, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


def _user_ref(*, ondelete: Literal["CASCADE", "SET NULL"] = "CASCADE") -> Any:
    if ondelete == "SET NULL":
        return Field(default=None, foreign_key="user_account.id", ondelete="SET NULL", index=True)
    return Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)


def _strategy_ref(*, primary_key: bool = False) -> Any:
    return Field(
        foreign_key="strategy.id", ondelete="CASCADE", primary_key=primary_key, index=not primary_key
    )


# ---- strategies ----------------------------------------------------------------------------------------


class StrategyBase(SQLModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    visibility: Visibility = Field(default=Visibility.PRIVATE, sa_type=_short_enum(Visibility))


class StrategyCreate(StrategyBase):
    """A new strategy; with ``source`` its first version is saved too."""

    tags: list[str] = PydanticField(default_factory=list, max_length=MAX_TAGS)
    source: str | None = Field(default=None, max_length=MAX_SOURCE_BYTES)
    message: str = Field(default="", max_length=MAX_MESSAGE)


class StrategyUpdate(SQLModel):
    """Fields to change; None leaves a field as it is. Only the owner changes ``visibility``."""

    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    tags: list[str] | None = PydanticField(default=None, max_length=MAX_TAGS)
    visibility: Visibility | None = None


class Strategy(StrategyBase, table=True):
    """A strategy in the workspace: metadata, lineage, counts and the latest verified backtest.

    ``tags`` is the display copy; ``StrategyTag`` rows index the same tags for the gallery's filter.
    ``forked_from_id`` goes NULL when the original is deleted; ``forked_from_version`` stays, so the
    strategy is still known to be a fork.
    """

    __tablename__ = "strategy"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=PUBLIC_ID_LENGTH, unique=True, index=True)
    owner_id: int = _user_ref()
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    latest_version: int = 0
    forked_from_id: int | None = Field(
        default=None, foreign_key="strategy.id", ondelete="SET NULL", index=True
    )
    forked_from_version: int | None = None
    fork_count: int = Field(default=0, index=True)
    star_count: int = Field(default=0, index=True)
    verified_run_id: str | None = Field(default=None, max_length=64)
    verified_receipt_hash: str | None = Field(default=None, max_length=64)
    verified_version: int | None = None
    verified_return_pct: float | None = Field(default=None, index=True)
    verified_sharpe: float | None = Field(default=None, index=True)
    verified_max_drawdown_pct: float | None = None
    verified_at: datetime | None = None

    @property
    def verified_backtest(self) -> VerifiedBacktest | None:
        """The verified backtest summary recorded on this strategy, if any."""
        if self.verified_run_id is None or self.verified_at is None:
            return None
        return VerifiedBacktest(
            run_id=self.verified_run_id,
            receipt_hash=self.verified_receipt_hash or "",
            version=self.verified_version,
            return_pct=self.verified_return_pct if self.verified_return_pct is not None else 0.0,
            sharpe=self.verified_sharpe,
            max_drawdown_pct=self.verified_max_drawdown_pct or 0.0,
            as_of=self.verified_at,
        )


class VerifiedBacktest(BaseModel):
    """A backtest the sandboxed workers ran and receipted: what the gallery shows and sorts by."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str = PydanticField(min_length=1, max_length=64)
    receipt_hash: str = PydanticField(min_length=1, max_length=64)
    version: int | None = PydanticField(default=None, ge=1, description="The version that was run.")
    return_pct: float = PydanticField(allow_inf_nan=False, description="Total return, per cent.")
    sharpe: float | None = PydanticField(default=None, allow_inf_nan=False)
    max_drawdown_pct: float = PydanticField(allow_inf_nan=False, description="Maximum drawdown, per cent.")
    as_of: datetime


class ForkOrigin(BaseModel):
    """Where a fork comes from, as the viewer may see it."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    owner: str
    version: int | None


class StrategyPublic(StrategyBase):
    """A strategy as a given person sees it: ``role`` and ``starred`` are theirs, ``forked_from`` is
    filled only when they may read the original."""

    id: str
    owner: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    latest_version: int
    fork_count: int
    star_count: int
    is_fork: bool
    forked_from: ForkOrigin | None
    verified_backtest: VerifiedBacktest | None
    role: Access | None
    starred: bool


class StrategyTag(SQLModel, table=True):
    """One tag of one strategy (the index behind the gallery's tag filter)."""

    __tablename__ = "strategy_tag"

    strategy_id: int = _strategy_ref(primary_key=True)
    tag: str = Field(max_length=MAX_TAG, primary_key=True, index=True)


# ---- versions ------------------------------------------------------------------------------------------


class VersionBase(SQLModel):
    message: str = Field(default="", max_length=MAX_MESSAGE)


class VersionCreate(VersionBase):
    """A new version: the whole source (it must parse as Python) and a message."""

    source: str = Field(max_length=MAX_SOURCE_BYTES)


class StrategyVersion(VersionBase, table=True):
    """An immutable snapshot of a strategy's source; ``restored_from`` names the version it copies."""

    __tablename__ = "strategy_version"
    __table_args__ = (
        sa.UniqueConstraint("strategy_id", "number", name="uq_strategy_version_strategy_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    strategy_id: int = _strategy_ref()
    number: int
    source: str = Field(sa_type=sa.Text)
    author_id: int | None = _user_ref(ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    restored_from: int | None = None


class VersionSummary(VersionBase):
    """A version as listed (without its source)."""

    number: int
    author: str | None
    created_at: datetime
    restored_from: int | None


class VersionPublic(VersionSummary):
    """A version with its source."""

    source: str


DiffKind = Literal["add", "remove", "context"]


class DiffLine(BaseModel):
    """One line of a diff: ``old_line``/``new_line`` are 1-based, None on the side it is missing from."""

    model_config = ConfigDict(frozen=True)

    kind: DiffKind
    old_line: int | None
    new_line: int | None
    text: str


class DiffHunk(BaseModel):
    """A run of changes with its context, as in a unified diff's ``@@ -a,b +c,d @@`` block."""

    model_config = ConfigDict(frozen=True)

    header: str
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: list[DiffLine]


class VersionDiff(BaseModel):
    """The changes from ``old_version`` to ``new_version``: unified diff text and the same as hunks."""

    model_config = ConfigDict(frozen=True)

    old_version: int
    new_version: int
    unified: str
    hunks: list[DiffHunk]
    added: int
    removed: int


# ---- collaborators and stars ---------------------------------------------------------------------------


class CollaboratorBase(SQLModel):
    role: CollaboratorRole = Field(default=CollaboratorRole.VIEWER, sa_type=_short_enum(CollaboratorRole))


class CollaboratorCreate(CollaboratorBase):
    """Whom to invite (by username) and as what."""

    username: str = Field(min_length=1, max_length=USERNAME_LENGTH)


class CollaboratorUpdate(CollaboratorBase):
    """A collaborator's new role."""


class StrategyCollaborator(CollaboratorBase, table=True):
    """A person the owner shares a strategy with (one row per pair)."""

    __tablename__ = "strategy_collaborator"
    __table_args__ = (
        sa.UniqueConstraint("strategy_id", "user_id", name="uq_strategy_collaborator_strategy_user"),
    )

    id: int | None = Field(default=None, primary_key=True)
    strategy_id: int = _strategy_ref()
    user_id: int = _user_ref()
    added_by_id: int | None = _user_ref(ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)


class CollaboratorPublic(CollaboratorBase):
    """A collaborator as the strategy's readers see them."""

    username: str
    display_name: str
    added_at: datetime


class StrategyStar(SQLModel, table=True):
    """One person's star on one strategy."""

    __tablename__ = "strategy_star"

    strategy_id: int = _strategy_ref(primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


# ---- forks, lineage, gallery ---------------------------------------------------------------------------


class ForkCreate(SQLModel):
    """Fork a strategy: from ``version`` (default: its latest), with a new title if given."""

    version: int | None = Field(default=None, ge=1, le=1_000_000)
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)


class LineageEntry(BaseModel):
    """A strategy in a lineage, or a placeholder (``visible`` false) for one the viewer may not read
    or that was deleted. ``version`` is the version of this entry that the link was forked from."""

    model_config = ConfigDict(frozen=True)

    visible: bool
    id: str | None = None
    title: str | None = None
    owner: str | None = None
    version: int | None = None
    fork_count: int = 0


class Lineage(BaseModel):
    """Both ways from a strategy: its ancestors (parent first, the original last) and its direct forks
    that the viewer may read (newest first, at most ``MAX_LINEAGE_FORKS``)."""

    model_config = ConfigDict(frozen=True)

    ancestors: list[LineageEntry]
    forks: list[LineageEntry]
    fork_count: int


class GallerySort(StrEnum):
    """How the gallery orders public strategies (best first; ties newest first)."""

    STARS = "stars"
    FORKS = "forks"
    RECENT = "recent"
    SHARPE = "sharpe"
    RETURN = "return"


class GalleryQuery(BaseModel):
    """A gallery search: every word of ``text`` in the title or description, a tag, an author."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = PydanticField(default="", max_length=200)
    tag: str | None = PydanticField(default=None, max_length=MAX_TAG)
    author: str | None = PydanticField(default=None, max_length=USERNAME_LENGTH)
    sort: GallerySort = GallerySort.STARS


@dataclass(frozen=True, kw_only=True)
class Page(Generic[_T]):
    """One page of a list; ``next_offset`` is where the next page starts (None on the last)."""

    items: list[_T]
    next_offset: int | None

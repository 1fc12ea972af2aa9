"""Paper-trading tables and value objects.

A deployment (``pp_…``, short and random) runs one frozen strategy version as a paper *account* named by
its public id. The account's truth is its rows: ``paper_bar`` (the bars it has acted on),
``paper_order`` (what its strategy decided) and ``paper_fill`` (what the simulated broker filled), keyed
by the account string, so a desk can also run accounts that have no deployment row (a competition's
entries). ``UNIQUE(account, order_id)`` on fills means an order fills at most once; ``UNIQUE(account,
seq)`` keeps the fill numbers gapless and single.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Final

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import JSON, Field, SQLModel

from quanta.accounts.models import utcnow
from quanta.paper.events import OrderKind

__all__ = [
    "AccountView",
    "DeploymentStatus",
    "PaperBar",
    "PaperCosts",
    "PaperDeployment",
    "PaperFill",
    "PaperOrder",
    "PaperSpec",
    "PositionView",
]

PUBLIC_ID_LENGTH: Final = 16
ACCOUNT_LENGTH: Final = 64
ID_LENGTH: Final = 200
MAX_SYMBOLS: Final = 8


class DeploymentStatus(StrEnum):
    """Where a deployment is."""

    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"


class PaperCosts(BaseModel):
    """What fills cost: the engine's proportional commission, spread and slippage (fractions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    commission: float = PydanticField(default=0.0, ge=-0.1, le=0.1)
    spread: float = PydanticField(default=0.0, ge=0.0, lt=1.0)
    slippage: float = PydanticField(default=0.0, ge=0.0, lt=1.0)


class PaperSpec(BaseModel):
    """What an account runs: a strategy's source and parameters on some symbols' live bars."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    class_name: str | None = None
    params: dict[str, Any] = PydanticField(default_factory=dict)
    symbols: tuple[str, ...] = PydanticField(min_length=1, max_length=MAX_SYMBOLS)
    interval: str = "1s"
    capital: float = PydanticField(default=10_000.0, gt=0)
    costs: PaperCosts = PaperCosts()
    fractional: bool = False
    """Non-integer units (crypto-style); otherwise whole units, as the engine's default."""
    order_kinds: tuple[OrderKind, ...] | None = None
    """The order types the strategy may use (a competition's rule); ``None``: all of them. A stop-loss
    (set with the entry or later, trailing or not) counts as a stop order and a take-profit as a limit
    order."""


class PaperDeployment(SQLModel, table=True):
    """A strategy version deployed to paper trading; its ``public_id`` is the account's name."""

    __tablename__ = "paper_deployment"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=PUBLIC_ID_LENGTH, unique=True, index=True)
    strategy_id: int = Field(foreign_key="strategy.id", ondelete="CASCADE", index=True)
    version_id: int = Field(foreign_key="strategy_version.id", ondelete="CASCADE", index=True)
    version_number: int
    owner_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    symbols: list[str] = Field(default_factory=list, sa_type=JSON)
    interval: str = Field(max_length=8)
    capital: float
    costs: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=DeploymentStatus.RUNNING, max_length=16, index=True)
    error: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PaperBar(SQLModel, table=True):
    """A bar window an account acted on (one row per symbol): the runner's history after a restart."""

    __tablename__ = "paper_bar"
    __table_args__ = (
        sa.UniqueConstraint("account", "start", "symbol", name="uq_paper_bar_account_start_symbol"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=ACCOUNT_LENGTH)
    start: int = Field(sa_type=sa.BigInteger)
    symbol: str = Field(max_length=32)
    open: float
    high: float
    low: float
    close: float
    volume: float


class PaperOrder(SQLModel, table=True):
    """An order a runner decided; ``status`` open until the broker fills (or rejects) it."""

    __tablename__ = "paper_order"
    __table_args__ = (sa.UniqueConstraint("account", "order_id", name="uq_paper_order_account_order"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=ACCOUNT_LENGTH, index=True)
    order_id: str = Field(max_length=ID_LENGTH)
    symbol: str = Field(max_length=32)
    size: float
    relative: bool = False
    reduce_only: bool = False
    kind: str = Field(max_length=16)
    limit: float | None = None
    stop: float | None = None
    """Cleared when a stop-limit order's stop triggers (it is a limit order from then on); a trailing
    stop-loss's current level (moved after each bar)."""
    trail: float | None = None
    """An entry's trailing stop-loss: a price distance behind the best price (``trail_pct``: a fraction)."""
    trail_pct: float | None = None
    ts: int = Field(sa_type=sa.BigInteger)
    status: str = Field(default="open", max_length=16)
    reason: str = Field(default="", max_length=200)
    published: bool = False


class PaperFill(SQLModel, table=True):
    """A fill of the simulated broker; ``seq`` is 1, 2, 3… per account."""

    __tablename__ = "paper_fill"
    __table_args__ = (
        sa.UniqueConstraint("account", "order_id", name="uq_paper_fill_account_order"),
        sa.UniqueConstraint("account", "seq", name="uq_paper_fill_account_seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=ACCOUNT_LENGTH)
    seq: int
    fill_id: str = Field(max_length=ID_LENGTH)
    order_id: str = Field(max_length=ID_LENGTH)
    symbol: str = Field(max_length=32)
    size: float
    price: float
    commission: float
    ts: int = Field(sa_type=sa.BigInteger)
    published: bool = False


class PositionView(BaseModel):
    """One symbol's holding, marked at its last close."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    size: float
    avg_price: float
    last_price: float
    market_value: float
    unrealized_pnl: float


class AccountView(BaseModel):
    """An account as its owner sees it: computed from its fills and the last closes."""

    model_config = ConfigDict(frozen=True)

    account: str
    capital: float
    cash: float
    equity: float
    realized_pnl: float
    unrealized_pnl: float
    commissions: float
    positions: list[PositionView]
    fills: list[dict[str, Any]]
    last_bar: int | None
    equity_curve: list[tuple[int, float]] = PydanticField(default_factory=list)

"""Tables of the REST API: backtests submitted through it (and, imported here, the OAuth server's).

A backtest belongs to whoever the token acts for: a person (personal access tokens, and OAuth tokens a
person approved) or an organisation's client (client-credentials tokens). Only its owner reads it.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

import quanta.oauth.models  # noqa: F401  (OAuth grants, codes, tokens, keys, identities)
from quanta.accounts.models import utcnow

__all__ = ["ApiBacktest", "BacktestStatus"]


class BacktestStatus(StrEnum):
    """Where a submitted backtest is: queued, running, then succeeded or failed."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        """Whether the backtest has stopped (with results or an error)."""
        return self in (BacktestStatus.SUCCEEDED, BacktestStatus.FAILED)


def _status_type() -> sa.Enum:
    return sa.Enum(
        BacktestStatus, native_enum=False, length=16, values_callable=lambda e: [s.value for s in e]
    )


class ApiBacktest(SQLModel, table=True):
    """A backtest submitted through the API, with its results once it has run.

    ``public_id`` (``bt_…``, unguessable) names it in URLs; exactly one of ``owner_user_id`` and
    ``owner_client_id`` is set. ``trades`` and ``equity`` are JSON lists of records.
    """

    __tablename__ = "api_backtest"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=40, unique=True, index=True)
    owner_user_id: int | None = Field(
        default=None, foreign_key="user_account.id", ondelete="CASCADE", index=True
    )
    owner_client_id: int | None = Field(
        default=None, foreign_key="api_client.id", ondelete="CASCADE", index=True
    )
    submitted_via: str = Field(max_length=80)
    status: BacktestStatus = Field(default=BacktestStatus.QUEUED, sa_type=_status_type())
    example: str = Field(max_length=100)
    class_name: str = Field(max_length=100)
    symbols: list[str] = Field(default_factory=list, sa_type=JSON)
    start_date: date | None = None
    end_date: date | None = None
    timeframe: str = Field(default="1D", max_length=4)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    stats: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    receipt: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    trades: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    equity: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None
    finished_at: datetime | None = None


# Registers the listeners that delete these rows with their owners on SQLite (see _cascade).
from quanta.api import _cascade  # noqa: E402, F401

"""Every SQLModel table of the app database, imported in one place for Alembic."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

import quanta.accounts.models  # noqa: F401  (accounts tables and the mail outbox)
from quanta.api import models as _api_models  # noqa: F401  (API backtests; OAuth grants, tokens, identities)
from quanta.chat import models as _chat_models  # noqa: F401  (rooms, messages, notifications, reports)
from quanta.collab import models as _collab_models  # noqa: F401  (persisted room updates)
from quanta.competitions import models as _competition_models  # noqa: F401  (competitions, entries)
from quanta.paper import models as _paper_models  # noqa: F401  (paper deployments, bars, orders, fills)
from quanta.sandbox import models as _sandbox_models  # noqa: F401  (the job queue)
from quanta.workspace import models as _workspace_models  # noqa: F401  (strategies, versions, stars, …)


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


class DataImport(SQLModel, table=True):
    """A user file of bars that was imported (or refused), for the upload history."""

    __tablename__ = "data_import"

    id: int | None = Field(default=None, primary_key=True)
    symbol: str = Field(index=True, max_length=32)
    filename: str = Field(max_length=255)
    rows: int = 0
    accepted: bool
    message: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)

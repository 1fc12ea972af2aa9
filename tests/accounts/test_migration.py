"""The hand-written 0002 migration creates exactly what the accounts models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel

import quanta.models  # noqa: F401  (every table on SQLModel.metadata)

ACCOUNT_TABLES = {
    "user_account",
    "profile",
    "organization",
    "membership",
    "invitation",
    "personal_access_token",
    "api_client",
    "auth_session",
    "email_token",
    "audit_event",
    "outbox_email",
}


def _table_of(diff: Any) -> str | None:
    """The table a schema difference is about (alembic reports tuples, or lists of tuples)."""
    first = diff[0] if isinstance(diff, list) else diff
    for part in first[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str) and part in ACCOUNT_TABLES:
            return part
        if name in ACCOUNT_TABLES:
            return str(name)
    return None


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)

    ours = [d for d in differences if _table_of(d) in ACCOUNT_TABLES]
    assert ours == []
    assert set(SQLModel.metadata.tables) >= ACCOUNT_TABLES

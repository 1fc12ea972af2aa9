"""The hand-written 0002 migration creates exactly what the accounts models describe, on both databases."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import SQLModel

import quanta.models  # noqa: F401  (every table on SQLModel.metadata)
from tests.schema import schema_drift

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


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert schema_drift(engine, ACCOUNT_TABLES) == []
    assert set(SQLModel.metadata.tables) >= ACCOUNT_TABLES

"""The hand-written 0007 migration creates exactly what the chat models describe, on SQLite and
PostgreSQL, and its downgrade removes it again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import SQLModel

import quanta.models  # noqa: F401  (every table on SQLModel.metadata)
from quanta import db
from quanta.settings import Settings
from tests.chat.conftest import BACKENDS
from tests.schema import schema_drift

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)

CHAT_TABLES = {
    "chat_room",
    "chat_message",
    "chat_mention",
    "chat_notification",
    "chat_restriction",
    "chat_report",
}


def test_the_migrated_schema_matches_the_models(settings: Settings) -> None:
    assert schema_drift(db.engine(settings), CHAT_TABLES) == []
    assert set(SQLModel.metadata.tables) >= CHAT_TABLES


def test_the_downgrade_drops_the_chat_and_the_upgrade_brings_it_back(settings: Settings) -> None:
    config = db.alembic_config(settings.app_database_url)

    command.downgrade(config, "0006")
    after_downgrade = set(sa.inspect(db.engine(settings)).get_table_names())
    command.upgrade(config, "0007")
    after_upgrade = set(sa.inspect(db.engine(settings)).get_table_names())

    assert not after_downgrade & CHAT_TABLES
    assert after_upgrade >= CHAT_TABLES
    assert "strategy" in after_downgrade

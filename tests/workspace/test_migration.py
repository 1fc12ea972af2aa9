"""The hand-written 0004 migration creates exactly what the workspace models describe, on SQLite and
PostgreSQL, and its downgrade removes it again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import SQLModel

import quanta.models  # noqa: F401  (every table on SQLModel.metadata)
from quanta import db
from quanta.settings import Settings
from tests.schema import schema_drift
from tests.workspace.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("app_database", BACKENDS, indirect=True)

WORKSPACE_TABLES = {"strategy", "strategy_version", "strategy_tag", "strategy_collaborator", "strategy_star"}


def test_the_migrated_schema_matches_the_models(settings: Settings) -> None:
    assert schema_drift(db.engine(settings), WORKSPACE_TABLES) == []
    assert set(SQLModel.metadata.tables) >= WORKSPACE_TABLES


def test_the_downgrade_drops_the_workspace_and_the_upgrade_brings_it_back(settings: Settings) -> None:
    config = db.alembic_config(settings.app_database_url)

    command.downgrade(config, "0003")
    after_downgrade = set(sa.inspect(db.engine(settings)).get_table_names())
    command.upgrade(config, "0004")
    after_upgrade = set(sa.inspect(db.engine(settings)).get_table_names())

    assert not after_downgrade & WORKSPACE_TABLES
    assert after_upgrade >= WORKSPACE_TABLES

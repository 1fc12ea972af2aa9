"""The hand-written 0008 migration creates exactly what the paper models describe, on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest

from quanta import db
from quanta.settings import Settings
from tests.paper.conftest import BACKENDS
from tests.schema import schema_drift

PAPER_TABLES = {"paper_deployment", "paper_bar", "paper_order", "paper_fill"}


@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
def test_the_migrated_schema_matches_the_models(settings: Settings) -> None:
    assert schema_drift(db.engine(settings), PAPER_TABLES) == []

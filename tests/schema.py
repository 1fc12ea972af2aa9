"""Compare the schema Alembic's migrations made with the SQLModel tables, one area's tables at a time."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel

import quanta.models  # noqa: F401  (every table on SQLModel.metadata)


def schema_drift(engine: Engine, tables: Collection[str]) -> list[Any]:
    """Alembic's differences between the migrated database and the models that concern ``tables``."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    return [d for d in differences if _table_of(d, tables) in tables]


def _table_of(diff: Any, tables: Collection[str]) -> str | None:
    """The table a difference is about (alembic reports tuples, or lists of tuples for columns)."""
    first = diff[0] if isinstance(diff, list) else diff
    for part in first[1:] if isinstance(first, tuple) else ():
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        name = part if isinstance(part, str) else getattr(part, "name", None)
        if name in tables:
            return str(name)
    return None

"""The two market-data tables, as Ibis schemas, and the DDL that creates them on any backend.

``bars`` holds one row per symbol and bar start time: ``ts`` is naive UTC (daily bars sit at midnight),
prices and volume are float64, ``adj_close`` is null when the source has no adjusted close.
``instruments`` holds one row per symbol with its provenance and cached bar statistics.
"""

from __future__ import annotations

from typing import Any

import ibis  # type: ignore[import-untyped]
import pyarrow as pa  # type: ignore[import-untyped]
import sqlglot as sg
import sqlglot.expressions as sge

INSTRUMENTS = "instruments"
BARS = "bars"

INSTRUMENTS_SCHEMA = ibis.schema(
    {
        "symbol": "!string",
        "name": "!string",
        "asset_class": "!string",
        "currency": "string",
        "exchange": "string",
        "sector": "string",
        "source_package": "!string",
        "source_version": "string",
        "source_license": "string",
        "source_note": "string",
        "first_ts": "timestamp(6)",
        "last_ts": "timestamp(6)",
        "bar_count": "int64",
    }
)

BARS_SCHEMA = ibis.schema(
    {
        "symbol": "!string",
        "ts": "!timestamp(6)",
        "open": "!float64",
        "high": "!float64",
        "low": "!float64",
        "close": "!float64",
        "volume": "!float64",
        "adj_close": "float64",
    }
)

BAR_COLUMNS: tuple[str, ...] = tuple(BARS_SCHEMA.names)
INSTRUMENT_COLUMNS: tuple[str, ...] = tuple(INSTRUMENTS_SCHEMA.names)

# The same schemas as Arrow (all fields nullable so partial frames cast cleanly).
BARS_ARROW = pa.schema([f.with_nullable(True) for f in BARS_SCHEMA.to_pyarrow()])
INSTRUMENTS_ARROW = pa.schema([f.with_nullable(True) for f in INSTRUMENTS_SCHEMA.to_pyarrow()])


def create_statements(backend: str) -> list[str]:
    """DDL that creates the tables (and, on PostgreSQL, the bars index) if they are missing."""
    statements = [
        _create_table(INSTRUMENTS, INSTRUMENTS_SCHEMA, backend, primary_key="symbol"),
        _create_table(BARS, BARS_SCHEMA, backend),
    ]
    if backend == "postgres":
        # DuckDB relies on zone maps (bars are written clustered by symbol); an ART index on
        # millions of rows would cost memory on every bulk write.
        statements.append('CREATE INDEX IF NOT EXISTS "bars_symbol_ts" ON "bars" ("symbol", "ts")')
    return statements


def _create_table(name: str, schema: Any, backend: str, primary_key: str | None = None) -> str:
    columns: list[sge.Expression] = list(schema.to_sqlglot_column_defs(backend))
    if primary_key:
        columns.append(sge.PrimaryKey(expressions=[sg.to_identifier(primary_key, quoted=True)]))
    target = sge.Schema(this=sge.table_(name, quoted=True), expressions=columns)
    return sge.Create(kind="TABLE", exists=True, this=target).sql(backend)

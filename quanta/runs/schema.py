"""The run store's tables as Ibis schemas, and the DDL that creates them on DuckDB or PostgreSQL.

JSON documents (params, stats, receipt, options, extra, symbols) are stored as text so the same
schema works on both backends. Timestamps are naive UTC.
"""

from __future__ import annotations

from typing import Any

import ibis  # type: ignore[import-untyped]
import sqlglot as sg
import sqlglot.expressions as sge

RUNS = "runs"
EQUITY = "run_equity"
TRADES = "run_trades"
PRICES = "run_prices"

RUNS_SCHEMA = ibis.schema(
    {
        "run_id": "!string",
        "created_at": "!timestamp(6)",
        "kind": "!string",
        "strategy": "!string",
        "strategy_file": "string",
        "class_name": "string",
        "symbols": "!string",
        "start": "timestamp(6)",
        "end": "timestamp(6)",
        "params": "!string",
        "stats": "!string",
        "receipt": "!string",
        "options": "!string",
        "extra": "!string",
    }
)

EQUITY_SCHEMA = ibis.schema(
    {
        "run_id": "!string",
        "bar": "!int64",
        "ts": "timestamp(6)",
        "equity": "float64",
        "drawdown_pct": "float64",
    }
)

TRADES_SCHEMA = ibis.schema(
    {
        "run_id": "!string",
        "trade": "!int64",
        "symbol": "!string",
        "size": "float64",
        "entry_bar": "!int64",
        "exit_bar": "!int64",
        "entry_time": "timestamp(6)",
        "exit_time": "timestamp(6)",
        "entry_price": "float64",
        "exit_price": "float64",
        "sl": "float64",
        "tp": "float64",
        "pnl": "float64",
        "return_pct": "float64",
        "commission": "float64",
        "tag": "string",
    }
)

PRICES_SCHEMA = ibis.schema(
    {"run_id": "!string", "symbol": "!string", "bar": "!int64", "ts": "timestamp(6)", "close": "float64"}
)

SCHEMAS = {RUNS: RUNS_SCHEMA, EQUITY: EQUITY_SCHEMA, TRADES: TRADES_SCHEMA, PRICES: PRICES_SCHEMA}
CHILD_TABLES = (EQUITY, TRADES, PRICES)


def create_statements(backend: str) -> list[str]:
    """DDL creating the tables (and, on PostgreSQL, indexes on ``run_id``) if they are missing."""
    statements = [
        _create(name, schema, backend, primary_key="run_id" if name == RUNS else None)
        for name, schema in SCHEMAS.items()
    ]
    if backend == "postgres":
        statements += [f'CREATE INDEX IF NOT EXISTS "{t}_run_id" ON "{t}" ("run_id")' for t in CHILD_TABLES]
    return statements


def _create(name: str, schema: Any, backend: str, primary_key: str | None) -> str:
    columns: list[sge.Expression] = list(schema.to_sqlglot_column_defs(backend))
    if primary_key:
        columns.append(sge.PrimaryKey(expressions=[sg.to_identifier(primary_key, quoted=True)]))
    target = sge.Schema(this=sge.table_(name, quoted=True), expressions=columns)
    return sge.Create(kind="TABLE", exists=True, this=target).sql(backend)

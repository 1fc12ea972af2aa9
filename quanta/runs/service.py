"""Save, list, load and delete runs in their own store, apart from the market data.

The store is the DuckDB file ``settings.var_dir / "runs.duckdb"`` — or PostgreSQL when
``settings.market_database_url`` is set (the same Ibis code). DuckDB lets one process write a file
at a time, so connections are short-lived (``with run_store(settings) as con: ...``) and opening
retries with backoff for a few seconds while another process (the CLI, the web app) holds the file.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ibis  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend  # type: ignore[import-untyped]

from quanta.engine import Result
from quanta.loading import retry_locked
from quanta.runs.codec import json_value, stats_json
from quanta.runs.errors import RunNotFoundError
from quanta.runs.models import HEADLINE, RunMeta, RunSummary, StoredRun
from quanta.runs.schema import CHILD_TABLES, EQUITY, PRICES, RUNS, SCHEMAS, TRADES, create_statements
from quanta.settings import Settings, get_settings

RUNS_FILE = "runs.duckdb"
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_LIST_COLUMNS = (
    "run_id",
    "created_at",
    "kind",
    "strategy",
    "class_name",
    "strategy_file",
    "symbols",
    "start",
    "end",
    "params",
    "stats",
)


def runs_path(settings: Settings) -> Path:
    """The DuckDB file of the run store."""
    return (settings.var_dir / RUNS_FILE).resolve()


@contextlib.contextmanager
def run_store(
    settings: Settings | None = None, *, read_only: bool = False, wait: float = 5.0
) -> Iterator[BaseBackend]:
    """A short-lived connection to the run store, with its tables created (unless ``read_only``)."""
    settings = settings or get_settings()
    con = (
        _postgres(settings.market_database_url)
        if settings.market_database_url
        else _duckdb(settings, read_only=read_only, wait=wait)
    )
    try:
        yield con
    finally:
        con.disconnect()


def _duckdb(settings: Settings, *, read_only: bool, wait: float) -> BaseBackend:
    path = runs_path(settings)
    what = f"the run store {path}"
    if read_only and not path.exists():
        with run_store(settings, wait=wait):  # create it, so that readers find the tables
            pass
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = retry_locked(lambda: ibis.duckdb.connect(str(path), read_only=read_only), what=what, wait=wait)
    if not read_only:
        _ensure_schema(con)
    return con


def _postgres(url: str) -> BaseBackend:
    parts = urlsplit(url)
    con = ibis.connect(urlunsplit(parts._replace(scheme="postgres")))
    try:
        _ensure_schema(con)
    except _duplicate_errors():
        _ensure_schema(con)  # another process created a table at the same moment: the rest is left
    return con


def _duplicate_errors() -> tuple[type[Exception], ...]:
    import psycopg  # noqa: PLC0415 - only with PostgreSQL

    return (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject)


def _ensure_schema(con: BaseBackend) -> None:
    for statement in create_statements(con.name):
        _execute(con, statement)


def _execute(con: Any, statement: str | sge.Expression) -> None:
    sql = statement if isinstance(statement, str) else statement.sql(con.name)
    if con.name == "postgres":  # ibis connects in autocommit mode; inside _transaction it is one unit
        with con.con.cursor() as cursor:
            cursor.execute(sql)
    else:
        con.con.execute(sql)


@contextlib.contextmanager
def _transaction(con: Any) -> Iterator[None]:
    raw = con.con
    if con.name == "postgres":
        with raw.transaction():
            yield
        return
    raw.begin()
    try:
        yield
    except BaseException:
        raw.rollback()
        raise
    raw.commit()


def new_run_id(now: datetime | None = None) -> str:
    """A short id that sorts by creation time: 10 characters of milliseconds, 4 random (Crockford base32)."""
    ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    stamp = "".join(_CROCKFORD[(ms >> (5 * i)) & 31] for i in reversed(range(10)))
    return stamp + "".join(secrets.choice(_CROCKFORD) for _ in range(4))


# -- writing ---------------------------------------------------------------------------------------


def _naive_utc(index: pd.Index) -> pd.DatetimeIndex | None:
    if not isinstance(index, pd.DatetimeIndex):
        return None
    return index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, default=json_value, sort_keys=False)


def _arrow(table: str, columns: dict[str, Any]) -> pa.Table:
    schema = SCHEMAS[table].to_pyarrow()
    return pa.table(columns, schema=pa.schema([f.with_nullable(True) for f in schema]))


def save_run(*, con: BaseBackend, result: Result, meta: RunMeta, now: datetime | None = None) -> str:
    """Store ``result`` with ``meta``; returns the new run's id."""
    run_id = new_run_id(now)
    ts = _naive_utc(result.pandas_index())
    n = len(result.equity)
    row = {
        "run_id": run_id,
        "created_at": (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None),
        "kind": meta.kind,
        "strategy": result.strategy,
        "strategy_file": meta.strategy_file,
        "class_name": meta.class_name or result.strategy,
        "symbols": _dumps(list(result.symbols)),
        "start": ts[0].to_pydatetime() if ts is not None and n else None,
        "end": ts[-1].to_pydatetime() if ts is not None and n else None,
        "params": _dumps({k: json_value(v) for k, v in result.params.items()}),
        "stats": _dumps(stats_json(result.stats)),
        "receipt": _dumps(result.receipt.to_dict()),
        "options": _dumps({k: json_value(v) for k, v in meta.options.items()}),
        "extra": _dumps(meta.extra),
    }
    tables = {
        RUNS: _arrow(RUNS, {k: [v] for k, v in row.items()}),
        EQUITY: _equity_table(run_id, result, ts),
        TRADES: _trades_table(run_id, result, ts),
        PRICES: _prices_table(run_id, meta.prices, ts, n),
    }
    with _transaction(con):
        for name, table in tables.items():
            if table.num_rows:
                con.insert(name, ibis.memtable(table))
    return run_id


def _equity_table(run_id: str, result: Result, ts: pd.DatetimeIndex | None) -> pa.Table:
    n = len(result.equity)
    return _arrow(
        EQUITY,
        {
            "run_id": [run_id] * n,
            "bar": np.arange(n, dtype=np.int64),
            "ts": ts.to_numpy() if ts is not None else [None] * n,
            "equity": result.equity,
            "drawdown_pct": result.drawdown,
        },
    )


def _trades_table(run_id: str, result: Result, ts: pd.DatetimeIndex | None) -> pa.Table:
    t = result.trades
    k = len(t)

    def times(bars: np.ndarray) -> Any:
        return ts[bars].to_numpy() if ts is not None else [None] * k

    return _arrow(
        TRADES,
        {
            "run_id": [run_id] * k,
            "trade": np.arange(k, dtype=np.int64),
            "symbol": [str(s) for s in t.symbol],
            "size": t.size,
            "entry_bar": t.entry_bar,
            "exit_bar": t.exit_bar,
            "entry_time": times(t.entry_bar),
            "exit_time": times(t.exit_bar),
            "entry_price": t.entry_price,
            "exit_price": t.exit_price,
            "sl": t.sl,
            "tp": t.tp,
            "pnl": t.pnl,
            "return_pct": t.return_pct,
            "commission": t.commission,
            "tag": [None if tag is None else str(tag) for tag in t.tag],
        },
    )


def _prices_table(run_id: str, prices: pd.DataFrame | None, ts: pd.DatetimeIndex | None, n: int) -> pa.Table:
    if prices is None or prices.empty:
        return _arrow(PRICES, {name: [] for name in SCHEMAS[PRICES].names})
    if len(prices) != n:
        raise ValueError(f"prices have {len(prices)} rows; the run has {n} bars")
    k = prices.shape[1]
    return _arrow(
        PRICES,
        {
            "run_id": [run_id] * (n * k),
            "symbol": np.repeat(np.asarray([str(c) for c in prices.columns]), n),
            "bar": np.tile(np.arange(n, dtype=np.int64), k),
            "ts": np.tile(ts.to_numpy(), k) if ts is not None else [None] * (n * k),
            "close": prices.to_numpy(dtype=float).T.reshape(-1),
        },
    )


# -- reading ---------------------------------------------------------------------------------------


def _summary(row: dict[str, Any]) -> RunSummary:
    stats = json.loads(row["stats"])
    return RunSummary(
        run_id=row["run_id"],
        created_at=row["created_at"],
        kind=row["kind"],
        strategy=row["strategy"],
        class_name=row["class_name"],
        strategy_file=row["strategy_file"],
        symbols=tuple(json.loads(row["symbols"])),
        start=row["start"],
        end=row["end"],
        params=json.loads(row["params"]),
        headline={name: stats.get(name) for name in HEADLINE},
    )


def list_runs(*, con: BaseBackend, limit: int = 50, kind: str | None = None) -> list[RunSummary]:
    """The most recent runs first (of one ``kind`` if given)."""
    t = con.table(RUNS)
    if kind is not None:
        t = t.filter(t.kind == kind)
    expr = t.select(*_LIST_COLUMNS).order_by([ibis.desc("created_at"), ibis.desc("run_id")]).limit(limit)
    return [_summary(row) for row in expr.to_pyarrow().to_pylist()]


def resolve_run_id(*, con: BaseBackend, run_id: str) -> str:
    """The full id of ``run_id``, which may be a unique prefix of at least 4 characters."""
    t = con.table(RUNS)
    text = run_id.strip().lower()
    if len(text) >= 4:
        found = t.filter(t.run_id.startswith(text)).select("run_id").limit(2).to_pyarrow().to_pylist()
        if len(found) == 1:
            return str(found[0]["run_id"])
    recent = [r.run_id for r in list_runs(con=con, limit=200)]
    raise RunNotFoundError(run_id, recent)


def load_run(*, con: BaseBackend, run_id: str) -> StoredRun:
    """A saved run with its statistics, receipt, equity curve, trades and prices."""
    run_id = resolve_run_id(con=con, run_id=run_id)
    t = con.table(RUNS)
    row = t.filter(t.run_id == run_id).to_pyarrow().to_pylist()[0]
    equity = _children(con, EQUITY, run_id, "bar").drop(columns="run_id")
    trades = _children(con, TRADES, run_id, "trade").drop(columns=["run_id", "trade"])
    prices = _children(con, PRICES, run_id, "bar")
    return StoredRun(
        meta=_summary(row),
        options=json.loads(row["options"]),
        extra=json.loads(row["extra"]),
        stats=json.loads(row["stats"]),
        receipt=json.loads(row["receipt"]),
        equity=equity.set_index(pd.DatetimeIndex(equity["ts"], name="ts")).drop(columns="ts")
        if equity["ts"].notna().all()
        else equity,
        trades=trades.reset_index(drop=True),
        prices=_wide_prices(prices),
    )


def _children(con: BaseBackend, table: str, run_id: str, order: str) -> pd.DataFrame:
    t = con.table(table)
    frame: pd.DataFrame = t.filter(t.run_id == run_id).order_by(order).to_pyarrow().to_pandas()
    return frame


def _wide_prices(prices: pd.DataFrame) -> pd.DataFrame:
    if prices.empty:
        return pd.DataFrame()
    key = "ts" if prices["ts"].notna().all() else "bar"
    wide = prices.pivot(index=key, columns="symbol", values="close")
    wide.columns.name = None
    return wide


def delete_run(*, con: BaseBackend, run_id: str) -> str:
    """Delete a run and its series; returns the full id deleted."""
    run_id = resolve_run_id(con=con, run_id=run_id)
    with _transaction(con):
        for table in (*CHILD_TABLES, RUNS):
            where = sg.column("run_id", quoted=True).eq(sge.convert(run_id))
            _execute(con, sge.delete(sge.table_(table, quoted=True), where=where))
    return run_id

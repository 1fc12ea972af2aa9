"""Backend plumbing below the Ibis expressions: transactions, bulk appends and plain statements.

Queries stay in Ibis; writes go through here because bulk loading differs by backend
(DuckDB reads Arrow in place, PostgreSQL takes ``COPY ... FROM STDIN``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import sqlglot as sg
import sqlglot.expressions as sge

from quanta.data.schema import (
    BAR_COLUMNS,
    BARS,
    BARS_ARROW,
    INSTRUMENT_COLUMNS,
    INSTRUMENTS,
    INSTRUMENTS_ARROW,
)

Backend = Literal["duckdb", "postgres"]
_COPY_BATCH_ROWS = 100_000


def backend_name(con: Any) -> Backend:
    """``"duckdb"`` or ``"postgres"``; other Ibis backends are not supported for market data."""
    name = con.name
    if name not in ("duckdb", "postgres"):
        msg = f"market data needs a DuckDB or PostgreSQL backend, not {name!r}"
        raise TypeError(msg)
    backend: Backend = name
    return backend


@contextlib.contextmanager
def transaction(con: Any) -> Iterator[None]:
    """Everything written inside the block commits together or not at all."""
    raw = con.con
    if backend_name(con) == "postgres":
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


def execute(con: Any, statement: str | sge.Expression) -> None:
    """Run one statement that returns no rows."""
    backend = backend_name(con)
    sql = statement if isinstance(statement, str) else statement.sql(backend)
    if backend == "postgres":
        with con.con.cursor() as cursor:
            cursor.execute(sql)
    else:
        con.con.execute(sql)


def append(con: Any, table: str, data: pa.Table) -> None:
    """Append an Arrow table whose columns are a subset of ``table``'s, in bulk."""
    if data.num_rows == 0:
        return
    if backend_name(con) == "postgres":
        _copy_into_postgres(con.con, table, data)
    else:
        _insert_into_duckdb(con.con, table, data)


def _insert_into_duckdb(raw: Any, table: str, data: pa.Table) -> None:
    view = "_quanta_append"
    columns = [sg.to_identifier(c, quoted=True) for c in data.column_names]
    select = sg.select(*columns).from_(sge.table_(view, quoted=True))
    raw.register(view, data)
    try:
        raw.execute(sge.insert(select, sge.table_(table, quoted=True), columns=columns).sql("duckdb"))
    finally:
        raw.unregister(view)


def _copy_into_postgres(raw: Any, table: str, data: pa.Table) -> None:
    columns = ", ".join(_quote(c) for c in data.column_names)
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {_quote(table)} ({columns}) FROM STDIN (FORMAT csv)") as copy,
    ):
        for batch in data.to_batches(max_chunksize=_COPY_BATCH_ROWS):
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, options)
            copy.write(buffer.getvalue())


def delete_symbols(con: Any, symbols: Collection[str]) -> None:
    """Remove the bars and instrument rows of these symbols."""
    if not symbols:
        return
    literals = [sge.convert(s) for s in sorted(symbols)]
    for table in (BARS, INSTRUMENTS):
        where = sg.column("symbol", quoted=True).isin(*literals)
        execute(con, sge.delete(sge.table_(table, quoted=True), where=where))


def symbols_where(con: Any, column: str, value: str) -> set[str]:
    """The instrument symbols whose ``column`` equals ``value``."""
    t = con.table(INSTRUMENTS)
    frame = t.filter(t[column] == value).select("symbol").execute()
    return set(frame["symbol"])


def _quote(identifier: str) -> str:
    return sg.to_identifier(identifier, quoted=True).sql("duckdb")


def bars_table(frame: pa.Table) -> pa.Table:
    """``frame`` with exactly the bars columns, in order, cast to the stored types."""
    return frame.select(list(BAR_COLUMNS)).cast(BARS_ARROW)


def instruments_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Instrument rows (dicts; missing keys become null) as an Arrow table of the stored types."""
    return pa.Table.from_pylist(rows, schema=INSTRUMENTS_ARROW).select(list(INSTRUMENT_COLUMNS))


@dataclass
class _Span:
    first: datetime
    last: datetime
    count: int


def _spans(chunk: pa.Table) -> dict[str, _Span]:
    grouped = chunk.group_by("symbol").aggregate([("ts", "min"), ("ts", "max"), ("ts", "count")])
    return {
        row["symbol"]: _Span(row["ts_min"], row["ts_max"], row["ts_count"]) for row in grouped.to_pylist()
    }


def store(
    con: Any,
    *,
    instruments: list[dict[str, Any]],
    bar_chunks: Iterable[pa.Table],
    replace: Collection[str] = (),
    atomic: bool = True,
) -> dict[str, int]:
    """Replace symbols: delete ``replace`` and the given instruments, append the bars, then insert the
    instrument rows with ``first_ts``/``last_ts``/``bar_count`` taken from the bars written.

    ``atomic`` writes everything in one transaction. Otherwise each chunk commits on its own, which
    keeps memory flat for very long streams: the instrument rows come last, so queries (which look
    symbols up in ``instruments``) never see a half-written symbol, and a failure removes the partial
    bars. Instruments that received no bars are not inserted. Returns the bar count per symbol.
    """
    symbols = {row["symbol"] for row in instruments}
    if atomic:
        with transaction(con):
            return _replace(con, instruments, bar_chunks, {*replace, *symbols})
    try:
        return _replace(con, instruments, bar_chunks, {*replace, *symbols})
    except BaseException:
        delete_symbols(con, symbols)
        raise


def _replace(
    con: Any, instruments: list[dict[str, Any]], bar_chunks: Iterable[pa.Table], removed: set[str]
) -> dict[str, int]:
    delete_symbols(con, removed)
    known = {row["symbol"] for row in instruments}
    spans: dict[str, _Span] = {}
    for chunk in bar_chunks:
        table = bars_table(chunk)
        for symbol, span in _spans(table).items():
            if symbol not in known:
                msg = f"bars for {symbol!r} come without an instrument row"
                raise ValueError(msg)
            spans[symbol] = _merge(spans.get(symbol), span)
        append(con, BARS, table)
    rows = [_with_span(row, spans[row["symbol"]]) for row in instruments if row["symbol"] in spans]
    append(con, INSTRUMENTS, instruments_table(rows))
    return {symbol: span.count for symbol, span in spans.items()}


def _with_span(row: dict[str, Any], span: _Span) -> dict[str, Any]:
    return {**row, "first_ts": span.first, "last_ts": span.last, "bar_count": span.count}


def _merge(old: _Span | None, new: _Span) -> _Span:
    if old is None:
        return new
    return _Span(min(old.first, new.first), max(old.last, new.last), old.count + new.count)

"""Cursor paging and the bar formats (JSON, CSV, Parquet, Arrow IPC stream).

Cursors are opaque to clients (URL-safe base64 of a small JSON object); the next page's URL comes in
the ``Link: <…>; rel="next"`` header and in ``next_cursor``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Mapping
from typing import Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from fastapi import Request

from quanta.api.problems import ApiProblem

BarFormat = Literal["json", "csv", "parquet", "arrow"]
MEDIA_TYPES: Mapping[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.stream",
}
_ACCEPTED = {media.split(";")[0]: name for name, media in MEDIA_TYPES.items()}
BAR_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
        pa.field("open", pa.float64()),
        pa.field("high", pa.float64()),
        pa.field("low", pa.float64()),
        pa.field("close", pa.float64()),
        pa.field("volume", pa.float64()),
        pa.field("adj_close", pa.float64()),
    ]
)


def encode_cursor(position: Mapping[str, Any]) -> str:
    """An opaque cursor for ``position``."""
    raw = json.dumps(dict(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    """The position of ``cursor`` (empty for the first page); a 400 problem if it is not one of ours."""
    if not cursor:
        return {}
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(position, dict):
        raise _bad_cursor()
    return position


def cursor_int(position: Mapping[str, Any], name: str) -> int:
    """A non-negative integer field of a cursor (0 when absent)."""
    value = position.get(name, 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10**9:
        raise _bad_cursor()
    return value


def _bad_cursor() -> ApiProblem:
    return ApiProblem(400, "This cursor was not issued by this API.", kind="invalid-cursor")


def next_link(request: Request, cursor: str | None) -> dict[str, str]:
    """The ``Link`` header pointing at the next page, if there is one."""
    if cursor is None:
        return {}
    url = request.url.include_query_params(cursor=cursor)
    return {"Link": f'<{url}>; rel="next"'}


def negotiate(format_: str | None, accept: str | None) -> str:
    """The bar format: the ``format`` parameter, else the first known type in ``Accept``, else JSON."""
    if format_:
        return format_
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media in _ACCEPTED:
            return _ACCEPTED[media]
    return "json"


def bars_table(table: pa.Table) -> pa.Table:
    """Bars as the API serves them: ``ts`` in UTC (the store keeps naive UTC)."""
    columns = {name: table.column(name) for name in BAR_SCHEMA.names}
    columns["ts"] = columns["ts"].cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    return pa.table(columns, schema=BAR_SCHEMA)


def encode_bars(table: pa.Table, format_: str) -> bytes:
    """``table`` as CSV, Parquet or an Arrow IPC stream."""
    sink = io.BytesIO()
    if format_ == "csv":
        seconds = pc.cast(table.column("ts"), pa.timestamp("s", tz="UTC"), safe=False)
        iso = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ")
        pa_csv.write_csv(table.set_column(1, "ts", iso), sink)
    elif format_ == "parquet":
        pq.write_table(table, sink)
    elif format_ == "arrow":
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    else:
        raise ValueError(f"not a binary format: {format_}")
    return sink.getvalue()


def json_bars(table: pa.Table) -> list[dict[str, Any]]:
    """Bars as JSON records, ``ts`` as ISO 8601 with ``Z``."""
    records: list[dict[str, Any]] = table.drop_columns(["symbol"]).to_pylist()
    for record in records:
        record["ts"] = record["ts"].strftime("%Y-%m-%dT%H:%M:%SZ")
    return records

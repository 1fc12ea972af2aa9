"""``/api/v1/instruments``: search instruments and read their bars as JSON, CSV, Parquet or Arrow."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]
from fastapi import APIRouter, Path, Query, Request, Response, Security
from ibis.backends import BaseBackend  # type: ignore[import-untyped]
from pydantic import BaseModel

from quanta.api.deps import MarketDep, Principal, QuantaRoute, authenticated
from quanta.api.paging import (
    MEDIA_TYPES,
    bars_table,
    cursor_int,
    decode_cursor,
    encode_bars,
    encode_cursor,
    json_bars,
    negotiate,
    next_link,
)
from quanta.api.problems import ApiProblem
from quanta.data import bars, instruments, require_symbol, search_instruments
from quanta.data.schema import INSTRUMENTS

router = APIRouter(tags=["market data"], route_class=QuantaRoute)
MarketReader = Annotated[Principal, Security(authenticated, scopes=["market:read"])]
SymbolPath = Annotated[str, Path(min_length=1, max_length=32, description="e.g. AAPL, BRK.B, ^GSPC")]
MAX_BARS = 50_000


class SourcePublic(BaseModel):
    """Where an instrument's data comes from."""

    package: str
    version: str | None
    license: str | None
    note: str | None


class InstrumentPublic(BaseModel):
    """An instrument with its provenance and bar statistics."""

    symbol: str
    name: str
    asset_class: str
    currency: str | None
    exchange: str | None
    sector: str | None
    first_ts: datetime | None
    last_ts: datetime | None
    bar_count: int | None
    source: SourcePublic


class InstrumentPage(BaseModel):
    """One page of instruments; follow ``next_cursor`` (or the ``Link`` header) for more."""

    items: list[InstrumentPublic]
    next_cursor: str | None


class Bar(BaseModel):
    """One OHLCV bar; ``ts`` is the bar's start (UTC)."""

    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    adj_close: float | None


class BarPage(BaseModel):
    """One page of bars, oldest first."""

    symbol: str
    timeframe: str
    items: list[Bar]
    next_cursor: str | None


@router.get("/instruments", response_model=InstrumentPage)
def list_instruments(
    *,
    request: Request,
    response: Response,
    _: MarketReader,
    market: MarketDep,
    q: Annotated[str | None, Query(max_length=100, description="Text in the symbol or name.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Instruments by symbol, or those matching ``q`` (exact symbol first, then prefixes)."""
    offset = cursor_int(decode_cursor(cursor), "offset")

    def page(con: BaseBackend) -> list[dict[str, Any]]:
        wanted = offset + limit + 1
        expr = search_instruments(con, q, limit=wanted) if q and q.strip() else instruments(con).limit(wanted)
        rows: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
        return rows[offset:]

    rows = market.run(page)
    next_cursor = encode_cursor({"offset": offset + limit}) if len(rows) > limit else None
    response.headers.update(next_link(request, next_cursor))
    return {"items": [_instrument(row) for row in rows[:limit]], "next_cursor": next_cursor}


@router.get("/instruments/{symbol}", response_model=InstrumentPublic)
def get_instrument(*, _: MarketReader, market: MarketDep, symbol: SymbolPath) -> dict[str, Any]:
    """One instrument."""

    def one(con: BaseBackend) -> dict[str, Any]:
        require_symbol(con, symbol)
        t = con.table(INSTRUMENTS)
        row: dict[str, Any] = t.filter(t.symbol == symbol).to_pyarrow().to_pylist()[0]
        return row

    return _instrument(market.run(one))


_BAR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'Bars in the requested format; `Link: <…>; rel="next"` when there are more.',
        "content": {media: {} for name, media in MEDIA_TYPES.items() if name != "json"},
    }
}


@router.get("/instruments/{symbol}/bars", response_model=BarPage, responses=_BAR_RESPONSES)
def get_bars(
    *,
    request: Request,
    _: MarketReader,
    market: MarketDep,
    symbol: SymbolPath,
    start: Annotated[date | None, Query(description="First day (inclusive).")] = None,
    end: Annotated[date | None, Query(description="Last day (inclusive).")] = None,
    timeframe: Annotated[Literal["1D", "1W", "1M"], Query()] = "1D",
    format: Annotated[
        Literal["json", "csv", "parquet", "arrow"] | None,
        Query(description="Defaults to the `Accept` header, then JSON."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_BARS)] = 5000,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """OHLCV bars of ``symbol`` between ``start`` and ``end``, resampled to ``timeframe``, oldest first."""
    if start is not None and end is not None and start > end:
        raise ApiProblem(
            422,
            "`start` is after `end`.",
            kind="validation",
            errors=[{"location": "query.start", "message": "after end"}],
        )
    after = _cursor_time(decode_cursor(cursor))
    chosen = negotiate(format, request.headers.get("accept"))

    def page(con: BaseBackend) -> pa.Table:
        expr = bars(con, symbol, start=start, end=end, timeframe=timeframe)
        if after is not None:
            expr = expr.filter(expr.ts > after)
        return expr.order_by("ts").limit(limit + 1).to_pyarrow()

    table = bars_table(market.run(page))
    next_cursor = None
    if table.num_rows > limit:
        table = table.slice(0, limit)
        last = table.column("ts")[limit - 1].as_py()
        next_cursor = encode_cursor({"after": last.replace(tzinfo=None).isoformat()})
    headers = next_link(request, next_cursor)
    if chosen == "json":
        body = {
            "symbol": symbol,
            "timeframe": timeframe,
            "items": json_bars(table),
            "next_cursor": next_cursor,
        }
        return Response(
            BarPage.model_validate(body).model_dump_json(), media_type=MEDIA_TYPES["json"], headers=headers
        )
    headers["Content-Disposition"] = f'inline; filename="{_filename(symbol, timeframe, chosen)}"'
    return Response(encode_bars(table, chosen), media_type=MEDIA_TYPES[chosen], headers=headers)


def _cursor_time(position: dict[str, Any]) -> datetime | None:
    text = position.get("after")
    if text is None:
        return None
    try:
        return datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise ApiProblem(400, "This cursor was not issued by this API.", kind="invalid-cursor") from exc


def _filename(symbol: str, timeframe: str, format_: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in symbol)
    return f"{safe}-{timeframe}.{format_}"


def _instrument(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": row["symbol"],
        "name": row["name"],
        "asset_class": row["asset_class"],
        "currency": row.get("currency"),
        "exchange": row.get("exchange"),
        "sector": row.get("sector"),
        "first_ts": row.get("first_ts"),
        "last_ts": row.get("last_ts"),
        "bar_count": row.get("bar_count"),
        "source": {
            "package": row["source_package"],
            "version": row.get("source_version"),
            "license": row.get("source_license"),
            "note": row.get("source_note"),
        },
    }

"""Read market data as Ibis expressions; the same expressions run on DuckDB and PostgreSQL.

Ranges are inclusive: ``start``/``end`` may be dates, datetimes or ISO strings; a plain date as ``end``
includes that whole day. An empty range gives an empty table, an unknown symbol an
``UnknownSymbolError`` with a "did you mean" hint.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args

import ibis  # type: ignore[import-untyped]
import ibis.expr.types as ir  # type: ignore[import-untyped]
from ibis.backends import BaseBackend  # type: ignore[import-untyped]

from quanta.data.errors import UnknownSymbolError
from quanta.data.schema import BAR_COLUMNS, BARS, INSTRUMENTS

Timeframe = Literal["1D", "1W", "1M"]
DateLike = date | datetime | str

_TRUNCATE_UNIT: dict[str, str] = {"1D": "D", "1W": "W", "1M": "M"}


def instruments(con: BaseBackend) -> ir.Table:
    """All instruments with provenance and bar statistics, ordered by symbol."""
    t = con.table(INSTRUMENTS)
    return t.order_by(t.symbol)


def search_instruments(con: BaseBackend, text: str, limit: int = 20) -> ir.Table:
    """Instruments whose symbol or name contains ``text`` (any case); exact symbol first, then prefixes."""
    t = con.table(INSTRUMENTS)
    needle = text.strip().lower()
    symbol, name = t.symbol.lower(), t.name.lower()
    rank = ibis.cases(
        (symbol == needle, 0), (symbol.startswith(needle), 1), (name.startswith(needle), 2), else_=3
    )
    matches = t.filter(symbol.contains(needle) | name.contains(needle))
    return matches.mutate(_rank=rank).order_by(["_rank", "symbol"]).drop("_rank").limit(limit)


def bars(
    con: BaseBackend,
    symbol: str,
    start: DateLike | None = None,
    end: DateLike | None = None,
    timeframe: Timeframe | None = "1D",
) -> ir.Table:
    """OHLCV bars of ``symbol`` in ``[start, end]`` ordered by ``ts``.

    ``timeframe`` resamples the stored bars ("1D", "1W", "1M"): first open, max high, min low,
    last close and adjusted close, summed volume; each bucket is labelled by its first bar's ``ts``.
    ``None`` returns the stored bars unchanged.
    """
    require_symbol(con, symbol)
    t = con.table(BARS)
    selected = t.filter(t.symbol == symbol, *_range_predicates(t.ts, start, end))
    if timeframe is None:
        return selected.select(*BAR_COLUMNS).order_by("ts")
    return resample(selected, timeframe)


def resample(t: ir.Table, timeframe: Timeframe) -> ir.Table:
    """Aggregate bars into day, week (Monday-based) or month buckets, labelled by their first bar."""
    if timeframe not in _TRUNCATE_UNIT:
        msg = f"unknown timeframe {timeframe!r}; use one of {', '.join(get_args(Timeframe))}"
        raise ValueError(msg)
    bucketed = t.mutate(_bucket=t.ts.truncate(_TRUNCATE_UNIT[timeframe]))
    aggregated = bucketed.group_by(["symbol", "_bucket"]).aggregate(
        ts=bucketed.ts.min(),
        open=bucketed.open.argmin(bucketed.ts),
        high=bucketed.high.max(),
        low=bucketed.low.min(),
        close=bucketed.close.argmax(bucketed.ts),
        volume=bucketed.volume.sum(),
        adj_close=bucketed.adj_close.argmax(bucketed.ts),
    )
    return aggregated.select(*BAR_COLUMNS).order_by("ts")


def returns(
    con: BaseBackend,
    symbol: str,
    start: DateLike | None = None,
    end: DateLike | None = None,
    timeframe: Timeframe = "1D",
) -> ir.Table:
    """Simple close-to-close returns (``close / previous close - 1``) as columns ``symbol, ts, return``.

    The first bar in the range uses the bar before it, so a range never starts with a gap; the very
    first stored bar has no return and is left out.
    """
    series = bars(con, symbol, timeframe=timeframe)
    previous = series.close.lag().over(ibis.window(order_by=series.ts))
    with_returns = series.mutate(**{"return": series.close / previous - 1})
    kept = with_returns.filter(
        with_returns["return"].notnull(), *_range_predicates(with_returns.ts, start, end)
    )
    return kept.select("symbol", "ts", "return").order_by("ts")


def date_range(con: BaseBackend, symbol: str) -> tuple[datetime, datetime]:
    """The first and last bar timestamps of ``symbol``."""
    require_symbol(con, symbol)
    t = con.table(BARS)
    row = t.filter(t.symbol == symbol).aggregate(first=t.ts.min(), last=t.ts.max()).execute().iloc[0]
    return _to_datetime(row["first"]), _to_datetime(row["last"])


def bar_count(con: BaseBackend, symbol: str | None = None) -> int:
    """The number of stored bars, of one symbol or of all."""
    t = con.table(BARS)
    if symbol is not None:
        require_symbol(con, symbol)
        t = t.filter(t.symbol == symbol)
    return int(t.count().execute())


def symbols(con: BaseBackend) -> list[str]:
    """All stored symbols, sorted."""
    t = con.table(INSTRUMENTS)
    return list(t.select("symbol").order_by("symbol").execute()["symbol"])


def require_symbol(con: BaseBackend, symbol: str) -> None:
    """Raise ``UnknownSymbolError`` (with close matches) unless ``symbol`` is stored."""
    t = con.table(INSTRUMENTS)
    if int(t.filter(t.symbol == symbol).count().execute()) == 0:
        raise UnknownSymbolError(symbol, symbols(con))


def _range_predicates(ts: Any, start: DateLike | None, end: DateLike | None) -> list[Any]:
    predicates = []
    if start is not None:
        predicates.append(ts >= _as_datetime(_parse(start)))
    if end is not None:
        end = _parse(end)
        if isinstance(end, datetime):
            predicates.append(ts <= _as_datetime(end))
        else:
            predicates.append(ts < _as_datetime(end) + timedelta(days=1))
    return predicates


def _parse(value: DateLike) -> date | datetime:
    """ISO strings become a date (``2024-01-31``) or a datetime (with a time part)."""
    if not isinstance(value, str):
        return value
    return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)


def _as_datetime(value: date | datetime) -> datetime:
    """A naive UTC datetime (midnight for a date; aware datetimes are converted to UTC)."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _to_datetime(value: Any) -> datetime:
    result: datetime = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return result

"""Market explorer use cases: chart payloads, paged bar tables and CSV exports of a symbol's bars.

The UI calls these services and keeps only the small view models they return.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import ibis
import numpy as np
import polars as pl
from ibis.backends import BaseBackend

from quanta import data
from quanta.data.queries import require_symbol
from quanta.indicators import BBANDS, EMA, SMA

Timeframe = Literal["1D", "1W", "1M"]
OverlayKind = Literal["SMA", "EMA", "BBANDS"]
TIMEFRAMES: tuple[Timeframe, ...] = ("1D", "1W", "1M")
OVERLAY_COLORS = {"SMA": "#2563eb", "EMA": "#f59e0b", "BBANDS": "#8b5cf6"}
_PRICE_DECIMALS = 6
_COLUMNS = ("ts", "open", "high", "low", "close", "volume")


class ExplorerError(ValueError):
    """A request the explorer cannot answer, with a message fit for the user."""


@dataclass(frozen=True, kw_only=True)
class Overlay:
    """An indicator drawn over the price: SMA, EMA or Bollinger bands with a period."""

    kind: OverlayKind
    period: int

    def __post_init__(self) -> None:
        if not 2 <= self.period <= 500:
            msg = f"{self.kind} period must be between 2 and 500, got {self.period}"
            raise ExplorerError(msg)

    @property
    def label(self) -> str:
        """The name shown in the chart legend."""
        return f"{self.kind}({self.period})"


@dataclass(frozen=True, kw_only=True)
class BarsQuery:
    """Which bars to show: a symbol, a timeframe and an optional inclusive date range."""

    symbol: str
    timeframe: Timeframe = "1D"
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.timeframe not in TIMEFRAMES:
            msg = f"unknown timeframe {self.timeframe!r}; choose one of {', '.join(TIMEFRAMES)}"
            raise ExplorerError(msg)
        if self.start and self.end and self.start > self.end:
            msg = f"the start date {self.start} is after the end date {self.end}"
            raise ExplorerError(msg)


@dataclass(frozen=True, kw_only=True)
class ChartView:
    """What the chart and its header show, in a compact columnar form."""

    bars: dict[str, list[float | int]]
    overlays: list[dict[str, Any]] = field(default_factory=list)
    row_count: int = 0
    last_close: float | None = None
    change_pct: float | None = None
    period_high: float | None = None
    period_low: float | None = None


def parse_day(text: str) -> date | None:
    """Parse ``YYYY-MM-DD`` (empty means no bound); raise ExplorerError with the bad text otherwise."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        msg = f"{text!r} is not a date; use YYYY-MM-DD"
        raise ExplorerError(msg) from None


def instrument_info(con: BaseBackend, symbol: str) -> dict[str, Any]:
    """One instrument's descriptive fields and provenance; UnknownSymbolError with a hint otherwise."""
    require_symbol(con, symbol)
    table = data.instruments(con)
    rows = table.filter(table.symbol == symbol).to_pyarrow().to_pylist()
    return dict(rows[0])


def chart_view(con: BaseBackend, query: BarsQuery, overlays: list[Overlay]) -> ChartView:
    """Bars of the query's range with the overlays computed on the whole history (no cut-off warm-up)."""
    history = _history(con, query)
    in_range = _range_mask(history, query)
    closes = history["close"].to_numpy()
    shown = history.filter(pl.Series(in_range))
    lines = [line for overlay in overlays for line in _overlay_lines(overlay, closes, in_range)]
    return ChartView(
        bars=columnar(shown),
        overlays=lines,
        row_count=shown.height,
        **_summary(shown),
    )


def bars_page(con: BaseBackend, query: BarsQuery, *, page: int, page_size: int = 50) -> list[dict[str, Any]]:
    """One page (0-based) of the query's bars, newest first, as rows for a table."""
    table = _ranged(con, query).order_by(ibis.desc("ts")).limit(page_size, offset=page * page_size)
    frame = table.select(*_COLUMNS).to_polars()
    return [_display_row(row) for row in frame.iter_rows(named=True)]


def bars_csv(con: BaseBackend, query: BarsQuery) -> str:
    """The query's bars as CSV (oldest first), with a header row."""
    frame = _ranged(con, query).order_by("ts").select(*_COLUMNS).to_polars()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "open", "high", "low", "close", "volume"])
    for row in frame.iter_rows():
        writer.writerow([row[0].date().isoformat(), *(_csv_number(value) for value in row[1:])])
    return out.getvalue()


def _ranged(con: BaseBackend, query: BarsQuery) -> ibis.Table:
    return data.bars(con, query.symbol, start=query.start, end=query.end, timeframe=query.timeframe)


def _history(con: BaseBackend, query: BarsQuery) -> pl.DataFrame:
    whole = BarsQuery(symbol=query.symbol, timeframe=query.timeframe)
    history: pl.DataFrame = _ranged(con, whole).select(*_COLUMNS).to_polars()
    return history


def _range_mask(history: pl.DataFrame, query: BarsQuery) -> np.ndarray[Any, np.dtype[np.bool_]]:
    days = history["ts"].dt.date()
    mask = pl.Series([True] * history.height)
    if query.start:
        mask = mask & (days >= query.start)
    if query.end:
        mask = mask & (days <= query.end)
    return mask.to_numpy().astype(bool)


def _overlay_lines(
    overlay: Overlay, closes: np.ndarray[Any, np.dtype[np.float64]], keep: np.ndarray[Any, np.dtype[np.bool_]]
) -> list[dict[str, Any]]:
    color = OVERLAY_COLORS[overlay.kind]
    if overlay.kind == "SMA":
        return [_line(overlay.label, color, SMA(closes, timeperiod=overlay.period)[keep])]
    if overlay.kind == "EMA":
        return [_line(overlay.label, color, EMA(closes, timeperiod=overlay.period)[keep])]
    upper, middle, lower = BBANDS(closes, timeperiod=overlay.period, nbdevup=2.0, nbdevdn=2.0)
    return [
        _line(f"{overlay.label} upper", color, upper[keep], dashed=True),
        _line(f"{overlay.label} mid", color, middle[keep]),
        _line(f"{overlay.label} lower", color, lower[keep], dashed=True),
    ]


def _line(
    name: str, color: str, values: np.ndarray[Any, np.dtype[np.float64]], *, dashed: bool = False
) -> dict[str, Any]:
    rounded = [None if math.isnan(v) else round(float(v), _PRICE_DECIMALS) for v in values]
    return {"name": name, "color": color, "values": rounded, "dashed": dashed}


def columnar(frame: pl.DataFrame) -> dict[str, list[float | int]]:
    """Bars as compact columns for the chart: epoch seconds and rounded prices."""
    seconds = (frame["ts"].dt.epoch("s")).to_list()
    return {
        "t": seconds,
        "o": frame["open"].round(_PRICE_DECIMALS).to_list(),
        "h": frame["high"].round(_PRICE_DECIMALS).to_list(),
        "l": frame["low"].round(_PRICE_DECIMALS).to_list(),
        "c": frame["close"].round(_PRICE_DECIMALS).to_list(),
        "v": frame["volume"].to_list(),
    }


def _summary(frame: pl.DataFrame) -> dict[str, float | None]:
    if frame.height == 0:
        return {}
    first, last = float(frame["open"][0]), float(frame["close"][-1])
    return {
        "last_close": last,
        "change_pct": (last / first - 1.0) * 100.0,
        "period_high": float(frame["high"].max()),  # type: ignore[arg-type]
        "period_low": float(frame["low"].min()),  # type: ignore[arg-type]
    }


def _display_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": row["ts"].date().isoformat(),
        "open": f"{row['open']:,.2f}",
        "high": f"{row['high']:,.2f}",
        "low": f"{row['low']:,.2f}",
        "close": f"{row['close']:,.2f}",
        "volume": f"{row['volume']:,.0f}",
    }


def _csv_number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))

"""State of the market explorer page: parse input, call one service of ``quanta``, keep a small view."""

from __future__ import annotations

from typing import Any

import reflex as rx

from quanta import data, db, explorer
from quanta.data import DataValidationError, MarketDataError, UnknownSymbolError
from quanta.explorer import BarsQuery, ExplorerError, Overlay
from quanta.imports import recent_imports, record_import
from quanta.models import DataImport
from state.market import market, market_writer

DEFAULT_SYMBOL = "GOOG"
PAGE_SIZE = 25
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class ExplorerState(rx.State):
    """Which instrument is shown, how, and the view models of the chart and the bar table."""

    search_text: str = ""
    matches: list[dict[str, str]] = []
    symbol: str = ""
    instrument: dict[str, str] = {}
    timeframe: str = "1D"
    start: str = ""
    end: str = ""
    sma_on: bool = True
    sma_period: int = 20
    ema_on: bool = False
    ema_period: int = 50
    bbands_on: bool = False
    bbands_period: int = 20
    chart_bars: dict[str, list[float]] = {}
    chart_overlays: list[dict[str, Any]] = []
    summary: dict[str, str] = {}
    rows: list[dict[str, str]] = []
    row_count: int = 0
    page: int = 0
    error: str = ""
    upload_symbol: str = ""
    upload_message: str = ""
    upload_error: str = ""
    upload_history: list[dict[str, str]] = []

    @rx.var
    def page_count(self) -> int:
        """How many table pages the current range has."""
        return max(1, -(-self.row_count // PAGE_SIZE))

    @rx.var
    def page_label(self) -> str:
        """'Page 2 of 40 · 1,000 bars'."""
        return f"Page {self.page + 1} of {self.page_count} · {self.row_count:,} bars"

    @rx.event
    def on_load(self) -> None:
        """Open the symbol named in the URL (?symbol=…), or the default one."""
        wanted = str(self.router.url.query_parameters.get("symbol", "") or self.symbol or DEFAULT_SYMBOL)
        self.search(self.search_text)
        self._open(wanted.upper())

    @rx.event
    def search(self, text: str) -> None:
        """Find instruments whose symbol or name matches the text."""
        self.search_text = text
        found = data.search_instruments(market(), text, limit=12).to_polars()
        self.matches = [
            {"symbol": row["symbol"], "name": row["name"] or "", "asset_class": row["asset_class"] or ""}
            for row in found.iter_rows(named=True)
        ]

    @rx.event
    def select(self, symbol: str) -> None:
        """Show another instrument, keeping the timeframe and overlays."""
        self.start = ""
        self.end = ""
        self._open(symbol)

    @rx.event
    def set_timeframe(self, timeframe: str | list[str]) -> None:
        """Resample the chart and table to 1D, 1W or 1M."""
        self.timeframe = timeframe if isinstance(timeframe, str) else timeframe[0]
        self._refresh()

    @rx.event
    def set_range(self, form: dict[str, Any]) -> None:
        """Apply a date range from the range form (empty fields mean open-ended)."""
        self.start = str(form.get("start", "")).strip()
        self.end = str(form.get("end", "")).strip()
        self._refresh()

    @rx.event
    def clear_range(self) -> None:
        """Show the whole history again."""
        self.start = ""
        self.end = ""
        self._refresh()

    @rx.event
    def set_overlays(self, form: dict[str, Any]) -> None:
        """Apply the overlay form: which indicators are on and their periods."""
        self.sma_on = bool(form.get("sma_on"))
        self.ema_on = bool(form.get("ema_on"))
        self.bbands_on = bool(form.get("bbands_on"))
        try:
            self.sma_period = int(form.get("sma_period") or self.sma_period)
            self.ema_period = int(form.get("ema_period") or self.ema_period)
            self.bbands_period = int(form.get("bbands_period") or self.bbands_period)
        except ValueError:
            self.error = "Indicator periods must be whole numbers."
            return
        self._refresh()

    @rx.event
    def next_page(self) -> None:
        """Older bars in the table."""
        if self.page + 1 < self.page_count:
            self.page += 1
            self._load_rows()

    @rx.event
    def previous_page(self) -> None:
        """Newer bars in the table."""
        if self.page > 0:
            self.page -= 1
            self._load_rows()

    @rx.event
    def export_csv(self) -> rx.event.EventSpec | None:
        """Download the visible range as CSV."""
        try:
            text = explorer.bars_csv(market(), self._query())
        except ExplorerError as exc:
            self.error = str(exc)
            return None
        name = f"{self.symbol}_{self.timeframe}_{self.start or 'first'}_{self.end or 'last'}.csv"
        return rx.download(data=text, filename=name, mime_type="text/csv")

    @rx.event
    def set_upload_symbol(self, value: str) -> None:
        """Remember the symbol the upload will be stored as."""
        self.upload_symbol = value.strip().upper()

    @rx.event
    async def handle_upload(self, files: list[rx.UploadFile]) -> None:
        """Validate and import an uploaded CSV or Parquet file; nothing is written on any error."""
        self.upload_message = ""
        self.upload_error = ""
        if not files:
            self.upload_error = "Choose a CSV or Parquet file first."
            return
        if not self.upload_symbol:
            self.upload_error = "Give the instrument a symbol first."
            return
        upload = files[0]
        filename = upload.name or "upload.csv"
        content = await upload.read()
        if len(content) > MAX_UPLOAD_BYTES:
            self.upload_error = f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
            return
        try:
            with market_writer() as writer:
                report = data.import_bytes(writer, content, filename, symbol=self.upload_symbol)
        except (DataValidationError, MarketDataError) as exc:
            self.upload_error = str(exc)
            self._remember_upload(filename, rows=0, accepted=False, message=str(exc))
            return
        self.upload_message = f"Imported {report.rows:,} bars as {report.symbol}."
        self._remember_upload(filename, rows=report.rows, accepted=True)
        self._open(report.symbol)

    @rx.event
    def load_upload_history(self) -> None:
        """The newest uploads, shown in the upload dialog."""
        with db.session() as unit:
            self.upload_history = [_history_row(entry) for entry in recent_imports(session=unit, limit=5)]

    def _remember_upload(self, filename: str, *, rows: int, accepted: bool, message: str = "") -> None:
        with db.session() as unit:
            record_import(
                session=unit,
                symbol=self.upload_symbol,
                filename=filename,
                rows=rows,
                accepted=accepted,
                message=message,
            )
        self.load_upload_history()

    def _open(self, symbol: str) -> None:
        try:
            info = explorer.instrument_info(market(), symbol)
        except UnknownSymbolError as exc:
            self.error = str(exc)
            if not self.symbol:
                self.symbol = DEFAULT_SYMBOL
                self._open(DEFAULT_SYMBOL)
            return
        self.symbol = symbol
        self.instrument = {key: "" if value is None else str(value) for key, value in info.items()}
        self._refresh()

    def _query(self) -> BarsQuery:
        return BarsQuery(
            symbol=self.symbol,
            timeframe=self.timeframe,  # type: ignore[arg-type]
            start=explorer.parse_day(self.start),
            end=explorer.parse_day(self.end),
        )

    def _overlays(self) -> list[Overlay]:
        chosen = [("SMA", self.sma_on, self.sma_period), ("EMA", self.ema_on, self.ema_period)]
        chosen.append(("BBANDS", self.bbands_on, self.bbands_period))
        return [Overlay(kind=kind, period=period) for kind, on, period in chosen if on]  # type: ignore[arg-type]

    def _refresh(self) -> None:
        self.error = ""
        try:
            view = explorer.chart_view(market(), self._query(), self._overlays())
        except ExplorerError as exc:
            self.error = str(exc)
            return
        self.chart_bars = view.bars  # type: ignore[assignment]
        self.chart_overlays = view.overlays
        self.row_count = view.row_count
        self.summary = _summary_text(view)
        self.page = 0
        self._load_rows()

    def _load_rows(self) -> None:
        self.rows = explorer.bars_page(market(), self._query(), page=self.page, page_size=PAGE_SIZE)


def _history_row(entry: DataImport) -> dict[str, str]:
    outcome = f"{entry.rows:,} bars" if entry.accepted else "refused"
    return {
        "symbol": entry.symbol,
        "filename": entry.filename,
        "outcome": outcome,
        "when": entry.created_at.strftime("%Y-%m-%d %H:%M"),
    }


def _summary_text(view: explorer.ChartView) -> dict[str, str]:
    if view.last_close is None:
        return {}
    change = view.change_pct or 0.0
    return {
        "last": f"{view.last_close:,.2f}",
        "change": f"{change:+.2f}%",
        "direction": "up" if change >= 0 else "down",
        "high": f"{view.period_high:,.2f}",
        "low": f"{view.period_low:,.2f}",
    }

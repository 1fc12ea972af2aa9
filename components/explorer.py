"""The market explorer: instrument search, chart with overlays, bar table, CSV export and upload."""

from __future__ import annotations

import reflex as rx

from components.charts import candle_chart
from state.explorer import ExplorerState

UPLOAD_ID = "bars-upload"
TABLE_COLUMNS = ["date", "open", "high", "low", "close", "volume"]


def _match_row(match: rx.Var[dict[str, str]]) -> rx.Component:
    selected = match["symbol"] == ExplorerState.symbol
    return rx.box(
        rx.hstack(
            rx.text(match["symbol"], weight="bold", size="2"),
            rx.text(match["name"], size="1", color_scheme="gray", trim="both", truncate=True),
            align="center",
            spacing="2",
        ),
        on_click=ExplorerState.select(match["symbol"]),
        cursor="pointer",
        padding="0.4em 0.6em",
        border_radius="6px",
        background_color=rx.cond(selected, rx.color("accent", 4), "transparent"),
        _hover={"background_color": rx.color("accent", 3)},
        data_testid="instrument-match",
    )


def search_panel() -> rx.Component:
    """Search box and the instruments that match."""
    return rx.card(
        rx.vstack(
            rx.input(
                rx.input.slot(rx.icon("search", size=16)),
                placeholder="Search symbol or name…",
                value=ExplorerState.search_text,
                on_change=ExplorerState.search.debounce(250),
                width="100%",
                aria_label="Search instruments",
                data_testid="instrument-search",
            ),
            rx.scroll_area(
                rx.vstack(rx.foreach(ExplorerState.matches, _match_row), spacing="1", width="100%"),
                max_height=["12em", "12em", "70vh"],
                type="auto",
            ),
            spacing="3",
            width="100%",
        ),
        width=["100%", "100%", "18em"],
        flex_shrink="0",
    )


def _stat(label: str, value: rx.Var[str] | str, color: rx.Var[str] | str | None = None) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, size="4", weight="medium", color=color),
        spacing="0",
    )


def header() -> rx.Component:
    """Symbol, name, the range's figures and where the data comes from."""
    direction_color = rx.cond(
        ExplorerState.summary["direction"] == "up", rx.color("grass", 11), rx.color("tomato", 11)
    )
    return rx.vstack(
        rx.hstack(
            rx.heading(ExplorerState.symbol, size="7", data_testid="symbol-heading"),
            rx.text(ExplorerState.instrument["name"], size="4", color_scheme="gray"),
            rx.badge(ExplorerState.instrument["asset_class"], variant="soft"),
            align="baseline",
            spacing="3",
            wrap="wrap",
        ),
        rx.hstack(
            _stat("Last", ExplorerState.summary["last"]),
            _stat("Change", ExplorerState.summary["change"], direction_color),
            _stat("High", ExplorerState.summary["high"]),
            _stat("Low", ExplorerState.summary["low"]),
            spacing="6",
            wrap="wrap",
        ),
        rx.text(
            "Source: ",
            ExplorerState.instrument["source_package"],
            " ",
            ExplorerState.instrument["source_version"],
            " · licence ",
            ExplorerState.instrument["source_license"],
            size="1",
            color_scheme="gray",
            data_testid="provenance",
        ),
        spacing="2",
        width="100%",
    )


def _period_field(flag: str, period: str, label: str) -> rx.Component:
    return rx.hstack(
        rx.checkbox(label, name=flag, default_checked=getattr(ExplorerState, flag)),
        rx.input(
            name=period,
            type="number",
            default_value=getattr(ExplorerState, period).to_string(),
            width="4.5em",
            size="1",
            min=2,
            max=500,
            aria_label=f"{label} period",
        ),
        align="center",
        spacing="2",
    )


def controls() -> rx.Component:
    """Timeframe, date range, overlays, export and upload."""
    return rx.hstack(
        rx.segmented_control.root(
            rx.segmented_control.item("1D", value="1D"),
            rx.segmented_control.item("1W", value="1W"),
            rx.segmented_control.item("1M", value="1M"),
            value=ExplorerState.timeframe,
            on_change=ExplorerState.set_timeframe,
            data_testid="timeframe",
        ),
        rx.form(
            rx.hstack(
                rx.input(
                    name="start",
                    type="date",
                    default_value=ExplorerState.start,
                    size="2",
                    aria_label="Start date",
                    key=ExplorerState.symbol + "-start",
                ),
                rx.text("→", color_scheme="gray"),
                rx.input(
                    name="end",
                    type="date",
                    default_value=ExplorerState.end,
                    size="2",
                    aria_label="End date",
                    key=ExplorerState.symbol + "-end",
                ),
                rx.button("Apply", type="submit", variant="soft", size="2"),
                rx.button(
                    "All", type="button", variant="ghost", size="2", on_click=ExplorerState.clear_range
                ),
                align="center",
                spacing="2",
            ),
            on_submit=ExplorerState.set_range,
            data_testid="range-form",
        ),
        rx.form(
            rx.hstack(
                _period_field("sma_on", "sma_period", "SMA"),
                _period_field("ema_on", "ema_period", "EMA"),
                _period_field("bbands_on", "bbands_period", "Bollinger"),
                rx.button("Draw", type="submit", variant="soft", size="2"),
                align="center",
                spacing="3",
                wrap="wrap",
            ),
            on_submit=ExplorerState.set_overlays,
            data_testid="overlay-form",
        ),
        rx.spacer(),
        rx.button(
            rx.icon("download", size=16),
            "CSV",
            on_click=ExplorerState.export_csv,
            variant="outline",
            data_testid="export-csv",
        ),
        upload_dialog(),
        align="center",
        spacing="4",
        wrap="wrap",
        width="100%",
    )


def upload_dialog() -> rx.Component:
    """Upload a CSV or Parquet file of bars; errors name the row and the rule."""
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(
                rx.icon("upload", size=16),
                "Upload",
                variant="outline",
                data_testid="open-upload",
                on_click=ExplorerState.load_upload_history,
            )
        ),
        rx.dialog.content(
            rx.dialog.title("Upload bars"),
            rx.dialog.description(
                "CSV or Parquet with columns date, open, high, low, close, volume (adj close optional). "
                "Every row is checked; on any error nothing is stored.",
                size="2",
            ),
            rx.vstack(
                rx.input(
                    placeholder="Symbol, e.g. MYCO",
                    on_change=ExplorerState.set_upload_symbol,
                    aria_label="Symbol for the upload",
                    data_testid="upload-symbol",
                ),
                rx.upload(
                    rx.vstack(
                        rx.icon("file-up"),
                        rx.text("Drop a file here or click to choose", size="2"),
                        align="center",
                    ),
                    id=UPLOAD_ID,
                    accept={"text/csv": [".csv"], "application/octet-stream": [".parquet"]},
                    max_files=1,
                    border=f"1px dashed {rx.color('gray', 7)}",
                    padding="1.5em",
                    width="100%",
                    data_testid="upload-drop",
                ),
                rx.text(rx.selected_files(UPLOAD_ID), size="1", color_scheme="gray"),
                rx.cond(
                    ExplorerState.upload_error != "",
                    rx.callout(
                        ExplorerState.upload_error,
                        icon="triangle-alert",
                        color_scheme="red",
                        data_testid="upload-error",
                    ),
                ),
                rx.cond(
                    ExplorerState.upload_message != "",
                    rx.callout(
                        ExplorerState.upload_message,
                        icon="check",
                        color_scheme="grass",
                        data_testid="upload-ok",
                    ),
                ),
                upload_history(),
                rx.hstack(
                    rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                    rx.button(
                        "Import",
                        on_click=ExplorerState.handle_upload(rx.upload_files(upload_id=UPLOAD_ID)),
                        data_testid="upload-submit",
                    ),
                    justify="end",
                    width="100%",
                ),
                spacing="3",
                margin_top="1em",
            ),
        ),
    )


def upload_history() -> rx.Component:
    """The last few uploads and whether they were stored."""
    return rx.cond(
        ExplorerState.upload_history.length() > 0,
        rx.vstack(
            rx.text("Recent uploads", size="1", weight="bold", color_scheme="gray"),
            rx.foreach(
                ExplorerState.upload_history,
                lambda entry: rx.text(
                    entry["when"],
                    " · ",
                    entry["symbol"],
                    " · ",
                    entry["filename"],
                    " · ",
                    entry["outcome"],
                    size="1",
                    color_scheme="gray",
                ),
            ),
            spacing="1",
            data_testid="upload-history",
        ),
    )


def bars_table() -> rx.Component:
    """The range's bars, newest first, a page at a time."""
    return rx.vstack(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(c.title()) for c in TABLE_COLUMNS])),
            rx.table.body(
                rx.foreach(
                    ExplorerState.rows,
                    lambda row: rx.table.row(*[rx.table.cell(row[c]) for c in TABLE_COLUMNS]),
                )
            ),
            size="1",
            width="100%",
            data_testid="bars-table",
        ),
        rx.hstack(
            rx.button(
                rx.icon("chevron-left", size=16),
                "Newer",
                on_click=ExplorerState.previous_page,
                disabled=ExplorerState.page == 0,
                variant="soft",
                size="1",
            ),
            rx.text(ExplorerState.page_label, size="2", data_testid="page-label"),
            rx.button(
                "Older",
                rx.icon("chevron-right", size=16),
                on_click=ExplorerState.next_page,
                disabled=ExplorerState.page + 1 >= ExplorerState.page_count,
                variant="soft",
                size="1",
            ),
            align="center",
            justify="center",
            spacing="3",
            width="100%",
        ),
        width="100%",
        spacing="2",
    )


def explorer() -> rx.Component:
    """The whole explorer page body."""
    return rx.flex(
        search_panel(),
        rx.vstack(
            header(),
            controls(),
            rx.cond(
                ExplorerState.error != "",
                rx.callout(
                    ExplorerState.error,
                    icon="circle-alert",
                    color_scheme="red",
                    width="100%",
                    data_testid="explorer-error",
                ),
            ),
            rx.card(
                candle_chart(ExplorerState.chart_bars, ExplorerState.chart_overlays),
                width="100%",
                padding="0.5em",
            ),
            bars_table(),
            spacing="4",
            width="100%",
            min_width="0",
        ),
        direction=rx.breakpoints(initial="column", md="row"),
        spacing="4",
        width="100%",
    )

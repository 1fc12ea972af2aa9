"""The results pages: saved runs, the bundled examples to run, and one run's charts, statistics and trades."""

from __future__ import annotations

import reflex as rx

from components.charts import candle_chart, line_chart
from state.results import ResultsState

RUN_COLUMNS = [
    ("created", "When"),
    ("strategy", "Strategy"),
    ("symbols", "Symbols"),
    ("period", "Period"),
    ("Return [%]", "Return %"),
    ("Sharpe Ratio", "Sharpe"),
    ("Max. Drawdown [%]", "Max DD %"),
    ("# Trades", "Trades"),
]
TRADE_COLUMNS = [
    ("entry_time", "Entry"),
    ("exit_time", "Exit"),
    ("side", "Side"),
    ("size", "Size"),
    ("entry_price", "Entry price"),
    ("exit_price", "Exit price"),
    ("pnl", "P&L"),
    ("return_pct", "Return"),
]


def _example_card(example: rx.Var[dict[str, str]]) -> rx.Component:
    busy = ResultsState.running == example["name"]
    return rx.card(
        rx.vstack(
            rx.heading(example["title"], size="3"),
            rx.text(example["description"], size="2", color_scheme="gray", trim="both"),
            rx.hstack(
                rx.badge(example["symbols"], variant="soft"),
                rx.spacer(),
                rx.button(
                    rx.cond(busy, rx.spinner(size="1"), rx.icon("play", size=14)),
                    rx.cond(busy, "Running…", "Run"),
                    size="1",
                    disabled=ResultsState.running != "",
                    on_click=ResultsState.run_example(example["name"]),
                    data_testid="run-example-" + example["name"],
                ),
                width="100%",
                align="center",
            ),
            spacing="2",
            height="100%",
        ),
    )


def examples_gallery() -> rx.Component:
    """The bundled example strategies, each runnable with one click."""
    return rx.vstack(
        rx.heading("Example strategies", size="4"),
        rx.grid(
            rx.foreach(ResultsState.examples, _example_card),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        spacing="3",
    )


def runs_table() -> rx.Component:
    """Saved runs, newest first; a click opens one."""
    return rx.vstack(
        rx.heading("Runs", size="4"),
        rx.cond(
            ResultsState.runs.length() == 0,
            rx.text(
                "No runs yet: run an example above, or `quanta backtest FILE.py --symbol GOOG` "
                "from a terminal.",
                color_scheme="gray",
                size="2",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(*[rx.table.column_header_cell(title) for _, title in RUN_COLUMNS])
                ),
                rx.table.body(
                    rx.foreach(
                        ResultsState.runs,
                        lambda run: rx.table.row(
                            *[rx.table.cell(run[key]) for key, _ in RUN_COLUMNS],
                            on_click=ResultsState.show(run["run_id"]),
                            cursor="pointer",
                            _hover={"background_color": rx.color("accent", 3)},
                            data_testid="run-row",
                        ),
                    )
                ),
                size="1",
                width="100%",
            ),
        ),
        width="100%",
        spacing="3",
    )


def name_value_table(rows: rx.Var[list[dict[str, str]]], testid: str) -> rx.Component:
    """Rows of ``{name, value}`` (statistics, a receipt) as a two-column table."""
    return rx.table.root(
        rx.table.body(
            rx.foreach(
                rows,
                lambda row: rx.table.row(
                    rx.table.row_header_cell(row["name"]), rx.table.cell(row["value"], text_align="right")
                ),
            )
        ),
        size="1",
        width="100%",
        data_testid=testid,
    )


def trades_table(trades: rx.Var[list[dict[str, str]]]) -> rx.Component:
    """Closed trades (``quanta.results_view`` rows) as a table."""
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(title) for _, title in TRADE_COLUMNS])),
        rx.table.body(
            rx.foreach(
                trades,
                lambda trade: rx.table.row(*[rx.table.cell(trade[key]) for key, _ in TRADE_COLUMNS]),
            )
        ),
        size="1",
        width="100%",
        data_testid="trades-table",
    )


def run_detail() -> rx.Component:
    """One run: header, equity and drawdown, candles with trades, statistics, trades and receipt."""
    return rx.vstack(
        rx.hstack(
            rx.link(rx.hstack(rx.icon("arrow-left", size=16), rx.text("All runs")), href="/results"),
            rx.heading(ResultsState.summary["strategy"], size="6", data_testid="run-heading"),
            rx.badge(ResultsState.summary["symbols"], variant="soft"),
            rx.text(ResultsState.summary["period"], color_scheme="gray", size="2"),
            rx.text(ResultsState.summary["params"], color_scheme="gray", size="2"),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        rx.flex(
            rx.vstack(
                rx.card(line_chart(ResultsState.equity, height=260), width="100%", padding="0.5em"),
                rx.card(line_chart(ResultsState.drawdown, height=160), width="100%", padding="0.5em"),
                rx.cond(
                    ResultsState.candles.length() > 0,
                    rx.card(
                        candle_chart(ResultsState.candles, markers=ResultsState.markers, height=380),
                        width="100%",
                        padding="0.5em",
                    ),
                ),
                width="100%",
                min_width="0",
                spacing="3",
            ),
            rx.card(name_value_table(ResultsState.stats, "stats-table"), width=["100%", "100%", "22em"]),
            direction=rx.breakpoints(initial="column", md="row"),
            spacing="3",
            width="100%",
        ),
        rx.heading("Trades", size="4"),
        rx.scroll_area(trades_table(ResultsState.trades), max_height="28em", type="auto"),
        rx.heading("Receipt", size="4"),
        rx.text(
            "Re-running with the same strategy source, parameters, data and engine version "
            "gives these hashes.",
            size="2",
            color_scheme="gray",
        ),
        name_value_table(ResultsState.receipt, "receipt-table"),
        width="100%",
        spacing="4",
    )


def results() -> rx.Component:
    """The results page body: one run, or the gallery and the list."""
    return rx.vstack(
        rx.cond(
            ResultsState.error != "",
            rx.callout(
                ResultsState.error,
                icon="circle-alert",
                color_scheme="red",
                width="100%",
                data_testid="results-error",
            ),
        ),
        rx.cond(
            ResultsState.run_id != "",
            run_detail(),
            rx.vstack(examples_gallery(), runs_table(), width="100%", spacing="6"),
        ),
        width="100%",
        spacing="4",
    )

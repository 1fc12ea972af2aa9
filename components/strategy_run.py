"""The strategy page's run panel: a form generated from the strategy's parameters, the room's live run
(progress, who started it, cancel) and its results — charts, statistics, trades and receipt for a
backtest; a heatmap and the best parameters for an optimisation.

Everyone on the page sees the same run (``StrategyRunShared``); each page loads the results itself
(``StrategyRunState.sync``, fired by ``OnValue`` when the run's id or status changes).
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventChain, passthrough_event_spec
from reflex_base.utils.format import format_prop, wrap
from reflex_base.utils.imports import ImportVar
from reflex_base.vars.base import VarData

from components.charts import candle_chart, line_chart
from components.forms import error, section
from components.results import name_value_table, trades_table
from state.strategy_run import (
    MAXIMIZE_CHOICES,
    SEARCH_METHODS,
    HeatCell,
    HeatRow,
    ParamField,
    StrategyRunShared,
    StrategyRunState,
)
from state.workspace import StrategyState

STATUS_COLORS = (
    ("queued", "gray"),
    ("running", "blue"),
    ("succeeded", "green"),
    ("failed", "red"),
    ("cancelled", "orange"),
)


class OnValue(rx.Fragment):
    """Renders nothing; calls ``on_change(value)`` when it mounts and whenever ``value`` changes.

    It lets a page react to a shared state's change (another person's run ending, a version they saved)
    with an event of its own state.
    """

    value: rx.Var[str]
    on_change: rx.EventHandler[passthrough_event_spec(str)]

    def _exclude_props(self) -> list[str]:
        return [*super()._exclude_props(), "value", "on_change"]

    def add_imports(self) -> dict[str, ImportVar]:
        """``useEffect`` from React."""
        return {"react": ImportVar(tag="useEffect")}

    def add_hooks(self) -> list[str | rx.Var[str]]:
        """An effect that depends on ``value`` and fires the event chain with it."""
        chain = self.event_triggers.get("on_change")
        if chain is None:
            return []
        handler = wrap(str(format_prop(chain)).strip("{}"), "(") if isinstance(chain, EventChain) else chain
        value = self.value
        code = f"useEffect(() => {{ {handler!s}({value!s}); }}, [{value!s}]);"
        return [rx.Var(code, _var_type=str, _var_data=VarData.merge(value._get_all_var_data()))]


def on_value(value: rx.Var[str], on_change: rx.EventHandler) -> rx.Component:
    """``on_change(value)`` at mount and at each change of ``value``."""
    return OnValue.create(value=value, on_change=on_change)


# ---- the form ------------------------------------------------------------------------------------------


def _labelled(label: str | rx.Var[str], control: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", weight="medium"), control, spacing="1", min_width="0")


def _param_input(field: rx.Var[ParamField]) -> rx.Component:
    key = StrategyRunState.form_key.to_string() + "-" + field.name + "-" + field.value
    return rx.cond(
        field.kind == "bool",
        rx.el.select(
            rx.el.option("true", value="true"),
            rx.el.option("false", value="false"),
            name="param." + field.name,
            default_value=field.value,
            key=key,
            aria_label=field.name,
            style={"padding": "0.3em", "border_radius": "var(--radius-2)"},
        ),
        rx.input(
            name="param." + field.name,
            default_value=field.value,
            key=key,
            aria_label=field.name,
            type=rx.cond(field.numeric, "number", "text"),
            step="any",
            size="2",
        ),
    )


def _range_inputs(field: rx.Var[ParamField]) -> rx.Component:
    key = StrategyRunState.form_key.to_string() + "-" + field.name

    def bound(prefix: str, value: rx.Var[str], label: str) -> rx.Component:
        return rx.input(
            name=prefix + field.name,
            default_value=value,
            key=key + prefix,
            aria_label=field.name + " " + label,
            type="number",
            step="any",
            size="1",
            width="5.5em",
        )

    return rx.hstack(
        rx.checkbox(
            name="use." + field.name,
            default_checked=True,
            key=key + "use",
            aria_label="Optimise " + field.name,
        ),
        bound("from.", field.start, "from"),
        rx.text("to", size="1"),
        bound("to.", field.stop, "to"),
        rx.text("step", size="1"),
        bound("step.", field.step, "step"),
        spacing="1",
        align="center",
    )


def _param_row(field: rx.Var[ParamField]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.code(field.name, size="2")),
        rx.table.cell(
            rx.cond(
                StrategyRunState.optimizing & field.numeric,
                _range_inputs(field),
                _param_input(field),
            )
        ),
        data_testid="param-row",
    )


def _params() -> rx.Component:
    return rx.cond(
        StrategyRunState.fields.length() > 0,  # type: ignore[attr-defined]
        rx.table.root(
            rx.table.body(rx.foreach(StrategyRunState.fields, _param_row)),
            size="1",
            width="100%",
        ),
        rx.text("This strategy has no parameters.", size="2", color_scheme="gray"),
    )


def _symbols_datalist() -> rx.Component:
    return rx.el.datalist(
        rx.foreach(StrategyRunState.known_symbols, lambda symbol: rx.el.option(value=symbol)),
        id="run-symbols",
    )


def _market_inputs() -> rx.Component:
    key = StrategyRunState.form_key.to_string()
    return rx.grid(
        _labelled(
            "Symbols",
            rx.input(
                name="symbols",
                default_value=StrategyRunState.symbols,
                key="symbols-" + key + StrategyRunState.symbols,
                list="run-symbols",
                aria_label="Symbols",
                placeholder="GOOG",
            ),
        ),
        _labelled("From", rx.input(name="start", type="date", aria_label="From")),
        _labelled("To", rx.input(name="end", type="date", aria_label="To")),
        _labelled(
            "Cash",
            rx.input(
                name="cash", type="number", default_value="10000", min="1", step="any", aria_label="Cash"
            ),
        ),
        columns=rx.breakpoints(initial="2", md="4"),
        spacing="2",
        width="100%",
    )


def _mode_and_class() -> rx.Component:
    return rx.hstack(
        rx.segmented_control.root(
            rx.segmented_control.item("Backtest", value="backtest"),
            rx.segmented_control.item("Optimise", value="optimize"),
            value=StrategyRunState.mode,
            on_change=StrategyRunState.set_mode,
            size="1",
            aria_label="Run mode",
        ),
        rx.cond(
            StrategyRunState.classes.length() > 1,  # type: ignore[attr-defined]
            rx.select.root(
                rx.select.trigger(aria_label="Strategy class"),
                rx.select.content(
                    rx.foreach(StrategyRunState.classes, lambda name: rx.select.item(name, value=name))
                ),
                value=StrategyRunState.class_name,
                on_change=StrategyRunState.set_class,
                size="1",
            ),
            rx.cond(
                StrategyRunState.class_name != "",
                rx.badge(StrategyRunState.class_name, variant="soft", data_testid="run-class"),
            ),
        ),
        rx.cond(
            StrategyRunState.optimizing,
            rx.hstack(
                rx.select.root(
                    rx.select.trigger(aria_label="Search method"),
                    rx.select.content(
                        *[rx.select.item(label, value=value) for value, label in SEARCH_METHODS.items()]
                    ),
                    value=StrategyRunState.method,
                    on_change=StrategyRunState.set_method,
                    size="1",
                ),
                rx.cond(
                    (StrategyRunState.method == "random") | (StrategyRunState.method == "bayes"),
                    rx.input(
                        name="trials",
                        default_value="50",
                        type="number",
                        size="1",
                        width="5em",
                        aria_label="Parameter sets to try",
                    ),
                ),
                rx.cond(
                    StrategyRunState.method == "walk-forward",
                    rx.input(
                        name="folds",
                        default_value="4",
                        type="number",
                        size="1",
                        width="4em",
                        aria_label="Walk-forward folds",
                    ),
                ),
                rx.text("maximise", size="1"),
                rx.select.root(
                    rx.select.trigger(aria_label="Maximise"),
                    rx.select.content(*[rx.select.item(name, value=name) for name in MAXIMIZE_CHOICES]),
                    value=StrategyRunState.maximize,
                    on_change=StrategyRunState.set_maximize,
                    size="1",
                ),
                spacing="1",
                align="center",
            ),
        ),
        spacing="3",
        align="center",
        wrap="wrap",
    )


def run_form() -> rx.Component:
    """Parameters (or their ranges), symbols, dates and cash; Run or Optimise."""
    return rx.form(
        rx.vstack(
            _mode_and_class(),
            rx.cond(
                StrategyRunState.form_note != "",
                rx.text(StrategyRunState.form_note, size="1", color_scheme="amber", data_testid="form-note"),
            ),
            _params(),
            _market_inputs(),
            _symbols_datalist(),
            rx.hstack(
                rx.button(
                    rx.icon(rx.cond(StrategyRunState.optimizing, "grid-3x3", "play"), size=14),
                    rx.cond(StrategyRunState.optimizing, "Optimise", "Run"),
                    type="submit",
                    disabled=StrategyRunShared.active | (StrategyRunState.class_name == ""),
                    data_testid="run-button",
                ),
                rx.cond(
                    StrategyRunShared.active,
                    rx.button(
                        rx.icon("square", size=14),
                        "Cancel",
                        type="button",
                        variant="soft",
                        color_scheme="red",
                        on_click=StrategyRunState.cancel,
                        data_testid="cancel-button",
                    ),
                ),
                spacing="2",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=StrategyRunState.start,
        reset_on_submit=False,
        width="100%",
        data_testid="run-form",
    )


# ---- the room's run ------------------------------------------------------------------------------------


def run_status() -> rx.Component:
    """The room's current run: status, who started it, progress and message (live for everyone)."""
    shared = StrategyRunShared
    return rx.cond(
        shared.job_id != "",
        rx.vstack(
            rx.hstack(
                rx.badge(
                    shared.status,
                    color_scheme=rx.match(shared.status, *STATUS_COLORS, "gray"),
                    data_testid="run-status",
                ),
                rx.text(
                    rx.cond(shared.kind == "optimize", "Optimisation", "Backtest"),
                    rx.cond(shared.started_by != "", " started by " + shared.started_by, ""),
                    size="2",
                    data_testid="run-started-by",
                ),
                rx.spacer(),
                rx.text(shared.message, size="1", color_scheme="gray", data_testid="run-message"),
                width="100%",
                align="center",
                spacing="2",
            ),
            rx.cond(
                shared.active,
                rx.progress(value=shared.percent, max=100, width="100%", data_testid="run-progress"),
            ),
            rx.cond(
                shared.summary.length() > 0,  # type: ignore[attr-defined]
                rx.hstack(
                    rx.foreach(
                        shared.summary,
                        lambda item: rx.badge(
                            item["name"] + ": " + item["value"], variant="surface", size="2"
                        ),
                    ),
                    spacing="2",
                    wrap="wrap",
                    data_testid="run-summary",
                ),
            ),
            rx.cond(
                shared.verified != "",
                rx.text(shared.verified, size="1", color_scheme="green", data_testid="run-verified"),
            ),
            spacing="2",
            width="100%",
            data_testid="run-room",
        ),
    )


# ---- results -------------------------------------------------------------------------------------------


def backtest_result() -> rx.Component:
    """Equity and drawdown, candles with the trades, statistics, trades and receipt."""
    run = StrategyRunState
    return rx.vstack(
        rx.hstack(
            rx.badge(run.summary["symbols"], variant="soft"),
            rx.text(run.summary["period"], size="1", color_scheme="gray"),
            rx.text(run.summary["params"], size="1", color_scheme="gray"),
            spacing="2",
            wrap="wrap",
            align="center",
        ),
        rx.card(line_chart(run.equity, height=220), width="100%", padding="0.5em"),
        rx.card(line_chart(run.drawdown, height=130), width="100%", padding="0.5em"),
        rx.cond(
            run.candles.length() > 0,  # type: ignore[attr-defined]
            rx.card(
                candle_chart(run.candles, markers=run.markers, height=320), width="100%", padding="0.5em"
            ),
        ),
        rx.heading("Statistics", size="3"),
        name_value_table(run.stats, "stats-table"),
        rx.heading("Receipt", size="3"),
        rx.text(
            "The same source, parameters, data and engine give these hashes again.",
            size="1",
            color_scheme="gray",
        ),
        rx.box(
            name_value_table(run.receipt, "receipt-table"),
            width="100%",
            style={"& td": {"word_break": "break-all", "font_family": "var(--code-font-family)"}},
        ),
        rx.heading("Trades", size="3"),
        rx.scroll_area(trades_table(run.trades), max_height="22em", type="auto"),
        spacing="3",
        width="100%",
        data_testid="backtest-result",
    )


def _heat_cell(cell: rx.Var[HeatCell]) -> rx.Component:
    return rx.el.td(
        cell.text,
        style={
            "background_color": cell.color,
            "color": cell.ink,
            "text_align": "center",
            "font_size": "11px",
            "padding": "0.35em 0.4em",
            "min_width": "3em",
            "outline": rx.cond(cell.best != "", "2px solid #f59e0b", "none"),
            "outline_offset": "-2px",
        },
        data_best=cell.best,
    )


def _heat_row(row: rx.Var[HeatRow]) -> rx.Component:
    return rx.el.tr(
        rx.el.th(row.label, style={"font_size": "11px", "padding_right": "0.5em", "text_align": "right"}),
        rx.foreach(row.cells, _heat_cell),
    )


def heatmap() -> rx.Component:
    """The score over the first two optimised parameters (the best over the others), darker is better."""
    run = StrategyRunState
    return rx.vstack(
        rx.text(
            run.maximize,
            " by ",
            rx.code(run.heat_x),
            rx.cond(run.heat_y != "", rx.fragment(" (across) and ", rx.code(run.heat_y), " (down)"), ""),
            size="1",
            color_scheme="gray",
        ),
        rx.box(
            rx.el.table(
                rx.el.thead(
                    rx.el.tr(
                        rx.el.th(""),
                        rx.foreach(
                            run.heat_columns, lambda label: rx.el.th(label, style={"font_size": "11px"})
                        ),
                    )
                ),
                rx.el.tbody(rx.foreach(run.heat_rows, _heat_row)),
                style={"border_collapse": "collapse"},
            ),
            overflow_x="auto",
            max_width="100%",
            data_testid="heatmap",
        ),
        spacing="2",
        width="100%",
    )


def folds_table() -> rx.Component:
    """Walk-forward folds: each test window, the parameters fitted on the window before it, both scores."""
    columns = [
        ("Fold", "fold"),
        ("Test window", "test"),
        ("Fitted parameters", "params"),
        ("In sample", "in_sample"),
        ("Out of sample", "out_of_sample"),
    ]
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(title) for title, _ in columns])),
        rx.table.body(
            rx.foreach(
                StrategyRunState.folds,
                lambda fold: rx.table.row(*[rx.table.cell(fold[key]) for _, key in columns]),
            )
        ),
        size="1",
        width="100%",
        data_testid="walk-forward-folds",
    )


def optimize_result() -> rx.Component:
    """The best parameters (with a button that puts them in the form), the heatmap and the best run's
    statistics."""
    run = StrategyRunState
    return rx.vstack(
        rx.hstack(
            rx.cond(
                run.folds.length() > 0,  # type: ignore[attr-defined]
                rx.text(
                    run.evaluated, " walk-forward folds; the last one fitted:", size="2", weight="medium"
                ),
                rx.text("Best of ", run.evaluated, " parameter sets:", size="2", weight="medium"),
            ),
            rx.foreach(
                run.best_params,
                lambda item: rx.badge(item["name"] + " = " + item["value"], variant="soft", size="2"),
            ),
            rx.cond(
                StrategyState.can_edit,
                rx.button(
                    "Use these parameters",
                    size="1",
                    variant="soft",
                    on_click=run.apply_best,
                    data_testid="apply-best",
                ),
            ),
            spacing="2",
            wrap="wrap",
            align="center",
            data_testid="best-params",
        ),
        rx.cond(run.heat_rows.length() > 0, heatmap()),  # type: ignore[attr-defined]
        rx.cond(run.folds.length() > 0, folds_table()),  # type: ignore[attr-defined]
        rx.heading("Best run", size="3"),
        name_value_table(run.best_stats, "best-stats-table"),
        spacing="3",
        width="100%",
        data_testid="optimize-result",
    )


def run_result() -> rx.Component:
    """What the room's last finished run gave, as this page loaded it."""
    run = StrategyRunState
    return rx.fragment(
        rx.cond(
            run.failure != "",
            rx.callout(
                run.failure, icon="circle-alert", color_scheme="red", width="100%", data_testid="run-failure"
            ),
        ),
        rx.match(
            run.shown_kind,
            ("backtest", backtest_result()),
            ("optimize", optimize_result()),
            rx.fragment(),
        ),
    )


def run_panel() -> rx.Component:
    """Run or optimise the editor's text in the sandbox; everyone here sees the run live."""
    return section(
        "Run",
        on_value(StrategyRunShared.job_id + "|" + StrategyRunShared.status, StrategyRunState.sync),
        rx.cond(
            StrategyState.can_edit,
            run_form(),
            rx.text(
                "Owners and editors run this strategy; you see their runs here as they happen.",
                size="2",
                color_scheme="gray",
            ),
        ),
        error(StrategyRunState.error, "run-error"),
        run_status(),
        run_result(),
        description="Backtests and optimisations run the editor's text in the sandbox, on the bundled "
        "market data. A successful backtest of the latest saved version becomes the verified backtest.",
        data_testid="run-panel",
    )

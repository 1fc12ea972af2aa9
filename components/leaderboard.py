"""Competition pages' content: the list with the create form, one competition's terms, entering, entries, and
the live leaderboard (a wrapped React component fed by the broadcast websocket, ``leaderboard.jsx``)."""

from __future__ import annotations

import reflex as rx

from components.charts import LIGHTWEIGHT_CHARTS
from components.forms import error, field, success, text_area
from state.competitions import (
    METRICS,
    MODES,
    ORDER_KINDS,
    CompetitionRow,
    CompetitionsState,
    CompetitionState,
    EntryRow,
)

rx.asset("hubsocket.js", shared=True)  # the hub socket leaderboard.jsx imports (components/hubsocket.js)


class Leaderboard(rx.Component):
    """Rank, trader, entry, score, return, drawdown, trades and a sparkline per entry, rows sliding on rank
    changes, the viewer's entries highlighted, and a chart of the top entries' equity.

    Props: ``competition`` (``cp_…``), ``mine`` (the viewer's entry ids), ``capital``, ``server_url``
    (default: the backend's ``/live/ws``), ``theme``. No row passes through Reflex state.
    """

    library = "$/public/" + rx.asset("leaderboard.jsx", shared=True)
    lib_dependencies: list[str] = [LIGHTWEIGHT_CHARTS]
    tag = "Leaderboard"

    competition: rx.Var[str]
    mine: rx.Var[list[str]]
    capital: rx.Var[float]
    server_url: rx.Var[str]
    theme: rx.Var[str]


def leaderboard() -> rx.Component:
    """The live board of the page's competition."""
    detail = CompetitionState.competition
    return Leaderboard.create(
        competition=detail.id,
        mine=CompetitionState.my_entries,
        capital=detail.capital,
        theme=rx.color_mode_cond(light="light", dark="dark"),
    )


# ---- the list ------------------------------------------------------------------------------------------


def _status_badge(status: rx.Var[str]) -> rx.Component:
    colour = rx.match(status, ("running", "green"), ("finished", "gray"), "blue")
    return rx.badge(status, color_scheme=colour, data_testid="competition-status")


def _competition_card(row: rx.Var[CompetitionRow]) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.vstack(
                    rx.heading(row.title, size="4"),
                    rx.text(row.host, " · ", row.symbols, " · ", row.metric, size="2", color_scheme="gray"),
                    rx.text(row.starts, " → ", row.ends, size="1", color_scheme="gray"),
                    spacing="1",
                ),
                rx.spacer(),
                rx.text(row.entry_count, " entries", size="2"),
                _status_badge(row.status),
                align="center",
                width="100%",
            ),
            width="100%",
        ),
        href="/competitions/" + row.id,
        underline="none",
        width="100%",
        data_testid="competition-card",
    )


def _create_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Organise a competition", size="4"),
                field("Title", "title", required=True),
                text_area("Rules", "rules", rows="3"),
                field("Symbols", "symbols", placeholder="GOOG, AAPL", required=True),
                rx.hstack(
                    rx.vstack(
                        rx.text("Prices", size="2", weight="medium"),
                        rx.select(MODES, value=CompetitionsState.mode, on_change=CompetitionsState.set_mode),
                    ),
                    field("Replay from", "replay_start", kind="date", default_value="2012-01-03"),
                    field("Replay to", "replay_end", kind="date", default_value="2012-12-31"),
                    width="100%",
                ),
                rx.hstack(
                    field("Start (UTC)", "starts_at", kind="datetime-local", required=True),
                    field("Minutes", "minutes", kind="number", default_value="60", min="1"),
                    field(
                        "Entry deadline (UTC)",
                        "entry_deadline",
                        kind="datetime-local",
                        hint="Default: the start.",
                    ),
                    width="100%",
                ),
                rx.hstack(
                    field("Starting capital", "capital", kind="number", default_value="100000"),
                    field("Commission %", "commission_pct", kind="number", default_value="0", step="0.01"),
                    field("Slippage (bp)", "slippage_bps", kind="number", default_value="0"),
                    field("Entries per person", "max_entries", kind="number", default_value="1", min="1"),
                    width="100%",
                ),
                rx.hstack(
                    rx.text("Order types", size="2", weight="medium"),
                    *[
                        rx.checkbox(kind, name=f"order_{kind}", default_checked=kind == "market")
                        for kind in ORDER_KINDS
                    ],
                    spacing="3",
                ),
                rx.hstack(
                    rx.vstack(
                        rx.text("Scoring", size="2", weight="medium"),
                        rx.select(
                            METRICS, value=CompetitionsState.metric, on_change=CompetitionsState.set_metric
                        ),
                    ),
                    rx.cond(
                        CompetitionsState.metric == "return-drawdown",
                        field("Drawdown limit %", "drawdown_limit_pct", kind="number", default_value="20"),
                    ),
                    rx.cond(
                        CompetitionsState.orgs.length() > 0,  # type: ignore[attr-defined]
                        rx.vstack(
                            rx.text("Host organisation", size="2", weight="medium"),
                            rx.select(CompetitionsState.orgs, name="org", placeholder="the site"),
                        ),
                    ),
                    width="100%",
                ),
                text_area("Prizes", "prizes", rows="2"),
                error(CompetitionsState.error, "competition-form-error"),
                rx.button("Create competition", type="submit", data_testid="competition-create"),
                spacing="3",
                width="100%",
            ),
            on_submit=CompetitionsState.create,
        ),
        width="100%",
    )


def competitions_page() -> rx.Component:
    """Running, upcoming and finished competitions; the create form for organisers."""
    return rx.vstack(
        rx.heading("Competitions", size="7"),
        rx.text(
            "Enter a frozen version of your strategy; every entry trades the same prices with the same "
            "fills, and the board moves as the scores change.",
            color_scheme="gray",
        ),
        rx.cond(CompetitionsState.can_create, _create_form()),
        rx.cond(
            CompetitionsState.rows.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(rx.foreach(CompetitionsState.rows, _competition_card), width="100%", spacing="2"),
            rx.cond(CompetitionsState.loaded, rx.text("No competitions yet.", color_scheme="gray")),
        ),
        spacing="4",
        width="100%",
    )


# ---- one competition -----------------------------------------------------------------------------------


def _term(label: str, value: rx.Var[str] | rx.Var[float] | rx.Var[int]) -> rx.Component:
    return rx.hstack(rx.text(label, size="2", color_scheme="gray", min_width="9em"), rx.text(value, size="2"))


def _terms() -> rx.Component:
    c = CompetitionState.competition
    return rx.card(
        rx.vstack(
            _term("Host", c.host),
            _term("Symbols", c.symbols),
            _term("Prices", c.window),
            _term("Runs", c.starts + " → " + c.ends),
            _term("Entry deadline", c.deadline),
            _term("Starting capital", c.capital),
            _term("Order types", c.order_types),
            _term("Costs", c.costs),
            _term("Scoring", c.metric),
            _term("Entries per person", c.max_entries),
            rx.cond(c.rules != "", rx.text(c.rules, white_space="pre-wrap", size="2")),
            rx.cond(c.prizes != "", rx.text("Prizes: ", c.prizes, size="2", weight="medium")),
            rx.cond(
                c.chat_room != "",
                rx.link("Talk with the entrants in the chat room", href="/chat/" + c.chat_room, size="2"),
            ),
            spacing="1",
        ),
        width="100%",
    )


def _enter_form() -> rx.Component:
    return rx.cond(
        CompetitionState.may_enter,
        rx.hstack(
            rx.select.root(
                rx.select.trigger(placeholder="Your strategy", data_testid="entry-strategy"),
                rx.select.content(
                    rx.foreach(CompetitionState.strategies, lambda s: rx.select.item(s[1], value=s[0]))
                ),
                value=CompetitionState.chosen,
                on_change=CompetitionState.choose,
            ),
            rx.button(
                "Enter its latest version", on_click=CompetitionState.enter, data_testid="entry-submit"
            ),
            align="center",
        ),
    )


def _entry(row: rx.Var[EntryRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.rank),
        rx.table.cell(row.user),
        rx.table.cell(rx.link(row.title, href="/strategies/" + row.strategy), " v", row.version),
        rx.table.cell(
            rx.badge(row.status), rx.cond(row.error != "", rx.text(row.error, size="1", color_scheme="red"))
        ),
        data_testid="entry-row",
        data_mine=row.mine,
    )


def competition_page() -> rx.Component:
    """The terms, entering, the live board and the entries of the competition of the URL."""
    c = CompetitionState.competition
    found = rx.vstack(
        rx.hstack(
            rx.heading(c.title, size="7", data_testid="competition-title"),
            _status_badge(c.status),
            align="center",
        ),
        _terms(),
        _enter_form(),
        error(CompetitionState.error, "entry-error"),
        success(CompetitionState.message, "entry-message"),
        rx.card(leaderboard(), width="100%"),
        rx.heading("Entries", size="4"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[rx.table.column_header_cell(h) for h in ("Rank", "Trader", "Strategy", "Status")]
                )
            ),
            rx.table.body(rx.foreach(CompetitionState.entries, _entry)),
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
    return rx.cond(
        CompetitionState.missing,
        rx.callout(CompetitionState.error, icon="trophy", data_testid="competition-missing"),
        rx.cond(c.id != "", found, rx.spinner()),
    )

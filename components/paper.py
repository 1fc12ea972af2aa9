"""The strategy page's paper-trading panel: deploy the latest version, the deployments with stop/restart,
and the followed account live (equity line, cash, P&L, positions, fills) from ``components/paper.jsx``."""

from __future__ import annotations

import reflex as rx

from components.charts import LIGHTWEIGHT_CHARTS
from components.forms import error, success
from state.paper import DeploymentRow, PaperState
from state.workspace import StrategyState

rx.asset("hubsocket.js", shared=True)  # the hub socket paper.jsx imports (components/hubsocket.js)


class PaperAccount(rx.Component):
    """A paper account, live over the broadcast websocket (``paper.<account>``); no number goes through
    Reflex state. Props: ``account``, ``theme``, ``height``."""

    library = "$/public/" + rx.asset("paper.jsx", shared=True)
    lib_dependencies: list[str] = [LIGHTWEIGHT_CHARTS]
    tag = "PaperAccount"

    account: rx.Var[str]
    theme: rx.Var[str]
    height: rx.Var[int]


def _deploy_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(
                name="symbols",
                default_value=PaperState.symbols,
                placeholder="GOOG",
                aria_label="Symbols to paper-trade",
                data_testid="paper-symbols",
                width="9em",
            ),
            rx.input(
                name="capital",
                default_value=PaperState.capital,
                aria_label="Capital",
                data_testid="paper-capital",
                width="8em",
            ),
            rx.input(
                name="commission",
                default_value=PaperState.commission,
                aria_label="Commission",
                data_testid="paper-commission",
                width="6em",
            ),
            rx.button("Deploy latest version", type="submit", data_testid="paper-deploy"),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        on_submit=PaperState.deploy,
    )


def _deployment_row(row: rx.Var[DeploymentRow]) -> rx.Component:
    return rx.hstack(
        rx.link(
            row.id, on_click=PaperState.follow(row.id), cursor="pointer", data_testid="paper-deployment-id"
        ),
        rx.badge("v", row.version),
        rx.text(row.symbols, size="2"),
        rx.badge(
            row.status,
            color_scheme=rx.match(row.status, ("running", "green"), ("failed", "red"), "gray"),
            data_testid="paper-status",
        ),
        rx.cond(row.error != "", rx.text(row.error, size="1", color_scheme="red")),
        rx.spacer(),
        rx.cond(
            StrategyState.can_edit,
            rx.cond(
                row.status == "running",
                rx.button(
                    "Stop",
                    size="1",
                    variant="soft",
                    on_click=PaperState.stop(row.id),
                    data_testid="paper-stop",
                ),
                rx.button(
                    "Restart",
                    size="1",
                    variant="soft",
                    on_click=PaperState.restart(row.id),
                    data_testid="paper-restart",
                ),
            ),
        ),
        width="100%",
        align="center",
        data_testid="paper-deployment",
    )


def paper_panel() -> rx.Component:
    """Paper trading for the open strategy (deploying needs owner or editor access)."""
    return rx.card(
        rx.vstack(
            rx.heading("Paper trading", size="4", as_="h2"),
            rx.text(
                "Run the latest saved version on the live bars (",
                PaperState.live_symbols,
                ") in a sandbox; a simulated broker fills its orders with the backtest's rules and costs.",
                size="2",
                color_scheme="gray",
            ),
            error(PaperState.error, "paper-error"),
            success(PaperState.message, "paper-message"),
            rx.cond(StrategyState.can_edit & (StrategyState.latest_version > 0), _deploy_form()),
            rx.foreach(PaperState.deployments, _deployment_row),
            rx.cond(
                PaperState.account != "",
                PaperAccount.create(
                    account=PaperState.account,
                    theme=rx.color_mode_cond(light="light", dark="dark"),
                    height=200,
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="paper-panel",
        on_mount=PaperState.load,
    )

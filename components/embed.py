"""/embed/[public_id]: the small read-only card other sites show in an ``<iframe>`` — no navigation."""

from __future__ import annotations

import reflex as rx

from state.embed import EmbedState


def _figure(label: str, value: rx.Var[str], testid: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, size="4", weight="bold", data_testid=testid),
        spacing="0",
    )


def _card() -> rx.Component:
    card = EmbedState.card
    figures = rx.vstack(
        rx.hstack(
            _figure("Return", card.return_pct, "embed-return"),
            _figure("Sharpe ratio", card.sharpe, "embed-sharpe"),
            _figure("Max drawdown", card.max_drawdown_pct, "embed-drawdown"),
            spacing="5",
        ),
        rx.hstack(
            rx.icon("badge-check", size=14, color=rx.color("green", 10)),
            rx.text(
                "Verified backtest as of ",
                card.verified_at,
                rx.cond(card.verified_version != "", " (version " + card.verified_version + ")", ""),
                size="1",
                color_scheme="gray",
                data_testid="embed-as-of",
            ),
            spacing="1",
            align="center",
        ),
        spacing="2",
    )
    return rx.vstack(
        rx.link(
            rx.heading(card.title, size="5", data_testid="embed-title"),
            href="/strategies/" + card.id,
            is_external=True,
            underline="hover",
        ),
        rx.text("by ", card.owner, size="2", color_scheme="gray", data_testid="embed-owner"),
        rx.cond(
            card.verified,
            figures,
            rx.text("No verified backtest yet", size="2", color_scheme="gray", data_testid="embed-none"),
        ),
        rx.text("Quanta", size="1", color_scheme="gray", weight="medium"),
        spacing="2",
    )


def embed_card() -> rx.Component:
    """The strategy's title, author and latest verified backtest, or "not found"."""
    missing = rx.vstack(
        rx.heading("Strategy not found", size="4", data_testid="strategy-not-found"),
        rx.text("There is no such strategy, or it is private.", size="2", color_scheme="gray"),
        spacing="1",
    )
    return rx.box(
        rx.card(
            rx.cond(
                EmbedState.missing,
                missing,
                rx.cond(EmbedState.loaded, _card(), rx.spinner()),
            ),
            width="100%",
        ),
        padding="0.5em",
        width="100%",
    )

"""/: what Quanta is, and the way in."""

import reflex as rx

from components.layout import shell


def _feature(icon: str, title: str, text: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon(icon, size=22, color=rx.color("accent", 9)),
            rx.heading(title, size="4"),
            rx.text(text, size="2", color_scheme="gray"),
            spacing="2",
        ),
    )


@rx.page(route="/", title="Quanta")
def index() -> rx.Component:
    """The landing page."""
    return shell(
        rx.vstack(
            rx.heading("Algorithmic trading, in Python, in the open.", size="8"),
            rx.text(
                "Explore real market data, write strategies, backtest them and share what works.",
                size="4",
                color_scheme="gray",
            ),
            rx.link(
                rx.button("Open the market explorer", rx.icon("arrow-right", size=16), size="3"),
                href="/markets",
            ),
            rx.grid(
                _feature(
                    "candlestick-chart",
                    "Real market data",
                    "US stocks and indices from 1986 on, with provenance, resampled to weeks and months.",
                ),
                _feature(
                    "line-chart",
                    "Indicators",
                    "TA-Lib-compatible indicators drawn over prices: SMA, EMA, Bollinger bands.",
                ),
                _feature("upload", "Your own data", "Upload CSV or Parquet bars; every row is validated."),
                columns=rx.breakpoints(initial="1", sm="3"),
                spacing="4",
                width="100%",
            ),
            spacing="5",
            padding_y="2em",
        )
    )

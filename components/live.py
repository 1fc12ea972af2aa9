"""The live market panel: a symbol picker and the ticking chart fed by the broadcast websocket."""

from __future__ import annotations

import reflex as rx

from components.charts import LIGHTWEIGHT_CHARTS
from state.live import LiveState

rx.asset("hubsocket.js", shared=True)  # the hub socket live.jsx imports (components/hubsocket.js)


class LiveMarket(rx.Component):
    """Candles that tick as bars arrive, with last price, change, volume, indicators and a status badge;
    while the topic is stale, a banner says since when and why (``live-stale``), until bars flow again.

    Props: ``symbol``, ``topic_prefix`` (default ``market.bars.1s.``), ``server_url`` (default: the
    backend's ``/live/ws``), ``theme``, ``height``. The component holds its own websocket (see
    ``components/live.jsx``); no bar goes through Reflex state.
    """

    library = "$/public/" + rx.asset("live.jsx", shared=True)
    lib_dependencies: list[str] = [LIGHTWEIGHT_CHARTS]
    tag = "LiveMarket"

    symbol: rx.Var[str]
    topic_prefix: rx.Var[str]
    server_url: rx.Var[str]
    theme: rx.Var[str]
    height: rx.Var[int]


def live_market(symbol: rx.Var[str] | str, height: int = 440) -> rx.Component:
    """The live chart of ``symbol``, following the app's light/dark mode."""
    return LiveMarket.create(
        symbol=symbol, theme=rx.color_mode_cond(light="light", dark="dark"), height=height
    )


def live_panel() -> rx.Component:
    """The /live page's content: heading, symbol picker, chart."""
    return rx.vstack(
        rx.hstack(
            rx.heading("Live market", size="6"),
            rx.spacer(),
            rx.select.root(
                rx.select.trigger(aria_label="Symbol", data_testid="live-symbol"),
                rx.select.content(rx.foreach(LiveState.symbols, lambda s: rx.select.item(s, value=s))),
                value=LiveState.symbol,
                on_change=LiveState.choose,
            ),
            align="center",
            width="100%",
        ),
        rx.text(
            "Stored daily bars replayed as live ticks, one trading day per bar; indicators are computed "
            "as the bars arrive.",
            color_scheme="gray",
            size="2",
        ),
        rx.card(live_market(LiveState.symbol), width="100%"),
        spacing="3",
        width="100%",
    )

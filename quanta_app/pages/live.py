"""/live: live market data, ticking."""

import reflex as rx

from components.layout import shell
from components.live import live_panel
from state.live import LiveState


@rx.page(route="/live", title="Live · Quanta", on_load=LiveState.on_load)
def live() -> rx.Component:
    """A live candle chart of one symbol, with its last price, change, volume and indicators."""
    return shell(live_panel())

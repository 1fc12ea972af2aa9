"""/markets: the market explorer."""

import reflex as rx

from components.explorer import explorer
from components.layout import shell
from state.explorer import ExplorerState


@rx.page(route="/markets", title="Markets · Quanta", on_load=ExplorerState.on_load)
def markets() -> rx.Component:
    """Search instruments, chart them with indicators, page through and export their bars."""
    return shell(explorer())

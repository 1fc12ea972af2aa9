"""The /live page's state: which live symbol is shown (the bars themselves bypass Reflex state)."""

from __future__ import annotations

import reflex as rx

from quanta.settings import get_settings


class LiveState(rx.State):
    """The symbol picker of the live market page."""

    symbol: str = "GOOG"
    symbols: list[str] = []

    @rx.event
    def on_load(self) -> None:
        """The live symbols from the settings; ``?symbol=`` picks one."""
        self.symbols = get_settings().live_symbol_list
        wanted = str(self.router.url.query_parameters.get("symbol", "") or self.symbol).upper()
        self.symbol = wanted if wanted in self.symbols else (self.symbols[0] if self.symbols else "")

    @rx.event
    def choose(self, symbol: str) -> None:
        """Show ``symbol`` (one of the live symbols)."""
        if symbol in self.symbols:
            self.symbol = symbol

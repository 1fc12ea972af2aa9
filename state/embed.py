"""State of /embed/[public_id]: the read-only card other sites embed — title, author and the latest
verified backtest. It is read as nobody in particular (an embedding page is another site, whose frames do
not carry our session cookie anyway), so private strategies are not found even by their owner."""

from __future__ import annotations

import reflex as rx

from quanta import db
from quanta.workspace import StrategyNotFound, service
from state.views import last_segment
from state.workspace_views import StrategyCard, strategy_card


class EmbedState(rx.State):
    """The embedded strategy's card, or ``missing``."""

    card: StrategyCard = StrategyCard()
    missing: bool = False
    loaded: bool = False

    @rx.event
    def load(self) -> None:
        """Show the public or unlisted strategy of the URL."""
        self.card, self.missing, self.loaded = StrategyCard(), False, False
        try:
            with db.session() as unit:
                strategy = service.strategy_by_public_id(
                    session=unit, public_id=last_segment(self.router.url.path), user_id=None
                )
                self.card = strategy_card(
                    service.strategy_view(session=unit, strategy=strategy, user_id=None)
                )
        except StrategyNotFound:
            self.missing = True
        self.loaded = True

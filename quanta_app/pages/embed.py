"""/embed/[public_id]: a read-only card of a public or unlisted strategy, for other sites' iframes."""

import reflex as rx

from components.embed import embed_card
from state.embed import EmbedState


@rx.page(route="/embed/[public_id]", title="Strategy · Quanta", on_load=EmbedState.load)
def embed() -> rx.Component:
    """Title, author and the latest verified backtest; no navigation."""
    return embed_card()

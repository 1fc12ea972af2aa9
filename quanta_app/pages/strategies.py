"""/strategies: the gallery of public strategies; signed in, also yours and those shared with you."""

import reflex as rx

from components.gallery import gallery
from components.layout import shell
from state.gallery import GalleryState


@rx.page(route="/strategies", title="Strategies · Quanta", on_load=GalleryState.load)
def strategies() -> rx.Component:
    """Search, sort and page through strategies; create one from a template."""
    return shell(gallery())

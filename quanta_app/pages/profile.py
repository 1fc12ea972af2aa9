"""/u/[username]: a trader's public profile."""

import reflex as rx

from components.layout import shell
from components.profile import public_profile
from state.profile import PublicProfileState


@rx.page(route="/u/[username]", title="Trader · Quanta", on_load=PublicProfileState.load)
def profile() -> rx.Component:
    """The public profile of the username in the URL."""
    return shell(public_profile())

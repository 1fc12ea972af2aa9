"""/competitions: running, upcoming and finished competitions; the create form for organisers."""

import reflex as rx

from components.layout import shell
from components.leaderboard import competitions_page
from state.competitions import CompetitionsState


@rx.page(route="/competitions", title="Competitions · Quanta", on_load=CompetitionsState.load)
def competitions() -> rx.Component:
    """The competitions, and (for site admins and organisations' owners and admins) a form to create one."""
    return shell(competitions_page())

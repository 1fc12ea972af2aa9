"""/competitions/[public_id]: one competition — its terms, entering, the live leaderboard and the entries."""

import reflex as rx

from components.layout import shell
from components.leaderboard import competition_page
from state.competitions import CompetitionState


@rx.page(
    route="/competitions/[public_id]",
    title="Competition · Quanta",
    on_load=[CompetitionState.load, CompetitionState.follow],
)
def competition() -> rx.Component:
    """The competition of the URL; its board moves live as the entries' scores change."""
    return shell(competition_page())

"""/strategies/[public_id]: one strategy — the live collaborative editor, the run panel, versions, diffs,
stars, forks, collaborators, settings."""

import reflex as rx

from components.layout import shell
from components.workspace import strategy_page
from state.strategy_run import StrategyRunShared, StrategyRunState
from state.workspace import StrategyState


@rx.page(
    route="/strategies/[public_id]",
    title="Strategy · Quanta",
    on_load=[StrategyState.load, StrategyRunState.prepare, StrategyRunShared.link],
)
def strategy() -> rx.Component:
    """The strategy of the URL as the signed-in person (or a visitor) may see it."""
    return shell(strategy_page())

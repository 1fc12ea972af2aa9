"""/results: saved backtests and optimisations, and the bundled examples to run."""

import reflex as rx

from components.layout import shell
from components.results import results
from state.results import ResultsState


@rx.page(route="/results", title="Results · Quanta", on_load=ResultsState.on_load)
def results_page() -> rx.Component:
    """Runs from the CLI or the example gallery: equity, drawdown, trades on the candles, statistics."""
    return shell(results())

"""/reset: ask for a reset link; /reset?token=…: choose a new password (emails link to /reset-password)."""

import reflex as rx

from components.auth import reset_form
from components.layout import shell
from state.reset import ResetState


@rx.page(route="/reset-password", title="Reset your password · Quanta", on_load=ResetState.on_load)
@rx.page(route="/reset", title="Reset your password · Quanta", on_load=ResetState.on_load)
def reset() -> rx.Component:
    """The request form, or the new-password form."""
    return shell(reset_form())

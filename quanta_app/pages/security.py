"""/security: the audit log of your account and of the organisations you manage."""

import reflex as rx

from components.layout import shell
from components.security import security_log
from state.security import SecurityState


@rx.page(route="/security", title="Security log · Quanta", on_load=SecurityState.load)
def security() -> rx.Component:
    """Your events and your organisations'."""
    return shell(security_log())

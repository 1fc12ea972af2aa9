"""/verify?token=…: the emailed link that confirms an address (the emails link to /verify-email)."""

import reflex as rx

from components.auth import verify_result
from components.layout import shell
from state.verify import VerifyState


@rx.page(route="/verify-email", title="Confirm your email · Quanta", on_load=VerifyState.on_load)
@rx.page(route="/verify", title="Confirm your email · Quanta", on_load=VerifyState.on_load)
def verify() -> rx.Component:
    """Whether the address is confirmed."""
    return shell(verify_result())

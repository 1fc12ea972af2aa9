"""/signup: create an account."""

import reflex as rx

from components.auth import sign_up_form
from components.layout import shell
from state.signup import SignUpState


@rx.page(route="/signup", title="Create an account · Quanta", on_load=SignUpState.on_load)
def signup() -> rx.Component:
    """The sign-up form, then "check your inbox"."""
    return shell(sign_up_form())

"""/signin: email and password; back to ``?next=`` afterwards."""

import reflex as rx

from components.auth import sign_in_form
from components.layout import shell
from state.signin import SignInState


@rx.page(route="/signin", title="Sign in · Quanta", on_load=SignInState.on_load)
def signin() -> rx.Component:
    """The sign-in form."""
    return shell(sign_in_form())

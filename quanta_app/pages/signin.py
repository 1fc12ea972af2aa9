"""/signin: email and password, or a sign-in provider; back to ``?next=`` afterwards.

Social sign-in (``quanta.oauth``'s ``SIGN_IN_PATH``) sends failures (``?error=``) and pending links
(``?link=``) here too.
"""

import reflex as rx

from components.auth import sign_in_form
from components.layout import shell
from state.signin import SignInState
from state.social import SocialState


@rx.page(route="/signin", title="Sign in · Quanta", on_load=[SignInState.on_load, SocialState.on_load])
def signin() -> rx.Component:
    """The sign-in form."""
    return shell(sign_in_form())

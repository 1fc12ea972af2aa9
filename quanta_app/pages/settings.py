"""/settings: your profile, email, password, browsers, access tokens and data."""

import reflex as rx

from components.account import settings as settings_sections
from components.layout import shell
from state.account import AccountState
from state.tokens import TokensState


@rx.page(route="/settings", title="Settings · Quanta", on_load=[AccountState.load, TokensState.load])
def settings() -> rx.Component:
    """Every account setting on one page."""
    return shell(settings_sections())

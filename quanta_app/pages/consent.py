"""/oauth/consent: approve or deny an application's authorization request (``?request=`` sealed)."""

import reflex as rx

from components.consent import consent_panel
from components.layout import shell
from state.consent import ConsentState


@rx.page(route="/oauth/consent", title="Authorize an application · Quanta", on_load=ConsentState.on_load)
def consent() -> rx.Component:
    """The consent page."""
    return shell(consent_panel())

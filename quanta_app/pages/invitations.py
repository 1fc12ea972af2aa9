"""/invitations/accept?token=…: join an organisation from an emailed invitation."""

import reflex as rx

from components.auth import invitation_result
from components.layout import shell
from state.invitations import InvitationState


@rx.page(route="/invitations/accept", title="Invitation · Quanta", on_load=InvitationState.accept)
def invitations() -> rx.Component:
    """Accepting, or why not."""
    return shell(invitation_result())

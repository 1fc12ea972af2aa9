"""State of /invitations/accept: join an organisation from an emailed invitation."""

from __future__ import annotations

import reflex as rx

from quanta import db
from quanta.accounts import AccountsError, service
from state.auth import AuthState


class InvitationState(AuthState):
    """Accept the invitation of ``?token=`` as the signed-in user."""

    error: str = ""

    @rx.event
    def accept(self) -> rx.event.EventSpec | None:
        """Join, then open the organisation; sign in first when needed."""
        token = self.router.url.query_parameters.get("token", "")
        self.error = ""
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                membership = service.accept_invitation(session=unit, user=user, token=token)
                orgs = service.list_organizations(session=unit, user=user)
                slug = next(org.slug for org, _ in orgs if org.id == membership.org_id)
        except AccountsError as exc:
            self.error = str(exc)
            return None
        return rx.redirect(f"/orgs/{slug}")

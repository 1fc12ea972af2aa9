"""State of /verify: use the emailed link that confirms an address."""

from __future__ import annotations

import reflex as rx

from quanta import db
from quanta.accounts import AccountsError, service
from state.auth import AuthState


class VerifyState(AuthState):
    """Whether the link in ``?token=`` confirmed the address."""

    verified: bool = False
    error: str = ""
    verified_email: str = ""

    @rx.event
    def on_load(self) -> None:
        """Use the token of the link (it works once)."""
        token = self.router.url.query_parameters.get("token", "")
        self.verified, self.error, self.verified_email = False, "", ""
        try:
            with db.session() as unit:
                user = service.verify_email(session=unit, token=token)
                self.verified_email = user.email
        except AccountsError as exc:
            self.error = str(exc)
            return
        self.verified = True

"""State of /reset: ask for a reset link, or use one (``?token=``) to choose a new password."""

from __future__ import annotations

from typing import Any

import reflex as rx

from quanta import db
from quanta.accounts import AccountsError, PasswordPolicyError, service
from state.auth import AuthState
from state.views import text


class ResetState(AuthState):
    """The reset page: the request form without a token, the new-password form with one."""

    _token: str = ""
    has_token: bool = False
    requested: bool = False
    done: bool = False
    error: str = ""
    problems: list[str] = []

    @rx.event
    def on_load(self) -> None:
        """Keep the link's token on the server and pick the form."""
        self._token = self.router.url.query_parameters.get("token", "")
        self.has_token = bool(self._token)
        self.requested, self.done, self.error, self.problems = False, False, "", []

    @rx.event
    def request(self, form: dict[str, Any]) -> None:
        """Email a reset link; the answer is the same whether or not the address has an account."""
        self.error = ""
        try:
            with db.session() as unit:
                service.request_password_reset(
                    session=unit, email=text(form, "email"), ip=self.router.session.client_ip or None
                )
        except AccountsError as exc:
            self.error = str(exc)
            return
        self.requested = True

    @rx.event
    def choose_password(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Set the new password (every browser is signed out), then go to sign in."""
        self.error, self.problems = "", []
        try:
            with db.session() as unit:
                service.reset_password(
                    session=unit, token=self._token, new_password=str(form.get("password") or "")
                )
        except PasswordPolicyError as exc:
            self.problems = list(exc.messages)
            return None
        except AccountsError as exc:
            self.error = str(exc)
            return None
        self.done = True
        self._forget()
        return rx.redirect("/signin?notice=password-reset")

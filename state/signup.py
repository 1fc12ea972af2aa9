"""State of /signup: create an account, then ask the person to open the emailed link."""

from __future__ import annotations

from typing import Any

import reflex as rx
from pydantic import ValidationError

from quanta import db
from quanta.accounts import AccountsError, PasswordPolicyError, password_problems, service
from quanta.accounts.models import UserCreate
from state.auth import AuthState
from state.views import invalid, text


class SignUpState(AuthState):
    """The sign-up form: password advice, errors, and the address the link went to."""

    problems: list[str] = []
    error: str = ""
    sent_to: str = ""

    @rx.event
    def on_load(self) -> None:
        """A fresh form."""
        self.problems, self.error, self.sent_to = [], "", ""

    @rx.event
    def check_password(self, password: str) -> None:
        """Advice on the password when the field loses focus (nothing is stored)."""
        self.problems = password_problems(password) if password else []

    @rx.event
    def submit(self, form: dict[str, Any]) -> None:
        """Create the account; the same "check your inbox" follows whether or not the address had one."""
        self.error = ""
        try:
            user_in = UserCreate(
                email=text(form, "email"),
                password=str(form.get("password") or ""),
                username=text(form, "username") or None,
            )
            with db.session() as unit:
                service.sign_up(session=unit, user_in=user_in, ip=self.router.session.client_ip or None)
        except PasswordPolicyError as exc:
            self.problems = list(exc.messages)
            return
        except AccountsError as exc:
            self.error = str(exc)
            return
        except ValidationError as exc:
            self.error = invalid(exc)
            return
        self.problems = []
        self.sent_to = user_in.email.strip().lower()

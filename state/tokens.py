"""State of the personal access tokens on /settings: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

import reflex as rx
from pydantic import ValidationError
from sqlmodel import Session

from quanta import db
from quanta.accounts import SCOPES, AccountsError, service
from quanta.accounts.models import PersonalAccessToken, PersonalAccessTokenCreate, User
from state.auth import AuthState
from state.views import checked, invalid, text, when

SCOPE_FIELD = "scope:"
EXPIRY_CHOICES = {"30 days": "30", "90 days": "90", "1 year": "366", "Never": "never"}
SCOPE_CHOICES = [{"scope": scope, "description": description} for scope, description in SCOPES.items()]


def _token_row(token: PersonalAccessToken) -> dict[str, str]:
    status = "revoked" if token.revoked_at is not None else "active"
    return {
        "id": str(token.id),
        "name": token.name,
        "prefix": f"{token.prefix}…",
        "scopes": ", ".join(token.scopes),
        "created": when(token.created_at),
        "expires": when(token.expires_at, empty="never"),
        "last_used": when(token.last_used_at, empty="never"),
        "status": status,
    }


class TokensState(AuthState):
    """Personal access tokens: the list, and a new token's secret until it is dismissed."""

    tokens: list[dict[str, str]] = []
    new_secret: str = ""
    new_name: str = ""
    error: str = ""

    @rx.event
    def load(self) -> None:
        """List the user's tokens; a secret shown earlier is not shown again (the page's other loader
        sends people who are not signed in to sign in)."""
        self.new_secret, self.new_name, self.error = "", "", ""
        with db.session() as unit:
            user = self._user(unit)
            if user is not None:
                self._show(unit, user)

    @rx.event
    def create(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Create a token with the checked scopes; its secret is shown here once."""
        self.error = ""
        expiry = EXPIRY_CHOICES.get(text(form, "expires"), "90")
        try:
            token_in = PersonalAccessTokenCreate(
                name=text(form, "name"),
                scopes=checked(form, SCOPE_FIELD),
                expires_in_days=None if expiry == "never" else int(expiry),
            )
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                issued = service.create_personal_access_token(session=unit, user=user, token_in=token_in)
                self.new_secret, self.new_name = issued.secret, issued.token.name
                self._show(unit, user)
        except AccountsError as exc:
            self.error = str(exc)
        except ValidationError as exc:
            self.error = invalid(exc)
        return None

    @rx.event
    def revoke(self, token_id: str) -> rx.event.EventSpec | None:
        """Revoke a token: API calls with it fail from now on."""
        self.error = ""
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                service.revoke_personal_access_token(session=unit, user=user, token_id=int(token_id))
                self._show(unit, user)
        except AccountsError as exc:
            self.error = str(exc)
        return None

    @rx.event
    def dismiss_secret(self) -> None:
        """Forget the secret: it cannot be shown again."""
        self.new_secret, self.new_name = "", ""

    def _show(self, unit: Session, user: User) -> None:
        self.tokens = [
            _token_row(token) for token in service.list_personal_access_tokens(session=unit, user=user)
        ]

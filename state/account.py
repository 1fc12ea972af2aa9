"""State of /settings: profile, email address, password, signed-in browsers, export and deletion.

Personal access tokens, on the same page, have their own state (``state.tokens``).
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx
from pydantic import ValidationError
from sqlmodel import Session

from quanta import db
from quanta.accounts import AccountsError, service
from quanta.accounts.models import AuthSession, CurrentSession, ProfileUpdate
from state import browser
from state.auth import AuthState
from state.views import invalid, lines, text, when

PASSWORD_FORM = "password-form"  # noqa: S105 - an element id
NOTICES = {"changed": "Your password is changed. Every other browser was signed out."}


def _session_row(row: AuthSession, current_id: int | None) -> dict[str, str]:
    return {
        "id": str(row.id),
        "device": row.user_agent or "Unknown browser",
        "ip": row.ip or "—",
        "signed_in": when(row.created_at),
        "last_seen": when(row.last_seen_at),
        "current": "yes" if row.id == current_id else "",
    }


class AccountState(AuthState):
    """The settings page, except tokens: each section keeps its own message and error."""

    loaded: bool = False
    profile: dict[str, str] = {}
    profile_message: str = ""
    profile_error: str = ""
    email_message: str = ""
    email_error: str = ""
    password_notice: str = ""
    password_error: str = ""
    password_problems: list[str] = []
    sessions: list[dict[str, str]] = []
    sessions_error: str = ""
    delete_error: str = ""
    deleted: bool = False

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Fill every section for the signed-in user (or send them to sign in)."""
        self._clear_messages()
        self.password_notice = NOTICES.get(self.router.url.query_parameters.get("password", ""), "")
        with db.session() as unit:
            current = self._resolve(unit)
            if current is None:
                return self._to_sign_in()
            self._show(unit, current)
        return None

    @rx.event
    def save_profile(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Save display name, username, bio, avatar and links."""
        self.profile_message, self.profile_error = "", ""
        try:
            update = ProfileUpdate(
                display_name=text(form, "display_name"),
                username=text(form, "username"),
                bio=text(form, "bio"),
                avatar_url=text(form, "avatar_url"),
                links=lines(str(form.get("links") or "")),
            )
            with db.session() as unit:
                current = self._resolve(unit)
                if current is None:
                    return self._to_sign_in()
                service.update_profile(session=unit, user=current.user, profile_in=update)
                self._show(unit, current)
        except AccountsError as exc:
            self.profile_error = str(exc)
            return None
        except ValidationError as exc:
            self.profile_error = invalid(exc)
            return None
        self.profile_message = "Profile saved."
        return None

    @rx.event
    def change_email(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Email a confirmation link to the new address (the password is checked first)."""
        self.email_message, self.email_error = "", ""
        new_email = text(form, "new_email")
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                service.change_email(
                    session=unit, user=user, password=str(form.get("password") or ""), new_email=new_email
                )
        except AccountsError as exc:
            self.email_error = str(exc)
            return None
        self.email_message = (
            f"We sent a confirmation link to {new_email.lower()}. Your address changes when you open it."
        )
        return None

    @rx.event
    def resend_verification(self) -> rx.event.EventSpec | None:
        """Email a fresh verification link."""
        self.email_message, self.email_error = "", ""
        with db.session() as unit:
            user = self._user(unit)
            if user is None:
                return self._to_sign_in()
            service.send_email_verification(session=unit, user=user)
        self.email_message = f"We sent a new link to {self.viewer.email}."
        return None

    @rx.event
    def password_failed(self, result: dict[str, Any]) -> None:
        """Show why the password endpoint refused (on success the page is reloading already)."""
        if result.get("ok"):
            return
        self.password_error = str(result.get("detail") or "")
        self.password_problems = [str(problem) for problem in result.get("problems") or []]
        if self.password_problems:
            self.password_error = ""

    @rx.event
    def revoke_session(self, session_id: str) -> rx.event.EventSpec | None:
        """Sign out one browser; signing out this one ends up on the sign-in page."""
        self.sessions_error = ""
        try:
            with db.session() as unit:
                current = self._resolve(unit)
                if current is None:
                    return self._to_sign_in()
                service.revoke_session(session=unit, user=current.user, session_id=int(session_id))
                if current.auth_session.id == int(session_id):
                    self._forget()
                    return browser.sign_out("/signin?notice=signed-out")
                self._show(unit, current)
        except (AccountsError, ValueError) as exc:
            self.sessions_error = str(exc)
        return None

    @rx.event
    def download_export(self) -> rx.event.EventSpec | None:
        """Everything stored about the account, as a JSON file."""
        with db.session() as unit:
            user = self._user(unit)
            if user is None:
                return self._to_sign_in()
            export = service.export_account(session=unit, user=user)
        return self._download(export)

    @rx.event
    def delete_account(self, form: dict[str, Any]) -> list[rx.event.EventSpec] | rx.event.EventSpec | None:
        """Delete the account (password required); its final export downloads and the cookie is cleared."""
        self.delete_error = ""
        if not form.get("confirm"):
            self.delete_error = "Tick the box to confirm that you want to delete your account."
            return None
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                export = service.delete_account(
                    session=unit, user=user, password=str(form.get("password") or "")
                )
        except AccountsError as exc:
            self.delete_error = str(exc)
            return None
        self.deleted = True
        self._forget()
        return [self._download(export), browser.sign_out(then=None)]

    def _download(self, export: dict[str, Any]) -> rx.event.EventSpec:
        name = f"quanta-account-{self.viewer.username or 'export'}.json"
        return rx.download(data=json.dumps(export, indent=2), filename=name, mime_type="application/json")

    def _show(self, unit: Session, current: CurrentSession) -> None:
        profile = service.get_profile(session=unit, user=current.user)
        self.profile = {
            "display_name": profile.display_name,
            "username": profile.username,
            "bio": profile.bio,
            "avatar_url": profile.avatar_url or "",
            "links": "\n".join(profile.links),
        }
        rows = service.list_sessions(session=unit, user=current.user)
        self.sessions = [_session_row(row, current.auth_session.id) for row in rows]
        self.loaded, self.deleted = True, False

    def _clear_messages(self) -> None:
        self.profile_message = self.profile_error = self.email_message = self.email_error = ""
        self.password_error, self.password_problems = "", []
        self.sessions_error = self.delete_error = ""

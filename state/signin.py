"""State of /signin: the form posts to ``POST /api/session`` from the browser; this shows what went wrong."""

from __future__ import annotations

from typing import Any

import reflex as rx

from quanta import db
from state.auth import AuthState, local_path

NOTICES = {
    "password-reset": "Your password is changed. Sign in with the new one.",
    "signed-out": "You are signed out.",
    "session-ended": "Your session has ended. Sign in again.",
}


class SignInState(AuthState):
    """The sign-in page: an error from the endpoint, and how long to wait when throttled."""

    error: str = ""
    retry_after: int = 0
    notice: str = ""

    @rx.event
    def on_load(self) -> rx.event.EventSpec | None:
        """Go straight to ``?next=`` when already signed in; show a notice named in ``?notice=``."""
        params = self.router.url.query_parameters
        self.error, self.retry_after = "", 0
        self.notice = NOTICES.get(params.get("notice", ""), "")
        with db.session() as unit:
            current = self._resolve(unit)
        return rx.redirect(local_path(params.get("next", "/"))) if current is not None else None

    @rx.event
    def finish(self, result: dict[str, Any]) -> None:
        """Show the endpoint's answer (on success the browser is already loading the next page)."""
        self.error = "" if result.get("ok") else str(result.get("detail") or "Sign-in failed.")
        self.retry_after = int(result.get("retry_after") or 0)

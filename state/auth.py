"""Who is signed in: the base state of every account page.

The session token lives in an HttpOnly cookie set by ``POST /api/session`` (``quanta_app.session_api``);
no script can read it. The websocket's HTTP handshake carries it, so the backend reads it from the request
headers (``self.router.headers.cookie``), resolves it against the database and keeps only the user id, in a
backend-only var, plus a small public view. Handlers that change anything resolve the cookie again, so a
revoked session stops working on the next action.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

import reflex as rx
from sqlmodel import Session

from quanta import db
from quanta.accounts import service
from quanta.accounts.models import CurrentSession, User
from quanta.settings import get_settings

SIGN_IN_ROUTE = "/signin"


def secure_cookies() -> bool:
    """Whether the session cookie is ``Secure`` and ``__Host-`` prefixed: everywhere but development."""
    return get_settings().env != "development"


def session_cookie_name() -> str:
    """The name the session cookie has in this environment."""
    return service.SECURE_SESSION_COOKIE if secure_cookies() else service.SESSION_COOKIE


def request_cookies(cookie_header: str) -> dict[str, str]:
    """The cookies of a ``Cookie:`` request header, by name (the first of a repeated name wins)."""
    cookies: dict[str, str] = {}
    for pair in cookie_header.split(";"):
        key, _, value = pair.strip().partition("=")
        cookies.setdefault(key, value.strip().strip('"'))
    return cookies


def session_token(cookie_header: str) -> str:
    """The session token in a ``Cookie:`` request header ('' if none): the ``__Host-`` cookie first, so a
    session set over https by another endpoint (the OIDC login) is found too."""
    return service.session_token_in(request_cookies(cookie_header)) or ""


def local_path(target: str, default: str = "/") -> str:
    """``target`` if it is a path on this site (never ``//host`` or ``https://…``), else ``default``."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


@dataclasses.dataclass(frozen=True)
class Viewer:
    """The signed-in person as the pages show them."""

    display_name: str = ""
    username: str = ""
    email: str = ""
    is_verified: bool = False


class AuthState(rx.State):
    """The signed-in user: the id stays on the server, the view goes to the browser."""

    _user_id: int | None = None
    signed_in: bool = False
    viewer: Viewer = Viewer()

    @rx.var
    def viewer_name(self) -> str:
        """The display name, or the username when there is none."""
        return self.viewer.display_name or self.viewer.username

    @rx.event
    def check_session(self) -> None:
        """Resolve the session cookie of this connection (every page does this when its navbar mounts)."""
        with db.session() as unit:
            self._resolve(unit)

    @rx.event
    def require_user(self) -> rx.event.EventSpec | None:
        """Send people who are not signed in to the sign-in page, and back here afterwards."""
        with db.session() as unit:
            current = self._resolve(unit)
        return self._to_sign_in() if current is None else None

    def _resolve(self, unit: Session) -> CurrentSession | None:
        """The session of this connection's cookie (None: absent, expired or revoked); updates the view."""
        token = session_token(self.router.headers.cookie)
        current = service.resolve_session(session=unit, token=token) if token else None
        if current is None:
            self._forget()
            return None
        profile = service.get_profile(session=unit, user=current.user)
        self._user_id = current.user.id
        self.signed_in = True
        self.viewer = Viewer(
            display_name=profile.display_name,
            username=profile.username,
            email=current.user.email,
            is_verified=current.user.email_verified_at is not None,
        )
        return current

    def _user(self, unit: Session) -> User | None:
        """The signed-in user, checked against the database now."""
        current = self._resolve(unit)
        return current.user if current is not None else None

    def _forget(self) -> None:
        self._user_id = None
        self.signed_in = False
        self.viewer = Viewer()

    def _to_sign_in(self) -> rx.event.EventSpec:
        """A redirect to the sign-in page that comes back to the current page."""
        url = self.router.url
        here = (url.path.rstrip("/") or "/") + (f"?{url.query}" if url.query else "")
        return rx.redirect(f"{SIGN_IN_ROUTE}?next={quote(local_path(here), safe='')}")

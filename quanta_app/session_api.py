"""The session cookie's HTTP endpoints: sign in, see who you are, change your password, sign out.

Only an HTTP response can set an HttpOnly cookie, so the sign-in form posts here with ``fetch`` and the
Reflex state then reads the cookie from its websocket's handshake (``state.auth``). Every endpoint that
changes something refuses requests whose ``Origin`` is not this site: with the cookie's SameSite=Lax that
stops cross-site request forgery. Errors are RFC 9457 problem documents.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from quanta import db
from quanta.accounts import service
from quanta.accounts.errors import (
    AccountDisabled,
    InvalidCredentials,
    PasswordPolicyError,
    Throttled,
)
from quanta.accounts.models import SessionGrant, User
from quanta.settings import get_settings
from state.auth import secure_cookies, session_cookie_name, session_token

router = APIRouter(prefix="/api/session", tags=["session"])

PROBLEM_JSON = "application/problem+json"
SESSION_COOKIES = (service.SECURE_SESSION_COOKIE, service.SESSION_COOKIE)
_MAX_PASSWORD = 1024


class SignIn(BaseModel):
    """The sign-in form."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    password: str = Field(max_length=_MAX_PASSWORD)


class PasswordChange(BaseModel):
    """The change-password form."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=_MAX_PASSWORD)
    new_password: str = Field(max_length=_MAX_PASSWORD)


class SessionUser(BaseModel):
    """Who a session belongs to."""

    id: int
    email: str
    email_verified: bool


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    retry_after: int | None = None
    problems: list[str] | None = None


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    schema = Problem.model_json_schema()
    return {status: {"content": {PROBLEM_JSON: {"schema": schema}}} for status in statuses}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def same_origin(request: Request) -> bool:
    """Whether the request comes from a page of this site (its ``Origin`` is this host or the public URL)."""
    origin = request.headers.get("origin", "")
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    public = urlsplit(get_settings().public_url)
    return parts.netloc == request.headers.get("host") or (parts.scheme, parts.netloc) == (
        public.scheme,
        public.netloc,
    )


def _cross_origin() -> JSONResponse:
    return problem(403, "Forbidden", "Requests to this endpoint must come from Quanta's own pages.")


def _session_user(user: User) -> dict[str, Any]:
    view = SessionUser(id=user.id or 0, email=user.email, email_verified=user.email_verified_at is not None)
    return view.model_dump()


def _with_cookie(response: Response, grant: SessionGrant) -> Response:
    response.set_cookie(**service.session_cookie(grant.token, secure=secure_cookies()))
    return response


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("", response_model=SessionUser, responses=_documented(401, 403, 429))
def sign_in(credentials: SignIn, request: Request) -> Response:
    """Check email and password and set the session cookie (HttpOnly, SameSite=Lax)."""
    if not same_origin(request):
        return _cross_origin()
    try:
        with db.session() as unit:
            grant = service.sign_in(
                session=unit,
                email=credentials.email,
                password=credentials.password,
                ip=_client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
            body = _session_user(grant.user)
    except Throttled as exc:
        return problem(429, "Too many attempts", str(exc), retry_after=exc.retry_after)
    except AccountDisabled as exc:
        return problem(403, "Account disabled", str(exc))
    except InvalidCredentials as exc:
        return problem(401, "Sign-in failed", str(exc))
    return _with_cookie(JSONResponse(body), grant)


@router.get("", response_model=SessionUser, responses=_documented(401))
def who_am_i(request: Request) -> Response:
    """The user of the session cookie, or 401."""
    token = session_token(request.headers.get("cookie", ""))
    with db.session() as unit:
        current = service.resolve_session(session=unit, token=token) if token else None
        body = _session_user(current.user) if current is not None else None
    if body is None:
        return problem(401, "Not signed in", "Sign in first.")
    return JSONResponse(body)


@router.post("/password", status_code=204, responses=_documented(401, 403, 422, 429))
def change_password(change: PasswordChange, request: Request) -> Response:
    """Change the password: every session ends, and this browser gets a fresh cookie."""
    if not same_origin(request):
        return _cross_origin()
    token = session_token(request.headers.get("cookie", ""))
    try:
        with db.session() as unit:
            current = service.resolve_session(session=unit, token=token) if token else None
            if current is None:
                return problem(401, "Not signed in", "Your session has ended. Sign in again.")
            grant = service.change_password(
                session=unit,
                user=current.user,
                current_password=change.current_password,
                new_password=change.new_password,
                current=current.auth_session,
            )
    except Throttled as exc:
        return problem(429, "Too many attempts", str(exc), retry_after=exc.retry_after)
    except InvalidCredentials as exc:
        return problem(403, "Wrong password", str(exc))
    except PasswordPolicyError as exc:
        return problem(422, "Choose another password", str(exc), problems=list(exc.messages))
    if grant is None:  # a current session always gets a replacement
        raise RuntimeError("change_password returned no session")
    return _with_cookie(Response(status_code=204), grant)


@router.delete("", status_code=204, responses=_documented(403))
def sign_out(request: Request) -> Response:
    """End the session of the cookie and clear the cookie."""
    if not same_origin(request):
        return _cross_origin()
    token = session_token(request.headers.get("cookie", ""))
    if token:
        with db.session() as unit:
            service.sign_out(session=unit, token=token)
    response = Response(status_code=204)
    names = {session_cookie_name(), *(n for n in SESSION_COOKIES if n in request.cookies)}
    for name in names:
        secure = name == service.SECURE_SESSION_COOKIE
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="lax")
    return response

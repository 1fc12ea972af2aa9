"""Social sign-in (``/api/auth/oidc``): GitHub, Google or an OpenID Connect provider from the settings.

``start`` sends the browser to the provider; ``callback`` signs the person in (the session cookie is set)
and sends them on, or to the sign-in page with ``?error=<code>``. When the provider's address already has
an account, the sign-in page asks for its password and posts it to ``link``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from quanta import db
from quanta.accounts.service import session_cookie
from quanta.api.deps import (
    LimiterDep,
    NowDep,
    SettingsDep,
    api_directory,
    browser_session,
    client_ip,
    not_signed_in,
    require_same_origin,
    secure_cookies,
)
from quanta.api.problems import ApiProblem
from quanta.oauth._crypto import mac, mac_matches
from quanta.oauth.errors import LoginError
from quanta.oauth.models import ExternalIdentity
from quanta.oauth.service import (
    COOKIE_PATH,
    FLOW_COOKIE,
    FLOW_TTL,
    LINK_COOKIE,
    LINK_TTL,
    SIGN_IN_PATH,
    LoginFlow,
    NeedsPassword,
    Provider,
    ProviderDirectory,
    SignedIn,
    complete_login,
    configured_providers,
    confirm_link,
    finish_login,
    open_flow,
    pending_link,
    start_login,
)
from quanta.settings import Settings

router = APIRouter(prefix=COOKIE_PATH, tags=["sign-in"])
_CSRF_PURPOSE = "oidc-link-csrf"


def api_providers(settings: SettingsDep) -> dict[str, Provider]:
    """The sign-in providers switched on by the settings."""
    return configured_providers(settings)


ProvidersDep = Annotated[dict[str, Provider], Depends(api_providers)]
DirectoryDep = Annotated[ProviderDirectory, Depends(api_directory)]
ProviderName = Annotated[str, Path(min_length=1, max_length=32)]


class ProviderSummary(BaseModel):
    """A sign-in button: the provider's name, label and where the button links to."""

    name: str
    title: str
    start_url: str


@router.get("/providers", response_model=list[ProviderSummary])
def list_providers(*, providers: ProvidersDep) -> list[ProviderSummary]:
    """The providers people can sign in with."""
    return [
        ProviderSummary(name=p.name, title=p.title, start_url=f"{COOKIE_PATH}/{p.name}/start")
        for p in providers.values()
    ]


@router.get("/{provider}/start", status_code=302, response_class=RedirectResponse)
async def start(
    *,
    request: Request,
    provider: ProviderName,
    settings: SettingsDep,
    now: NowDep,
    providers: ProvidersDep,
    directory: DirectoryDep,
    next: Annotated[str | None, Query(max_length=500, description="Where to go after signing in.")] = None,
    link: Annotated[bool, Query(description="Link the account to the signed-in person.")] = False,
) -> Response:
    """Send the browser to the provider (authorization code flow with PKCE, state and nonce)."""
    chosen = _provider(providers, provider)
    link_user_id = None
    if link:
        link_user_id = await run_in_threadpool(_signed_in_user_id, request, settings, now)
        if link_user_id is None:
            raise not_signed_in()
    try:
        started = await start_login(
            provider=chosen,
            directory=directory,
            settings=settings,
            next_path=next,
            link_user_id=link_user_id,
            now=now,
        )
    except LoginError as exc:
        return _failed(settings, exc, provider)
    response = RedirectResponse(started.url, status_code=302)
    _set_cookie(
        response, FLOW_COOKIE, started.flow_cookie, max_age=FLOW_TTL.total_seconds(), settings=settings
    )
    return response


@router.get("/{provider}/callback", status_code=303, response_class=RedirectResponse)
async def callback(
    *,
    request: Request,
    provider: ProviderName,
    settings: SettingsDep,
    now: NowDep,
    providers: ProvidersDep,
    directory: DirectoryDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Finish signing in: check ``state``, exchange ``code``, validate the ID token, then sign in (or link,
    or create the account) and set the session cookie."""
    chosen = _provider(providers, provider)
    try:
        flow = open_flow(request.cookies.get(FLOW_COOKIE), provider=provider, settings=settings, now=now)
        params = dict(request.query_params)
        identity = await finish_login(
            provider=chosen, directory=directory, flow=flow, params=params, settings=settings, now=now
        )
        outcome = await run_in_threadpool(_complete, request, settings, identity, flow, now)
    except LoginError as exc:
        return _failed(settings, exc, provider)
    if isinstance(outcome, NeedsPassword):
        target = f"{_base(settings)}{SIGN_IN_PATH}?link={provider}"
        response = RedirectResponse(target, status_code=303)
        _set_cookie(
            response, LINK_COOKIE, outcome.cookie, max_age=LINK_TTL.total_seconds(), settings=settings
        )
    else:
        response = RedirectResponse(f"{_base(settings)}{flow.next_path}", status_code=303)
        response.set_cookie(**session_cookie(outcome.grant.token, secure=secure_cookies(settings)))
    response.delete_cookie(FLOW_COOKIE, path=COOKIE_PATH)
    return response


class PendingLinkPublic(BaseModel):
    """A provider account waiting to be linked once the Quanta account's password is entered."""

    provider: str
    email: str
    csrf_token: str


@router.get("/link", response_model=PendingLinkPublic)
def describe_link(*, request: Request, settings: SettingsDep, now: NowDep) -> PendingLinkPublic:
    """The link the sign-in page asks a password for (from the link cookie)."""
    cookie = request.cookies.get(LINK_COOKIE)
    try:
        payload = pending_link(cookie, settings=settings, now=now)
    except LoginError as exc:
        raise ApiProblem(404, str(exc), kind="sign-in-failed", code=exc.code) from exc
    csrf = mac(_digest(cookie), settings=settings, purpose=_CSRF_PURPOSE)
    return PendingLinkPublic(provider=str(payload["provider"]), email=str(payload["email"]), csrf_token=csrf)


class SignInAnswer(BaseModel):
    """Where to send the browser after signing in."""

    redirect_to: str


@router.post(
    "/link", response_model=SignInAnswer, responses={303: {"description": "Signed in (form posts)."}}
)
def link_with_password(
    *,
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    limiter: LimiterDep,
    password: Annotated[str, Form(min_length=1, max_length=256)],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Confirm the pending link with the Quanta account's password, then sign in (session cookie)."""
    cookie = request.cookies.get(LINK_COOKIE)
    require_same_origin(
        request,
        settings=settings,
        csrf_ok=lambda given: mac_matches(_digest(cookie), given, settings=settings, purpose=_CSRF_PURPOSE),
        csrf_token=csrf_token,
    )
    with Session(db.engine(settings)) as session:
        try:
            outcome = confirm_link(
                session=session,
                cookie=cookie,
                password=password,
                limiter=limiter,
                settings=settings,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
                now=now,
            )
        except LoginError as exc:
            raise ApiProblem(400, str(exc), kind="sign-in-failed", code=exc.code) from exc
        session.commit()
    target = f"{_base(settings)}/"
    response: Response
    if "application/json" in request.headers.get("accept", ""):
        response = JSONResponse({"redirect_to": target})
    else:
        response = RedirectResponse(target, status_code=303)
    response.set_cookie(**session_cookie(outcome.grant.token, secure=secure_cookies(settings)))
    response.delete_cookie(LINK_COOKIE, path=COOKIE_PATH)
    return response


# ---- helpers -------------------------------------------------------------------------------------------


def _provider(providers: dict[str, Provider], name: str) -> Provider:
    chosen = providers.get(name)
    if chosen is None:
        raise ApiProblem(404, f"No sign-in provider {name!r} is configured.")
    return chosen


def _signed_in_user_id(request: Request, settings: Settings, now: datetime) -> int | None:
    with Session(db.engine(settings)) as session:
        current = browser_session(request, session=session, now=now)
        session.commit()
        return current.user.id if current is not None else None


def _complete(
    request: Request, settings: Settings, identity: ExternalIdentity, flow: LoginFlow, now: datetime
) -> SignedIn | NeedsPassword:
    with Session(db.engine(settings)) as session:
        current = browser_session(request, session=session, now=now)
        outcome = complete_login(
            session=session,
            identity=identity,
            flow=flow,
            current_user=current.user if current is not None else None,
            settings=settings,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            now=now,
        )
        session.commit()
        return outcome


def _failed(settings: Settings, error: LoginError, provider: str) -> Response:
    target = f"{_base(settings)}{SIGN_IN_PATH}?error={error.code}&provider={provider}"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(FLOW_COOKIE, path=COOKIE_PATH)
    return response


def _set_cookie(response: Response, name: str, value: str, *, max_age: float, settings: Settings) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(max_age),
        path=COOKIE_PATH,
        secure=secure_cookies(settings),
        httponly=True,
        samesite="lax",
    )


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def _digest(value: str | None) -> str:
    return hashlib.sha256((value or "").encode()).hexdigest()

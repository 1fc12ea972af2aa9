"""The OAuth 2 authorization server's endpoints (``/api/oauth``) and its metadata (RFC 8414).

The token, revocation and introspection endpoints answer errors as RFC 6749 asks (``application/json``
with ``error`` and ``error_description``), since OAuth client libraries read that shape; everything else
answers problems.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel
from sqlmodel import Session

from quanta.accounts.models import GRANT_TYPES, SCOPES
from quanta.api.deps import (
    ApiConfig,
    ConfigDep,
    LimiterDep,
    NowDep,
    QuantaRoute,
    SessionDep,
    SettingsDep,
    browser_session,
    client_ip,
    not_signed_in,
    query_params,
    require_same_origin,
    session_token,
)
from quanta.api.problems import ApiProblem
from quanta.oauth._crypto import mac, mac_matches
from quanta.oauth.errors import InvalidRequest, OAuthError, RedirectError, UnknownClient
from quanta.oauth.service import (
    PendingConsent,
    authenticate_client,
    consent_token,
    consent_url,
    decide,
    error_redirect,
    exchange_token,
    introspect_token,
    issuer,
    jwks,
    pending_consent,
    revoke_token,
    validate_authorization_request,
)
from quanta.ratelimit import RateLimiter
from quanta.settings import Settings

router = APIRouter(tags=["oauth"], route_class=QuantaRoute)
OAUTH = "/api/oauth"
_CSRF_PURPOSE = "oauth-consent-csrf"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
OptionalForm = Annotated[str | None, Form()]
OptionalQuery = Annotated[str | None, Query()]


# ---- authorization endpoint and consent ----------------------------------------------------------------


@router.get(
    f"{OAUTH}/authorize",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To the consent page, or back to the client with an error."}},
)
def authorize(
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response_type: OptionalQuery = None,
    client_id: OptionalQuery = None,
    redirect_uri: OptionalQuery = None,
    scope: OptionalQuery = None,
    state: OptionalQuery = None,
    code_challenge: OptionalQuery = None,
    code_challenge_method: OptionalQuery = None,
) -> RedirectResponse:
    """Start the authorization code flow (PKCE with S256 required). A valid request goes on to the app's
    consent page (``/oauth/consent?request=…``); an invalid one goes back to the client with an error, or
    is shown as a problem when the client or its redirect URI cannot be trusted."""
    # The parameters are declared for the OpenAPI document; they are read raw to refuse repeated ones.
    params = query_params(request)
    try:
        checked = validate_authorization_request(session=session, params=params)
    except UnknownClient as exc:
        raise ApiProblem(400, str(exc), kind="invalid-oauth-request", error=exc.error) from exc
    except RedirectError as exc:
        target = error_redirect(exc.redirect_uri, exc.error, state=exc.state, settings=settings)
        return RedirectResponse(target, status_code=302)
    token = consent_token(checked, settings=settings, now=now)
    return RedirectResponse(consent_url(token, settings=settings), status_code=302)


class ClientSummary(BaseModel):
    client_id: str
    name: str


class OrganizationSummary(BaseModel):
    name: str
    slug: str


class ScopeSummary(BaseModel):
    name: str
    description: str


class ConsentRequest(BaseModel):
    """What the consent page shows, and the CSRF token its form sends back."""

    client: ClientSummary
    organization: OrganizationSummary
    scopes: list[ScopeSummary]
    redirect_uri: str
    expires_at: datetime
    signed_in: bool
    user_email: str | None
    csrf_token: str | None


RequestToken = Annotated[str, Query(alias="request", min_length=1, max_length=8192)]


@router.get(f"{OAUTH}/authorize/request", response_model=ConsentRequest)
def consent_request(
    *, request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, request_token: RequestToken
) -> ConsentRequest:
    """Describe a pending authorization request for the consent page (client, organisation, scopes)."""
    pending = _pending(session, request_token, settings, now)
    current = browser_session(request, session=session, now=now)
    csrf = _csrf_token(request, request_token, settings) if current is not None else None
    return ConsentRequest(
        client=ClientSummary(client_id=pending.client.client_id, name=pending.client.name),
        organization=OrganizationSummary(name=pending.organization.name, slug=pending.organization.slug),
        scopes=[ScopeSummary(name=n, description=d) for n, d in pending.scope_descriptions.items()],
        redirect_uri=pending.request.redirect_uri,
        expires_at=pending.expires_at,
        signed_in=current is not None,
        user_email=current.user.email if current is not None else None,
        csrf_token=csrf,
    )


class DecisionAnswer(BaseModel):
    """Where to send the browser after the decision."""

    redirect_to: str


@router.post(
    f"{OAUTH}/authorize/decision",
    response_model=DecisionAnswer,
    responses={303: {"description": "Back to the client (form posts)."}},
)
def authorize_decision(
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    request_token: Annotated[str, Form(alias="request", min_length=1, max_length=8192)],
    decision: Annotated[Literal["approve", "deny"], Form()],
    csrf_token: OptionalForm = None,
) -> Response:
    """The signed-in person approves or denies (session cookie; same-origin ``Origin`` or the CSRF token
    from ``GET …/authorize/request``). Form posts are redirected (303) to the client; requests that
    ``Accept: application/json`` get the URL as ``redirect_to``."""
    require_same_origin(
        request,
        settings=settings,
        csrf_ok=lambda given: mac_matches(
            _csrf_subject(request, request_token), given, settings=settings, purpose=_CSRF_PURPOSE
        ),
        csrf_token=csrf_token,
    )
    current = browser_session(request, session=session, now=now)
    if current is None:
        raise not_signed_in()
    try:
        target = decide(
            session=session,
            token=request_token,
            user=current.user,
            approve=decision == "approve",
            settings=settings,
            now=now,
        )
    except OAuthError as exc:
        raise ApiProblem(400, str(exc), kind="invalid-oauth-request", error=exc.error) from exc
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"redirect_to": target}, headers=_NO_STORE)
    return RedirectResponse(target, status_code=303, headers=_NO_STORE)


def _pending(session: Session, token: str, settings: Settings, now: datetime) -> PendingConsent:
    try:
        return pending_consent(session=session, token=token, settings=settings, now=now)
    except OAuthError as exc:
        raise ApiProblem(400, str(exc), kind="invalid-oauth-request", error=exc.error) from exc


def _csrf_subject(request: Request, request_token: str) -> str:
    cookie = session_token(request) or ""
    return (
        hashlib.sha256(cookie.encode()).hexdigest() + ":" + hashlib.sha256(request_token.encode()).hexdigest()
    )


def _csrf_token(request: Request, request_token: str, settings: Settings) -> str:
    return mac(_csrf_subject(request, request_token), settings=settings, purpose=_CSRF_PURPOSE)


# ---- token, revocation, introspection ------------------------------------------------------------------


class TokenAnswer(BaseModel):
    """A successful token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    refresh_token: str | None = None


class OAuthErrorAnswer(BaseModel):
    """An OAuth error response (RFC 6749 §5.2)."""

    error: str
    error_description: str


_OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorAnswer, "description": "An OAuth error (RFC 6749 §5.2)."},
    401: {"model": OAuthErrorAnswer, "description": "Client authentication failed (invalid_client)."},
}


@router.post(f"{OAUTH}/token", response_model=TokenAnswer, responses=_OAUTH_ERRORS)
def token(
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    limiter: LimiterDep,
    config: ConfigDep,
    grant_type: OptionalForm = None,
    code: OptionalForm = None,
    redirect_uri: OptionalForm = None,
    code_verifier: OptionalForm = None,
    refresh_token: OptionalForm = None,
    scope: OptionalForm = None,
    client_id: OptionalForm = None,
    client_secret: OptionalForm = None,
) -> JSONResponse:
    """Issue tokens: ``client_credentials``, ``authorization_code`` (with ``code_verifier``) or
    ``refresh_token`` (rotated: a refresh token works once). Authenticate the client with HTTP Basic
    (``client_secret_basic``) or ``client_id`` and ``client_secret`` fields."""
    form = _present(
        grant_type=grant_type,
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
        refresh_token=refresh_token,
        scope=scope,
        client_id=client_id,
        client_secret=client_secret,
    )
    try:
        _throttle(request, limiter, config, form, now)
        client = authenticate_client(
            session=session, form=form, authorization=request.headers.get("authorization")
        )
        tokens = exchange_token(session=session, client=client, form=form, settings=settings, now=now)
    except OAuthError as error:
        session.rollback()
        return _oauth_error(request, error)
    return JSONResponse(tokens.to_json(), headers=_NO_STORE)


@router.post(f"{OAUTH}/revoke", responses=_OAUTH_ERRORS)
def revoke(
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    limiter: LimiterDep,
    config: ConfigDep,
    token: OptionalForm = None,
    token_type_hint: OptionalForm = None,
    client_id: OptionalForm = None,
    client_secret: OptionalForm = None,
) -> Response:
    """Revoke a refresh token (with every token of its approval) or an access token (RFC 7009). Unknown
    tokens get the same 200."""
    form = _present(
        token=token, token_type_hint=token_type_hint, client_id=client_id, client_secret=client_secret
    )
    try:
        _throttle(request, limiter, config, form, now)
        client = authenticate_client(
            session=session, form=form, authorization=request.headers.get("authorization")
        )
        if not token:
            raise _invalid_request("token is required.")
        revoke_token(session=session, client=client, token=token, settings=settings, now=now)
    except OAuthError as error:
        session.rollback()
        return _oauth_error(request, error)
    return Response(status_code=200, headers=_NO_STORE)


@router.post(f"{OAUTH}/introspect", responses=_OAUTH_ERRORS)
def introspect(
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    limiter: LimiterDep,
    config: ConfigDep,
    token: OptionalForm = None,
    token_type_hint: OptionalForm = None,
    client_id: OptionalForm = None,
    client_secret: OptionalForm = None,
) -> JSONResponse:
    """Whether a token is active, and its scope, client, subject and expiry (RFC 7662). A client may
    introspect its own tokens; any other token is ``{"active": false}``."""
    form = _present(
        token=token, token_type_hint=token_type_hint, client_id=client_id, client_secret=client_secret
    )
    try:
        _throttle(request, limiter, config, form, now)
        client = authenticate_client(
            session=session, form=form, authorization=request.headers.get("authorization")
        )
        if not token:
            raise _invalid_request("token is required.")
        answer = introspect_token(session=session, client=client, token=token, settings=settings, now=now)
    except OAuthError as error:
        session.rollback()
        return _oauth_error(request, error)
    return JSONResponse(answer, headers=_NO_STORE)


def _present(**fields: str | None) -> dict[str, str]:
    return {name: value for name, value in fields.items() if value is not None}


def _invalid_request(message: str) -> OAuthError:
    return InvalidRequest(message)


def _throttle(
    request: Request, limiter: RateLimiter, config: ApiConfig, form: dict[str, str], now: datetime
) -> None:
    who = form.get("client_id") or _basic_user(request) or client_ip(request) or "unknown"
    decision = limiter.hit(f"oauth:{who[:64]}", config.token_rate_limit, now=now)
    request.state.rate_limit = decision
    if not decision.allowed:
        raise ApiProblem(
            429,
            "Too many token requests from this client.",
            kind="rate-limited",
            headers=decision.headers(),
            retry_after=decision.retry_after,
        )


def _basic_user(request: Request) -> str | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")[0] or None
    except (binascii.Error, UnicodeDecodeError):
        return None


def _oauth_error(request: Request, error: OAuthError) -> JSONResponse:
    headers = dict(_NO_STORE)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="quanta"'
    return JSONResponse(error.to_json(), status_code=error.status, headers=headers)


# ---- keys and metadata ---------------------------------------------------------------------------------


@router.get(f"{OAUTH}/jwks")
def json_web_keys(*, session: SessionDep) -> JSONResponse:
    """The public keys that verify access tokens (every live key: the newest signs)."""
    return JSONResponse(jwks(session=session), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/oauth-authorization-server")
def metadata(*, settings: SettingsDep) -> dict[str, Any]:
    """Authorization server metadata (RFC 8414)."""
    base = issuer(settings)
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}{OAUTH}/authorize",
        "token_endpoint": f"{base}{OAUTH}/token",
        "jwks_uri": f"{base}{OAUTH}/jwks",
        "revocation_endpoint": f"{base}{OAUTH}/revoke",
        "introspection_endpoint": f"{base}{OAUTH}/introspect",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": _AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": _AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": _AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{base}/api/docs",
    }

"""The authorization endpoint and the consent step (authorization code flow with PKCE).

1. ``validate_authorization_request`` checks the client's request. An unknown client or unregistered
   redirect URI is shown to the person (``UnknownClient``); any other error goes back to the client's
   redirect URI (``RedirectError``).
2. A valid request is sealed (``consent_token``) and the browser goes to the app's consent page, which
   shows ``pending_consent`` (client, organisation, scopes).
3. The signed-in person approves or denies (``decide``): approval stores a single-use code (hashed) bound
   to the PKCE challenge, the person and the redirect URI, and sends the browser back to the client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlmodel import Session

from quanta.accounts.errors import NotFound
from quanta.accounts.models import SCOPES, ApiClient, Organization, User
from quanta.accounts.service import api_client_by_client_id
from quanta.oauth._crypto import seal, unseal
from quanta.oauth._tokens import digest, issuer, new_secret
from quanta.oauth.errors import (
    AccessDenied,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    RedirectError,
    SealError,
    UnauthorizedClient,
    UnknownClient,
    UnsupportedResponseType,
)
from quanta.oauth.models import OAuthAuthorizationCode
from quanta.settings import Settings

CODE_TTL = timedelta(seconds=60)
"""An authorization code must be exchanged this soon."""
CONSENT_TTL = timedelta(minutes=10)
"""How long a person has to approve or deny on the consent page."""
CODE_PREFIX = "qnt_ac_"
CONSENT_PATH = "/oauth/consent"
_PURPOSE = "oauth-consent-request"
_PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_MAX_STATE = 500
_MAX_PARAM = 2000


@dataclass(frozen=True, kw_only=True)
class AuthorizationRequest:
    """A checked authorization request, waiting for the person's decision."""

    client_id: str
    redirect_uri: str
    redirect_uri_given: bool
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str


@dataclass(frozen=True, kw_only=True)
class PendingConsent:
    """What the consent page shows: who asks (client and organisation), for what, until when."""

    request: AuthorizationRequest
    client: ApiClient
    organization: Organization
    expires_at: datetime

    @property
    def scope_descriptions(self) -> dict[str, str]:
        """Each requested scope with what it allows, in words."""
        return {scope: SCOPES[scope] for scope in self.request.scopes}


def validate_authorization_request(*, session: Session, params: Mapping[str, str]) -> AuthorizationRequest:
    """Check an authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636).

    Raises ``UnknownClient`` (show it, do not redirect) or ``RedirectError`` (send it to the client).
    """
    client = _live_client(session, params.get("client_id"))
    redirect_uri, given = _redirect_uri(client, params.get("redirect_uri"))
    state = params.get("state")
    try:
        return _checked_request(client, params, redirect_uri=redirect_uri, given=given)
    except OAuthError as error:
        safe_state = state if state is not None and len(state) <= _MAX_STATE else None
        raise RedirectError(error, redirect_uri=redirect_uri, state=safe_state) from error


def _live_client(session: Session, client_id: str | None) -> ApiClient:
    if not client_id or len(client_id) > 64:
        raise UnknownClient("The request names no client_id.")
    try:
        return api_client_by_client_id(session=session, client_id=client_id)
    except NotFound as exc:
        raise UnknownClient("This application is not registered with Quanta (or was switched off).") from exc


def _redirect_uri(client: ApiClient, given: str | None) -> tuple[str, bool]:
    if given is not None:
        if not client.check_redirect_uri(given):
            raise UnknownClient("The redirect_uri is not one this application registered.")
        return given, True
    if len(client.redirect_uris) != 1:
        raise UnknownClient("Send redirect_uri: this application registered several (or none).")
    return client.redirect_uris[0], False


def _checked_request(
    client: ApiClient, params: Mapping[str, str], *, redirect_uri: str, given: bool
) -> AuthorizationRequest:
    if any(len(value) > _MAX_PARAM for value in params.values()):
        raise InvalidRequest("A parameter is too long.")
    if params.get("response_type") != "code":
        raise UnsupportedResponseType("Only response_type=code is supported.")
    if not client.check_grant_type("authorization_code"):
        raise UnauthorizedClient("This application may not use the authorization code flow.")
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if not challenge:
        raise InvalidRequest("PKCE is required: send code_challenge and code_challenge_method=S256.")
    if method != "S256":
        raise InvalidRequest("Only code_challenge_method=S256 is supported.")
    if not _PKCE_VALUE.match(challenge):
        raise InvalidRequest("code_challenge must be the base64url SHA-256 of the code verifier.")
    state = params.get("state")
    if state is not None and len(state) > _MAX_STATE:
        raise InvalidRequest(f"state may be at most {_MAX_STATE} characters.")
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        redirect_uri_given=given,
        scopes=tuple(granted_scopes(client, params.get("scope"))),
        state=state,
        code_challenge=challenge,
    )


def granted_scopes(client: ApiClient, scope: str | None, *, within: list[str] | None = None) -> list[str]:
    """The scopes to grant for a ``scope`` parameter: what was asked for and the client (and ``within``)
    allows, in the documented order. No parameter asks for everything allowed.

    Raises ``InvalidScope`` for unknown scopes, or when nothing asked for is allowed.
    """
    allowed = set(client.scopes) & (set(within) if within is not None else set(SCOPES))
    asked = set(scope.split()) if scope is not None else allowed
    unknown = sorted(asked - set(SCOPES))
    if unknown:
        raise InvalidScope(f"Unknown scope(s): {', '.join(unknown)}.")
    granted = [name for name in SCOPES if name in asked & allowed]
    if not granted:
        raise InvalidScope("None of the requested scopes is allowed for this application.")
    return granted


# ---- consent -------------------------------------------------------------------------------------------


def consent_token(request: AuthorizationRequest, *, settings: Settings, now: datetime) -> str:
    """The sealed request carried by the consent page's URL (tamper-proof, expires in ``CONSENT_TTL``)."""
    payload = {
        "client_id": request.client_id,
        "redirect_uri": request.redirect_uri,
        "redirect_uri_given": request.redirect_uri_given,
        "scopes": list(request.scopes),
        "state": request.state,
        "code_challenge": request.code_challenge,
        "issued_at": int(now.timestamp()),
    }
    return seal(payload, settings=settings, purpose=_PURPOSE, expires_at=now + CONSENT_TTL)


def consent_url(token: str, *, settings: Settings) -> str:
    """The app's consent page for a sealed request."""
    return f"{settings.public_url.rstrip('/')}{CONSENT_PATH}?{urlencode({'request': token})}"


def pending_consent(*, session: Session, token: str, settings: Settings, now: datetime) -> PendingConsent:
    """The request behind a consent token, checked again (the client may have changed since).

    Raises ``InvalidRequest`` (expired or forged) or ``UnknownClient``.
    """
    try:
        payload = unseal(token, settings=settings, purpose=_PURPOSE, now=now)
    except SealError as exc:
        raise InvalidRequest(
            "This authorization request has expired. Start again from the application."
        ) from exc
    request = AuthorizationRequest(
        client_id=payload["client_id"],
        redirect_uri=payload["redirect_uri"],
        redirect_uri_given=bool(payload["redirect_uri_given"]),
        scopes=tuple(payload["scopes"]),
        state=payload["state"],
        code_challenge=payload["code_challenge"],
    )
    client = _live_client(session, request.client_id)
    if not client.check_redirect_uri(request.redirect_uri):
        raise UnknownClient("The redirect_uri is no longer registered for this application.")
    organization = session.get(Organization, client.org_id)
    if organization is None:
        raise UnknownClient("This application's organisation no longer exists.")
    expires_at = datetime.fromtimestamp(payload["issued_at"], tz=now.tzinfo) + CONSENT_TTL
    return PendingConsent(request=request, client=client, organization=organization, expires_at=expires_at)


def decide(
    *, session: Session, token: str, user: User, approve: bool, settings: Settings, now: datetime
) -> str:
    """Record the signed-in person's decision; return where to send the browser (the client's redirect URI
    with ``code`` and ``state``, or with ``error=access_denied``)."""
    pending = pending_consent(session=session, token=token, settings=settings, now=now)
    request = pending.request
    if not approve:
        denied = AccessDenied("The person declined the request.")
        return error_redirect(request.redirect_uri, denied, state=request.state, settings=settings)
    code = _store_code(session, pending, user=user, now=now)
    params = {"code": code, "state": request.state, "iss": issuer(settings)}
    return with_query(request.redirect_uri, params)


def _store_code(session: Session, pending: PendingConsent, *, user: User, now: datetime) -> str:
    if pending.client.id is None or user.id is None:
        raise ValueError("the client and the user must be saved")
    request = pending.request
    code = new_secret(CODE_PREFIX)
    session.add(
        OAuthAuthorizationCode(
            code_hash=digest(code),
            api_client_id=pending.client.id,
            user_id=user.id,
            redirect_uri=request.redirect_uri,
            redirect_uri_given=request.redirect_uri_given,
            scopes=list(request.scopes),
            code_challenge=request.code_challenge,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    session.flush()
    return code


def error_redirect(redirect_uri: str, error: OAuthError, *, state: str | None, settings: Settings) -> str:
    """``redirect_uri`` carrying an authorization error (RFC 6749 §4.1.2.1, with ``iss`` of RFC 9207)."""
    params = {
        "error": error.error,
        "error_description": error.description,
        "state": state,
        "iss": issuer(settings),
    }
    return with_query(redirect_uri, params)


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """``uri`` with ``params`` (those not None) added to its query."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))

"""The token endpoint: client authentication and the three grants Quanta supports.

- ``client_credentials``: a client acts for its organisation (no person, no refresh token).
- ``authorization_code``: exchange a single-use code and its PKCE verifier. A code used twice revokes
  the tokens issued from it (RFC 6749 §4.1.2).
- ``refresh_token``: rotate: each refresh token works once and is replaced. Presenting a used one means
  it leaked, and revokes the whole grant (OAuth 2.0 Security BCP §4.14).

Revocations caused by an attack are committed before the error is raised, so the caller's rollback
cannot undo them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import unquote_plus

from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from sqlmodel import Session, col, select

from quanta.accounts.errors import InvalidCredentials
from quanta.accounts.models import ApiClient, User
from quanta.accounts.service import authenticate_api_client
from quanta.oauth._authorize import granted_scopes
from quanta.oauth._tokens import (
    TokenSet,
    digest,
    issue_tokens,
    mark_used,
    open_grant,
    refresh_token_row,
    revoke_grant,
)
from quanta.oauth.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from quanta.oauth.models import OAuthAuthorizationCode, OAuthGrant
from quanta.settings import Settings

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_MAX_CREDENTIAL = 256

Handler = Callable[[Session, ApiClient, Mapping[str, str], Settings, datetime], TokenSet]


def authenticate_client(*, session: Session, form: Mapping[str, str], authorization: str | None) -> ApiClient:
    """The client making a token, revocation or introspection request.

    ``client_secret_basic`` (HTTP Basic, RFC 6749 §2.3.1) or ``client_secret_post`` (form fields), not
    both. Raises ``InvalidClient`` or ``InvalidRequest``.
    """
    basic = _basic_credentials(authorization)
    if basic is not None and "client_secret" in form:
        raise InvalidRequest("Authenticate the client one way: HTTP Basic or client_secret, not both.")
    if basic is not None:
        client_id, secret = basic
        if form.get("client_id", client_id) != client_id:
            raise InvalidRequest("client_id differs from the authenticated client.")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or not secret or len(client_id) > _MAX_CREDENTIAL or len(secret) > _MAX_CREDENTIAL:
        raise InvalidClient("Authenticate the client with its client_id and client_secret.")
    try:
        return authenticate_api_client(session=session, client_id=client_id, client_secret=secret)
    except InvalidCredentials as exc:
        raise InvalidClient("Invalid client credentials.") from exc


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed HTTP Basic credentials.") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClient("Malformed HTTP Basic credentials.")
    return unquote_plus(client_id), unquote_plus(secret)


def exchange_token(
    *, session: Session, client: ApiClient, form: Mapping[str, str], settings: Settings, now: datetime
) -> TokenSet:
    """Answer a token request of an authenticated client (RFC 6749 §4.1.3, §4.4.2, §6)."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required.")
    handler = _HANDLERS.get(grant_type)
    if handler is None:
        raise UnsupportedGrantType(f"Unsupported grant_type {grant_type!r}.")
    if not client.check_grant_type(grant_type):
        raise UnauthorizedClient(f"This client may not use the {grant_type} grant.")
    return handler(session, client, form, settings, now)


def _client_credentials(
    session: Session, client: ApiClient, form: Mapping[str, str], settings: Settings, now: datetime
) -> TokenSet:
    scopes = granted_scopes(client, form.get("scope"))
    grant = open_grant(
        session, client=client, user=None, grant_type="client_credentials", scopes=scopes, now=now
    )
    return issue_tokens(
        session, settings=settings, grant=grant, client=client, scopes=scopes, refresh=False, now=now
    )


def _authorization_code(
    session: Session, client: ApiClient, form: Mapping[str, str], settings: Settings, now: datetime
) -> TokenSet:
    code, verifier = form.get("code"), form.get("code_verifier")
    if not code:
        raise InvalidRequest("code is required.")
    if not verifier:
        raise InvalidRequest("code_verifier is required (PKCE).")
    row = session.exec(
        select(OAuthAuthorizationCode).where(col(OAuthAuthorizationCode.code_hash) == digest(code))
    ).first()
    if row is None or row.id is None or row.api_client_id != client.id:
        raise InvalidGrant("The authorization code is not valid.")
    if row.used_at is not None or not mark_used(session, OAuthAuthorizationCode, row.id, now):
        _revoke_replayed(session, row, now)
    _check_code(row, redirect_uri=form.get("redirect_uri"), verifier=verifier, now=now)
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise InvalidGrant("The person who approved this code can no longer sign in.")
    scopes = granted_scopes(client, " ".join(row.scopes))
    grant = open_grant(
        session, client=client, user=user, grant_type="authorization_code", scopes=scopes, now=now
    )
    row.grant_id = grant.id
    session.add(row)
    refresh = client.check_grant_type("refresh_token")
    return issue_tokens(
        session, settings=settings, grant=grant, client=client, scopes=scopes, refresh=refresh, now=now
    )


def _revoke_replayed(session: Session, row: OAuthAuthorizationCode, now: datetime) -> None:
    grant = session.get(OAuthGrant, row.grant_id) if row.grant_id is not None else None
    if grant is not None:
        revoke_grant(session, grant, reason="authorization code replayed", now=now)
        session.commit()
    raise InvalidGrant("This authorization code was already used; the tokens issued from it are revoked.")


def _check_code(
    row: OAuthAuthorizationCode, *, redirect_uri: str | None, verifier: str, now: datetime
) -> None:
    if row.expires_at <= now:
        raise InvalidGrant("The authorization code has expired.")
    if (row.redirect_uri_given or redirect_uri is not None) and redirect_uri != row.redirect_uri:
        raise InvalidGrant("redirect_uri differs from the one in the authorization request.")
    if not _VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier must be 43 to 128 unreserved characters.")
    if not hmac.compare_digest(create_s256_code_challenge(verifier), row.code_challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge.")


def _refresh_token(
    session: Session, client: ApiClient, form: Mapping[str, str], settings: Settings, now: datetime
) -> TokenSet:
    token = form.get("refresh_token")
    if not token:
        raise InvalidRequest("refresh_token is required.")
    row = refresh_token_row(session, token)
    grant = session.get(OAuthGrant, row.grant_id) if row is not None else None
    if row is None or row.id is None or grant is None or grant.api_client_id != client.id:
        raise InvalidGrant("The refresh token is not valid.")
    if grant.revoked_at is not None:
        raise InvalidGrant("The refresh token has been revoked.")
    scopes = granted_scopes(client, form.get("scope"), within=grant.scopes)
    if row.used_at is not None or not mark_used(session, type(row), row.id, now):
        revoke_grant(session, grant, reason="refresh token reused", now=now)
        session.commit()
        raise InvalidGrant(
            "This refresh token was already used, so it may have leaked: every token of this approval is "
            "now revoked. Ask the person to approve the application again."
        )
    if row.expires_at <= now:
        raise InvalidGrant("The refresh token has expired.")
    user = session.get(User, grant.user_id) if grant.user_id is not None else None
    if user is None or user.disabled:
        raise InvalidGrant("The person who approved this application can no longer sign in.")
    return issue_tokens(
        session, settings=settings, grant=grant, client=client, scopes=scopes, refresh=True, now=now
    )


_HANDLERS: dict[str, Handler] = {
    "client_credentials": _client_credentials,
    "authorization_code": _authorization_code,
    "refresh_token": _refresh_token,
}

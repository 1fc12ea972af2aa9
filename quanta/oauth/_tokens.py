"""Access and refresh tokens: issue, verify, revoke (RFC 7009) and introspect (RFC 7662).

Access tokens are JWTs (RFC 9068 profile: ``typ: at+jwt``, ``iss``, ``aud``, ``sub``, ``client_id``,
``scope``, ``jti``, ``iat``, ``exp``) signed with the current ES256 key. The resource server checks the
signature and claims, then that neither the token (``jti``) nor its grant was revoked and that the
client and the person are still allowed in. Refresh tokens are opaque (``qnt_rt_…``), stored hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from sqlmodel import Session, col, select, update

from quanta.accounts.errors import InvalidToken, TokenExpired
from quanta.accounts.models import ApiClient, User
from quanta.oauth._keys import SIGNING_ALG, signing_key, verification_key
from quanta.oauth.models import AccessIdentity, OAuthAccessToken, OAuthGrant, OAuthRefreshToken
from quanta.settings import Settings

ACCESS_TOKEN_TTL = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=30)
REFRESH_TOKEN_PREFIX = "qnt_rt_"  # noqa: S105 - a public marker, like qnt_pat_
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT "typ" of access tokens (RFC 9068)
_MAX_TOKEN = 4096
_INVALID = "This access token is not valid."


def issuer(settings: Settings) -> str:
    """The authorization server's issuer identifier: the public URL of the app."""
    return settings.public_url.rstrip("/")


def audience(settings: Settings) -> str:
    """The ``aud`` of every access token: Quanta's API."""
    return issuer(settings) + "/api"


def digest(token: str) -> str:
    """The SHA-256 (hex) stored in place of a code or refresh token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    """A fresh 256-bit random token after ``prefix``."""
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True, kw_only=True)
class TokenSet:
    """A token endpoint answer (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scopes: tuple[str, ...]
    refresh_token: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON body of a successful token response."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(self.scopes),
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body


# ---- issuing -------------------------------------------------------------------------------------------


def open_grant(
    session: Session,
    *,
    client: ApiClient,
    user: User | None,
    grant_type: str,
    scopes: list[str],
    now: datetime,
) -> OAuthGrant:
    """Record one approval; its tokens form a family revoked together."""
    if client.id is None:
        raise ValueError("the client has not been saved yet")
    grant = OAuthGrant(
        api_client_id=client.id,
        user_id=user.id if user is not None else None,
        grant_type=grant_type,
        scopes=scopes,
        created_at=now,
    )
    session.add(grant)
    session.flush()
    return grant


def issue_tokens(
    session: Session,
    *,
    settings: Settings,
    grant: OAuthGrant,
    client: ApiClient,
    scopes: list[str],
    refresh: bool,
    now: datetime,
) -> TokenSet:
    """A new access token for ``grant`` (with ``scopes``), and a refresh token if ``refresh``."""
    access = _access_token(session, settings=settings, grant=grant, client=client, scopes=scopes, now=now)
    refresh_token = _refresh_token(session, grant=grant, now=now) if refresh else None
    return TokenSet(
        access_token=access,
        expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
        scopes=tuple(scopes),
        refresh_token=refresh_token,
    )


def _access_token(
    session: Session,
    *,
    settings: Settings,
    grant: OAuthGrant,
    client: ApiClient,
    scopes: list[str],
    now: datetime,
) -> str:
    kid, key = signing_key(session=session, settings=settings, now=now)
    jti = secrets.token_urlsafe(18)
    expires_at = now + ACCESS_TOKEN_TTL
    claims = {
        "iss": issuer(settings),
        "aud": audience(settings),
        "sub": str(grant.user_id) if grant.user_id is not None else client.client_id,
        "client_id": client.client_id,
        "scope": " ".join(scopes),
        "jti": jti,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    header = {"alg": SIGNING_ALG, "kid": kid, "typ": ACCESS_TOKEN_TYPE}
    if grant.id is None:
        raise ValueError("the grant has not been saved yet")
    session.add(OAuthAccessToken(jti=jti, grant_id=grant.id, created_at=now, expires_at=expires_at))
    session.flush()
    return jwt.encode(header, claims, key, algorithms=[SIGNING_ALG])


def _refresh_token(session: Session, *, grant: OAuthGrant, now: datetime) -> str:
    if grant.id is None:
        raise ValueError("the grant has not been saved yet")
    token = new_secret(REFRESH_TOKEN_PREFIX)
    row = OAuthRefreshToken(
        token_hash=digest(token), grant_id=grant.id, created_at=now, expires_at=now + REFRESH_TOKEN_TTL
    )
    session.add(row)
    session.flush()
    return token


def revoke_grant(session: Session, grant: OAuthGrant, *, reason: str, now: datetime) -> None:
    """Revoke ``grant``: every access and refresh token of its family stops working."""
    if grant.revoked_at is None:
        grant.revoked_at = now
        grant.revoked_reason = reason[:100]
        session.add(grant)
        session.flush()


def mark_used(session: Session, model: type[Any], row_id: int, now: datetime) -> bool:
    """Set ``used_at`` on one unused row; False if another request used it first (atomic)."""
    result = session.exec(
        update(model).where(col(model.id) == row_id, col(model.used_at).is_(None)).values(used_at=now)
    )
    return int(result.rowcount) == 1


def refresh_token_row(session: Session, token: str) -> OAuthRefreshToken | None:
    """The stored refresh token ``token`` is, if any."""
    if not token.startswith(REFRESH_TOKEN_PREFIX) or len(token) > _MAX_TOKEN:
        return None
    row = session.exec(
        select(OAuthRefreshToken).where(col(OAuthRefreshToken.token_hash) == digest(token))
    ).first()
    return row if row is not None and hmac.compare_digest(row.token_hash, digest(token)) else None


# ---- verifying -----------------------------------------------------------------------------------------


def verify_access_token(*, session: Session, token: str, settings: Settings, now: datetime) -> AccessIdentity:
    """Who a JWT access token acts for and with which scopes.

    Raises ``InvalidToken`` (bad signature or claims, unknown or retired key, revoked token or grant,
    revoked client, disabled person) or ``TokenExpired``.
    """
    claims = _verified_claims(session, token, settings, now)
    row = session.exec(select(OAuthAccessToken).where(col(OAuthAccessToken.jti) == claims["jti"])).first()
    grant = session.get(OAuthGrant, row.grant_id) if row is not None else None
    if row is None or grant is None or row.revoked_at is not None or grant.revoked_at is not None:
        raise InvalidToken(_INVALID)
    client, user = _parties(session, grant)
    if client.client_id != claims["client_id"]:
        raise InvalidToken(_INVALID)
    scopes = frozenset(str(claims["scope"]).split()) & frozenset(client.scopes)
    return AccessIdentity(
        client=client, user=user, grant=grant, scopes=scopes, jti=row.jti, expires_at=row.expires_at
    )


def _verified_claims(session: Session, token: str, settings: Settings, now: datetime) -> dict[str, Any]:
    if not token or len(token) > _MAX_TOKEN:
        raise InvalidToken(_INVALID)
    try:
        header = jws.extract_compact(token.encode()).headers()
        key = verification_key(session=session, kid=str(header.get("kid", "")))
        if key is None or header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken(_INVALID)
        decoded = jwt.decode(token, key, algorithms=[SIGNING_ALG])
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            iss={"essential": True, "value": issuer(settings)},
            aud={"essential": True, "value": audience(settings)},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
            client_id={"essential": True},
        )
        registry.validate(decoded.claims)
    except ExpiredTokenError as exc:
        raise TokenExpired("This access token has expired. Request a new one.") from exc
    except (JoseError, ValueError, TypeError, KeyError, UnicodeError) as exc:
        raise InvalidToken(_INVALID) from exc
    return dict(decoded.claims)


def _parties(session: Session, grant: OAuthGrant) -> tuple[ApiClient, User | None]:
    client = session.get(ApiClient, grant.api_client_id)
    if client is None or client.revoked_at is not None:
        raise InvalidToken(_INVALID)
    if grant.user_id is None:
        return client, None
    user = session.get(User, grant.user_id)
    if user is None or user.disabled:
        raise InvalidToken(_INVALID)
    return client, user


# ---- revocation and introspection ----------------------------------------------------------------------


def revoke_token(
    *, session: Session, client: ApiClient, token: str, settings: Settings, now: datetime
) -> None:
    """RFC 7009: revoke a refresh token (and its whole grant) or one access token of ``client``.

    Unknown tokens and tokens of other clients are ignored, as the RFC asks (the answer is the same).
    """
    refresh = refresh_token_row(session, token)
    if refresh is not None:
        grant = session.get(OAuthGrant, refresh.grant_id)
        if grant is not None and grant.api_client_id == client.id:
            revoke_grant(session, grant, reason="revoked by the client", now=now)
        return
    access = _access_row_of(session, client, token, settings, now)
    if access is not None and access.revoked_at is None:
        access.revoked_at = now
        session.add(access)
        session.flush()


def _access_row_of(
    session: Session, client: ApiClient, token: str, settings: Settings, now: datetime
) -> OAuthAccessToken | None:
    """The stored access token of ``client`` that ``token`` is (expired ones too), if any."""
    try:
        identity = verify_access_token(session=session, token=token, settings=settings, now=now)
    except TokenExpired:
        return None  # expired: nothing left to revoke
    except InvalidToken:
        return None
    if identity.client.id != client.id:
        return None
    return session.exec(select(OAuthAccessToken).where(col(OAuthAccessToken.jti) == identity.jti)).first()


def introspect_token(
    *, session: Session, client: ApiClient, token: str, settings: Settings, now: datetime
) -> dict[str, Any]:
    """RFC 7662: whether ``token`` is active, and its metadata. A client may only introspect its own tokens;
    for anyone else's the answer is ``{"active": false}``."""
    inactive: dict[str, Any] = {"active": False}
    refresh = refresh_token_row(session, token)
    if refresh is not None:
        return _introspect_refresh(session, client, refresh, settings, now) or inactive
    try:
        identity = verify_access_token(session=session, token=token, settings=settings, now=now)
    except InvalidToken:
        return inactive
    if identity.client.id != client.id:
        return inactive
    body = {
        "active": True,
        "token_type": "Bearer",
        "scope": " ".join(sorted(identity.scopes)),
        "client_id": identity.client.client_id,
        "sub": str(identity.user.id) if identity.user is not None else identity.client.client_id,
        "iss": issuer(settings),
        "aud": audience(settings),
        "jti": identity.jti,
        "exp": int(identity.expires_at.timestamp()),
    }
    return {name: value for name, value in body.items() if value is not None}


def _introspect_refresh(
    session: Session, client: ApiClient, refresh: OAuthRefreshToken, settings: Settings, now: datetime
) -> dict[str, Any] | None:
    grant = session.get(OAuthGrant, refresh.grant_id)
    if grant is None or grant.api_client_id != client.id or grant.revoked_at is not None:
        return None
    if refresh.used_at is not None or refresh.expires_at <= now:
        return None
    try:
        _, user = _parties(session, grant)
    except InvalidToken:
        return None
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": " ".join(grant.scopes),
        "client_id": client.client_id,
        "sub": str(user.id) if user is not None else client.client_id,
        "iss": issuer(settings),
        "exp": int(refresh.expires_at.timestamp()),
    }

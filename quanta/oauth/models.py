"""OAuth tables and value objects: signing keys, grants with their codes and tokens, social identities.

A *grant* is one approval (a person's consent to a client, or a client-credentials issuance). Its
authorization code, refresh tokens and access tokens hang off it; revoking the grant revokes them all
(a "token family"). Codes and refresh tokens are stored as SHA-256 hashes; access tokens are signed JWTs
whose ``jti`` is stored so a single one can be revoked. Private signing keys are stored sealed under a key
derived from ``QUANTA_SECRET_KEY``, so a copy of the database cannot mint tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from quanta.accounts.errors import InsufficientScope
from quanta.accounts.models import ApiClient, User, utcnow

__all__ = [
    "AccessIdentity",
    "ExternalIdentity",
    "OAuthAccessToken",
    "OAuthAuthorizationCode",
    "OAuthGrant",
    "OAuthIdentity",
    "OAuthRefreshToken",
    "OAuthSigningKey",
]


def _user_ref(*, nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, foreign_key="user_account.id", ondelete="CASCADE", index=True)
    return Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)


def _client_ref() -> Any:
    return Field(foreign_key="api_client.id", ondelete="CASCADE", index=True)


def _grant_ref() -> Any:
    return Field(foreign_key="oauth_grant.id", ondelete="CASCADE", index=True)


class OAuthSigningKey(SQLModel, table=True):
    """A key that signs access tokens. The newest live key signs; every live key verifies (and is in the
    JWKS) until it is retired."""

    __tablename__ = "oauth_signing_key"

    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(max_length=64, unique=True, index=True)
    alg: str = Field(max_length=16)
    public_jwk: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    sealed_private_key: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
    retired_at: datetime | None = None


class OAuthGrant(SQLModel, table=True):
    """One approval: a person's consent to a client (``user_id`` set) or a client-credentials issuance."""

    __tablename__ = "oauth_grant"

    id: int | None = Field(default=None, primary_key=True)
    api_client_id: int = _client_ref()
    user_id: int | None = _user_ref(nullable=True)
    grant_type: str = Field(max_length=32)
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    revoked_reason: str | None = Field(default=None, max_length=100)


class OAuthAuthorizationCode(SQLModel, table=True):
    """A single-use, short-lived authorization code (stored as its SHA-256), bound to a PKCE challenge."""

    __tablename__ = "oauth_authorization_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    api_client_id: int = _client_ref()
    user_id: int = _user_ref()
    redirect_uri: str = Field(max_length=500)
    redirect_uri_given: bool = True
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    code_challenge: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    grant_id: int | None = Field(default=None, foreign_key="oauth_grant.id", ondelete="CASCADE")


class OAuthRefreshToken(SQLModel, table=True):
    """A refresh token (stored as its SHA-256). Using it sets ``used_at`` and issues the next one; a second
    use means it leaked, and revokes its whole grant."""

    __tablename__ = "oauth_refresh_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    grant_id: int = _grant_ref()
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class OAuthAccessToken(SQLModel, table=True):
    """An issued JWT access token, by its ``jti``: lets one token be revoked before it expires."""

    __tablename__ = "oauth_access_token"

    id: int | None = Field(default=None, primary_key=True)
    jti: str = Field(max_length=64, unique=True, index=True)
    grant_id: int = _grant_ref()
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class OAuthIdentity(SQLModel, table=True):
    """A person's account at an outside provider (GitHub, Google, an OIDC issuer), linked to a user."""

    __tablename__ = "oauth_identity"
    __table_args__ = (sa.UniqueConstraint("provider", "subject", name="uq_oauth_identity_provider_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _user_ref()
    provider: str = Field(max_length=32)
    subject: str = Field(max_length=255)
    email: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None


# ---- value objects -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AccessIdentity:
    """Who a valid OAuth access token acts for: a client, for a person (``user``) or for its organisation."""

    client: ApiClient
    user: User | None
    grant: OAuthGrant
    scopes: frozenset[str]
    jti: str
    expires_at: datetime

    def require(self, *scopes: str) -> None:
        """Raise ``InsufficientScope`` unless the token holds every one of ``scopes``."""
        missing = set(scopes) - self.scopes
        if missing:
            raise InsufficientScope(sorted(missing))


@dataclass(frozen=True, kw_only=True)
class ExternalIdentity:
    """What a provider vouched for at sign-in: its subject id and, when it has one, the email address."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None

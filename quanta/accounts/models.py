"""Accounts tables and value objects: users, profiles, organisations, tokens, sessions and the audit log.

One family per entity (``XBase``, ``XCreate``, ``XUpdate``, ``X(table=True)``, ``XPublic``). Secrets are
never stored: tables keep the SHA-256 of a token and the Argon2id hash of a password. Emails are stored
normalised (trimmed, lower-case), which makes the unique index case-insensitive on every database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from quanta.accounts.errors import InsufficientScope
from quanta.accounts.events import AccountEvent, AuditKind
from quanta.mail import OutboxEmail

__all__ = [
    "GRANT_TYPES",
    "SCOPES",
    "ApiClient",
    "AuditEvent",
    "AuthSession",
    "EmailToken",
    "Invitation",
    "Membership",
    "Organization",
    "OutboxEmail",
    "PersonalAccessToken",
    "Profile",
    "Role",
    "User",
]

SCOPES: Final[Mapping[str, str]] = {
    "market:read": "Read market data: instruments and bars.",
    "backtests:run": "Start backtests.",
    "backtests:read": "Read backtest results.",
    "strategies:read": "Read your strategies.",
    "strategies:write": "Create, change and delete your strategies.",
    "profile:read": "Read your profile and email address.",
    "org:admin": "Manage organisations you administer: members, invitations, API clients.",
}
"""Every scope a personal access token or an API client can hold, with what it allows."""

GRANT_TYPES: Final[Mapping[str, str]] = {
    "authorization_code": "A person signs in and approves the client (with PKCE).",
    "refresh_token": "Swap a refresh token for a new access token.",
    "client_credentials": "The client acts for its organisation, without a person.",
}
"""OAuth 2 grant types an API client may be allowed."""


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def _json_list() -> Any:
    return Field(default_factory=list, sa_type=JSON)


class Role(StrEnum):
    """A member's role in an organisation; owners > admins > members."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"

    @property
    def manages_members(self) -> bool:
        """Owners and admins invite, remove and change the roles of members."""
        return self in (Role.OWNER, Role.ADMIN)


def _role_type() -> sa.Enum:
    """Stored as a short string (no database enum type), read back as ``Role``."""
    return sa.Enum(Role, native_enum=False, length=16, values_callable=lambda e: [r.value for r in e])


class EmailPurpose(StrEnum):
    """What an emailed token proves when it comes back."""

    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a password
    CHANGE_EMAIL = "change_email"


def _purpose_type() -> sa.Enum:
    return sa.Enum(EmailPurpose, native_enum=False, length=32, values_callable=lambda e: [p.value for p in e])


# ---- users ---------------------------------------------------------------------------------------------


class UserBase(SQLModel):
    email: str = Field(max_length=320)


class UserCreate(UserBase):
    """What sign-up asks for; without a username a random ``trader-…`` one is given."""

    password: str
    username: str | None = Field(default=None, max_length=32)


class User(UserBase, table=True):
    """A person's account. ``email`` is normalised and unique."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    email_verified_at: datetime | None = None
    is_admin: bool = False
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class UserPublic(UserBase):
    """The account as its owner sees it (never the password hash)."""

    id: int
    email_verified_at: datetime | None
    is_admin: bool
    created_at: datetime


# ---- profiles ------------------------------------------------------------------------------------------


class ProfileBase(SQLModel):
    display_name: str = Field(default="", max_length=80)
    bio: str = Field(default="", max_length=1000)
    avatar_url: str | None = Field(default=None, max_length=500)
    links: list[str] = _json_list()


class Profile(ProfileBase, table=True):
    """The public face of a user; ``username`` is a unique slug used in URLs."""

    __tablename__ = "profile"

    user_id: int = Field(primary_key=True, foreign_key="user_account.id")
    username: str = Field(max_length=32, unique=True, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class ProfileUpdate(SQLModel):
    """Fields to change; None leaves a field as it is."""

    display_name: str | None = Field(default=None, max_length=80)
    username: str | None = Field(default=None, max_length=32)
    bio: str | None = Field(default=None, max_length=1000)
    avatar_url: str | None = Field(default=None, max_length=500)
    links: list[str] | None = None


class ProfilePublic(ProfileBase):
    """What anyone may see: no email, no ids, no account flags."""

    username: str
    member_since: datetime


# ---- organisations -------------------------------------------------------------------------------------


class OrganizationBase(SQLModel):
    name: str = Field(min_length=1, max_length=100)


class OrganizationCreate(OrganizationBase):
    """A new organisation; the slug is derived from the name when not given."""

    slug: str | None = Field(default=None, max_length=40)


class OrganizationUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)


class Organization(OrganizationBase, table=True):
    """A team that shares strategies and API clients; ``slug`` is unique and used in URLs."""

    __tablename__ = "organization"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class OrganizationPublic(OrganizationBase):
    id: int
    slug: str
    created_at: datetime


class Membership(SQLModel, table=True):
    """A user's role in an organisation (one row per pair)."""

    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("org_id", "user_id", name="uq_membership_org_user"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    role: Role = Field(sa_type=_role_type())
    created_at: datetime = Field(default_factory=utcnow)


class MemberPublic(SQLModel):
    """A member as other members see them."""

    user_id: int
    username: str
    display_name: str
    role: Role
    joined_at: datetime


class InvitationBase(SQLModel):
    email: str = Field(max_length=320)
    role: Role = Field(default=Role.MEMBER, sa_type=_role_type())


class InvitationCreate(InvitationBase):
    """Whom to invite and as what."""


class Invitation(InvitationBase, table=True):
    """An emailed invitation to join an organisation; the link carries the token, the row its hash."""

    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    invited_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    accepted_at: datetime | None = None


class InvitationPublic(InvitationBase):
    id: int
    org_id: int
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


# ---- personal access tokens ----------------------------------------------------------------------------


class PersonalAccessTokenBase(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = _json_list()


class PersonalAccessTokenCreate(PersonalAccessTokenBase):
    """A new token; ``expires_in_days=None`` makes one that never expires."""

    expires_in_days: int | None = Field(default=90, ge=1, le=366)


class PersonalAccessToken(PersonalAccessTokenBase, table=True):
    """A user's API token (``qnt_pat_…``); ``prefix`` is its first characters, shown in lists."""

    __tablename__ = "personal_access_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class PersonalAccessTokenPublic(PersonalAccessTokenBase):
    id: int
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


# ---- API clients (OAuth) -------------------------------------------------------------------------------


class ApiClientBase(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    redirect_uris: list[str] = _json_list()
    scopes: list[str] = _json_list()
    grant_types: list[str] = _json_list()


class ApiClientCreate(ApiClientBase):
    """A new OAuth client of an organisation."""


class ApiClientUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    redirect_uris: list[str] | None = None
    scopes: list[str] | None = None
    grant_types: list[str] | None = None


class ApiClient(ApiClientBase, table=True):
    """An OAuth client registered by an organisation; the secret is stored as its SHA-256."""

    __tablename__ = "api_client"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    client_id: str = Field(max_length=64, unique=True, index=True)
    client_secret_hash: str = Field(max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None

    def check_redirect_uri(self, uri: str) -> bool:
        """Whether ``uri`` is one of the registered redirect URIs (exact match, as OAuth 2.1 asks)."""
        return uri in self.redirect_uris

    def check_grant_type(self, grant_type: str) -> bool:
        """Whether the client may use ``grant_type``."""
        return grant_type in self.grant_types

    def allowed_scopes(self, requested: set[str] | frozenset[str]) -> frozenset[str]:
        """The part of ``requested`` this client may hold."""
        return frozenset(requested) & frozenset(self.scopes)


class ApiClientPublic(ApiClientBase):
    id: int
    org_id: int
    client_id: str
    created_by_id: int | None
    created_at: datetime
    revoked_at: datetime | None


# ---- browser sessions and emailed tokens ---------------------------------------------------------------


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds the token; this row its SHA-256, times and origin."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ip: str | None = Field(default=None, max_length=45)
    user_agent: str | None = Field(default=None, max_length=400)
    revoked_at: datetime | None = None


class AuthSessionPublic(SQLModel):
    """A session as listed on the owner's "where you're signed in" page."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None


class EmailToken(SQLModel, table=True):
    """A single-use token sent by email: verify an address, reset a password, or confirm a new address."""

    __tablename__ = "email_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    purpose: EmailPurpose = Field(sa_type=_purpose_type())
    token_hash: str = Field(max_length=64, unique=True, index=True)
    new_email: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


# ---- audit log -----------------------------------------------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """One stored ``AccountEvent``. No foreign keys: the log outlives the rows it mentions."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64, index=True)
    actor_id: int | None = Field(default=None, index=True)
    subject_id: int | None = Field(default=None, index=True)
    org_id: int | None = Field(default=None, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    ip: str | None = Field(default=None, max_length=45)
    created_at: datetime = Field(default_factory=utcnow, index=True)

    def to_event(self) -> AccountEvent:
        """The row as the immutable event it records."""
        return AccountEvent(
            kind=AuditKind(self.kind),
            occurred_at=self.created_at,
            actor_id=self.actor_id,
            subject_id=self.subject_id,
            org_id=self.org_id,
            ip=self.ip,
            detail=dict(self.detail),
        )


# ---- results of services -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SessionGrant:
    """A fresh browser session: put ``token`` in the cookie, keep nothing else of it."""

    user: User
    auth_session: AuthSession
    token: str


@dataclass(frozen=True, kw_only=True)
class CurrentSession:
    """A valid session and its user, as resolved from a cookie."""

    user: User
    auth_session: AuthSession


@dataclass(frozen=True, kw_only=True)
class IssuedToken:
    """A new personal access token; ``secret`` is shown once and never stored."""

    token: PersonalAccessToken
    secret: str


@dataclass(frozen=True, kw_only=True)
class TokenIdentity:
    """Who a personal access token acts for, and what it may do."""

    user: User
    token: PersonalAccessToken
    scopes: frozenset[str]

    def require(self, *scopes: str) -> None:
        """Raise ``InsufficientScope`` unless the token holds every one of ``scopes``."""
        missing = set(scopes) - self.scopes
        if missing:
            raise InsufficientScope(sorted(missing))


@dataclass(frozen=True, kw_only=True)
class IssuedClient:
    """A registered API client; ``secret`` is shown once and never stored."""

    client: ApiClient
    secret: str

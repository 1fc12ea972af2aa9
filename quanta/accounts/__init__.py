"""Accounts: users and profiles, browser sessions, organisations with roles, personal access tokens,
API clients for OAuth, emailed tokens and the audit log. For example::

    with db.session() as unit:
        user = sign_up(session=unit, user_in=UserCreate(email="ada@example.com", password="…"))
    with db.session() as unit:
        grant = sign_in(session=unit, email="ada@example.com", password="…", ip=client_ip)
        response.set_cookie("quanta_session", grant.token, httponly=True, secure=True, samesite="lax")

Use cases live in ``quanta.accounts.service``, tables and value objects in ``quanta.accounts.models``,
errors in ``quanta.accounts.errors``. See docs/accounts.md.
"""

from quanta.accounts import errors, models, service
from quanta.accounts.errors import (
    AccountDisabled,
    AccountsError,
    Conflict,
    InsufficientScope,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotAllowed,
    NotFound,
    PasswordPolicyError,
    Throttled,
    TokenExpired,
)
from quanta.accounts.events import AccountEvent, AuditKind
from quanta.accounts.models import GRANT_TYPES, SCOPES, Role
from quanta.accounts.passwords import check_password, password_problems

__all__ = [
    "GRANT_TYPES",
    "SCOPES",
    "AccountDisabled",
    "AccountEvent",
    "AccountsError",
    "AuditKind",
    "Conflict",
    "InsufficientScope",
    "InvalidCredentials",
    "InvalidInput",
    "InvalidToken",
    "NotAllowed",
    "NotFound",
    "PasswordPolicyError",
    "Role",
    "Throttled",
    "TokenExpired",
    "check_password",
    "errors",
    "models",
    "password_problems",
    "service",
]

"""The few accounts internals social sign-in needs, in one place.

``quanta.accounts`` has no public service yet to open a session for someone proven by an outside
provider, or to create an account for a provider-verified address; these wrap its internals (profile,
session and audit helpers) so the rest of ``quanta.oauth`` uses only this module.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session

from quanta.accounts._identity import _open_session, reauthenticate, user_by_email
from quanta.accounts._profiles import create_profile
from quanta.accounts._support import normalize_email, record
from quanta.accounts.events import AuditKind
from quanta.accounts.models import SessionGrant, User
from quanta.accounts.passwords import hash_password

__all__ = ["create_external_user", "open_session", "reauthenticate", "user_by_email"]


def open_session(
    session: Session, user: User, *, provider: str, ip: str | None, user_agent: str | None, now: datetime
) -> SessionGrant:
    """A fresh browser session for ``user``, who proved who they are at ``provider``."""
    grant = _open_session(session, user, ip=ip, user_agent=user_agent, now=now)
    record(session, AuditKind.SIGNED_IN, now=now, actor_id=user.id, ip=ip, detail={"provider": provider})
    return grant


def create_external_user(
    session: Session, *, email: str, provider: str, ip: str | None, now: datetime
) -> User:
    """A new account for an address ``provider`` verified. It has a random password nobody knows (a
    password reset sets a real one) and a random username."""
    user = User(
        email=normalize_email(email),
        password_hash=hash_password(secrets.token_urlsafe(32)),
        email_verified_at=now,
        created_at=now,
    )
    session.add(user)
    session.flush()
    create_profile(session, user, username=None, now=now)
    record(session, AuditKind.SIGNED_UP, now=now, actor_id=user.id, ip=ip, detail={"provider": provider})
    return user

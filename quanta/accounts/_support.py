"""Small helpers shared by the accounts services: time, tokens, email addresses, audit records."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from quanta.accounts.errors import InvalidInput
from quanta.accounts.events import AccountEvent, AuditKind
from quanta.accounts.models import AuditEvent, User
from quanta.settings import get_settings

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
_MAX_EMAIL = 254


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``, for word lists written as prose."""
    return frozenset(text.split())


def current_time(now: datetime | None) -> datetime:
    """``now`` (which must be aware) or the current UTC time."""
    if now is None:
        return datetime.now(UTC)
    if now.utcoffset() is None:
        msg = "pass an aware datetime (tzinfo=UTC) as `now`"
        raise ValueError(msg)
    return now.astimezone(UTC)


def new_token(prefix: str = "") -> str:
    """A fresh random token: 256 bits from ``secrets.token_urlsafe(32)``, after ``prefix``."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 (hex) stored in place of a high-entropy token."""
    return hashlib.sha256(token.encode()).hexdigest()


def hashes_match(stored: str, token: str) -> bool:
    """Constant-time check that ``token`` hashes to ``stored``."""
    return hmac.compare_digest(stored, token_hash(token))


def normalize_email(email: str) -> str:
    """The stored spelling of an email address (trimmed, lower-case); raise ``InvalidInput`` if malformed."""
    normalized = email.strip().lower()
    if len(normalized) > _MAX_EMAIL or not _EMAIL.match(normalized):
        raise InvalidInput("email", "Enter a valid email address, like name@example.com.")
    return normalized


def app_url(path: str, base_url: str | None) -> str:
    """An absolute link into the app (``base_url`` or ``QUANTA_PUBLIC_URL``)."""
    return (base_url or get_settings().public_url).rstrip("/") + path


def link(path: str, token: str, base_url: str | None) -> str:
    """An absolute link into the app carrying ``token``."""
    return f"{app_url(path, base_url)}?token={token}"


def user_id(user: User) -> int:
    """The id of a stored user (flushed users always have one)."""
    if user.id is None:
        msg = "the user has not been saved yet"
        raise ValueError(msg)
    return user.id


def record(
    session: Session,
    kind: AuditKind,
    *,
    now: datetime,
    actor_id: int | None = None,
    subject_id: int | None = None,
    org_id: int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Store one audit event (in the caller's unit of work)."""
    event = AccountEvent(
        kind=kind,
        occurred_at=now,
        actor_id=actor_id,
        subject_id=subject_id,
        org_id=org_id,
        ip=ip,
        detail=detail or {},
    )
    row = AuditEvent(
        kind=event.kind.value,
        actor_id=event.actor_id,
        subject_id=event.subject_id,
        org_id=event.org_id,
        ip=event.ip,
        detail=event.detail,
        created_at=event.occurred_at,
    )
    session.add(row)
    return row


_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
MIN_SLUG = 3
RESERVED_SLUGS = words(
    """
    about account accounts admin api app assets auth backtests billing docs help login logout me new
    oauth org orgs organizations profile quanta root settings sign-in sign-out sign-up signin signout
    signup static strategies support system team teams u user users www
    """
)


def slugify(text: str, *, max_length: int) -> str:
    """A URL slug made from ``text``: lower-case letters, digits and single hyphens."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:max_length].rstrip("-")


def check_slug(value: str, *, field: str, max_length: int) -> str:
    """``value`` if it is a usable slug; otherwise ``InvalidInput`` saying what is wrong."""
    if not MIN_SLUG <= len(value) <= max_length or not _SLUG.match(value):
        message = (
            f"Use {MIN_SLUG} to {max_length} lower-case letters, digits or hyphens, "
            "starting and ending with a letter or digit."
        )
        raise InvalidInput(field, message)
    if value in RESERVED_SLUGS:
        raise InvalidInput(field, f"'{value}' is reserved. Choose another.")
    return value

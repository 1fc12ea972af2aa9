"""The emails the accounts services send, written to the outbox in the caller's unit of work."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from quanta.accounts.models import Organization, Role
from quanta.mail import enqueue

_SIGNATURE = "\n\n— Quanta\n"


def _hours(ttl: timedelta) -> str:
    hours = round(ttl.total_seconds() / 3600)
    return "1 hour" if hours == 1 else f"{hours} hours"


def _send(session: Session, *, to: str, subject: str, body: str, now: datetime) -> None:
    enqueue(session=session, to=to, subject=subject, body=body + _SIGNATURE, now=now)


def verify_email(session: Session, *, to: str, url: str, ttl: timedelta, now: datetime) -> None:
    """Confirm that ``to`` is yours."""
    body = (
        f"Confirm your email address for Quanta by opening this link:\n\n{url}\n\n"
        f"The link works once, for {_hours(ttl)}. If you did not sign up, ignore this email."
    )
    _send(session, to=to, subject="Confirm your email address", body=body, now=now)


def already_registered(session: Session, *, to: str, reset_url: str, now: datetime) -> None:
    """Someone tried to sign up (or move an account) to an address that has an account."""
    body = (
        "Someone tried to use this email address for a new Quanta account, but it already has one.\n\n"
        f"If that was you, sign in, or reset your password here:\n\n{reset_url}\n\n"
        "If it was not you, you can ignore this email; nothing has changed."
    )
    _send(session, to=to, subject="You already have a Quanta account", body=body, now=now)


def reset_password(session: Session, *, to: str, url: str, ttl: timedelta, now: datetime) -> None:
    """A link to choose a new password."""
    body = (
        f"To choose a new Quanta password, open this link:\n\n{url}\n\n"
        f"The link works once, for {_hours(ttl)}. If you did not ask for it, ignore this email: "
        "your password stays as it is."
    )
    _send(session, to=to, subject="Reset your password", body=body, now=now)


def password_changed(session: Session, *, to: str, now: datetime) -> None:
    """A notice after the password changed; every session was signed out."""
    body = (
        "Your Quanta password was changed and every signed-in browser was signed out.\n\n"
        "If you did not do this, reset your password at once and contact us."
    )
    _send(session, to=to, subject="Your password was changed", body=body, now=now)


def confirm_new_email(session: Session, *, to: str, url: str, ttl: timedelta, now: datetime) -> None:
    """Confirm the new address of an account."""
    body = (
        f"Confirm that this is the new email address of your Quanta account:\n\n{url}\n\n"
        f"The link works once, for {_hours(ttl)}. Until then your account keeps its old address."
    )
    _send(session, to=to, subject="Confirm your new email address", body=body, now=now)


def email_change_requested(session: Session, *, to: str, new_email: str, now: datetime) -> None:
    """Warn the old address that the account is moving."""
    body = (
        f"Someone asked to change the email address of your Quanta account to {_mask(new_email)}.\n\n"
        "If it was not you, reset your password now: the change only happens once the new address "
        "is confirmed."
    )
    _send(session, to=to, subject="Your email address is being changed", body=body, now=now)


def invitation(
    session: Session, *, to: str, org: Organization, role: Role, inviter: str, url: str, now: datetime
) -> None:
    """An invitation to join an organisation."""
    body = (
        f"{inviter} invited you to join {org.name} on Quanta as {'an' if role.value[0] in 'aeiou' else 'a'} "
        f"{role.value}.\n\nAccept the invitation here (sign in or sign up with this email address "
        f"first):\n\n{url}"
    )
    _send(session, to=to, subject=f"Join {org.name} on Quanta", body=body, now=now)


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"

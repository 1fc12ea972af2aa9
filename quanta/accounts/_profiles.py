"""Profiles: the public face of a user, edited by its owner and shown to anyone."""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from quanta.accounts._support import check_slug, current_time, record, user_id
from quanta.accounts.errors import Conflict, InvalidInput, NotFound
from quanta.accounts.events import AuditKind
from quanta.accounts.models import Profile, ProfilePublic, ProfileUpdate, User

USERNAME_LENGTH = 32
MAX_LINKS = 5
_MAX_URL = 300


def create_profile(session: Session, user: User, *, username: str | None, now: datetime) -> Profile:
    """The profile of a new user: ``username`` if given (and free), else a random ``trader-…`` name.

    The generated name is random rather than taken from the email address, which stays private.
    """
    if username is None:
        candidates = (f"trader-{secrets.token_hex(3)}" for _ in range(20))
        username = next(name for name in candidates if _username_free(session, name))
    else:
        username = check_username(session, username)
    profile = Profile(user_id=user_id(user), username=username, updated_at=now)
    session.add(profile)
    session.flush()
    return profile


def check_username(session: Session, wanted: str, *, current: str | None = None) -> str:
    """``wanted`` normalised, if it is a valid slug and free (or already ``current``)."""
    name = check_slug(wanted.strip().lower(), field="username", max_length=USERNAME_LENGTH)
    if name != current and not _username_free(session, name):
        raise Conflict(f"The username {name!r} is taken. Choose another.")
    return name


def get_profile(*, session: Session, user: User) -> Profile:
    """The user's own profile, every field."""
    profile = session.get(Profile, user_id(user))
    if profile is None:
        raise NotFound("This account has no profile.")
    return profile


def update_profile(
    *, session: Session, user: User, profile_in: ProfileUpdate, now: datetime | None = None
) -> Profile:
    """Change the fields of ``profile_in`` that are set; the username must be free and a valid slug."""
    now = current_time(now)
    profile = get_profile(session=session, user=user)
    changes = profile_in.model_dump(exclude_unset=True, exclude_none=True)
    if "username" in changes:
        changes["username"] = check_username(session, changes["username"], current=profile.username)
    if "avatar_url" in changes:
        changes["avatar_url"] = _check_url(changes["avatar_url"], field="avatar_url") or None
    if "links" in changes:
        changes["links"] = _check_links(changes["links"])
    for name in ("display_name", "bio"):
        if name in changes:
            changes[name] = changes[name].strip()
    for name, value in changes.items():
        setattr(profile, name, value)
    profile.updated_at = now
    session.add(profile)
    record(session, AuditKind.PROFILE_UPDATED, now=now, actor_id=user.id, detail={"fields": sorted(changes)})
    session.flush()
    return profile


def public_profile(*, session: Session, username: str) -> ProfilePublic:
    """What anyone may see of ``username``'s profile (``NotFound`` for unknown or disabled users)."""
    row = session.exec(
        select(Profile, User)
        .join(User, col(User.id) == col(Profile.user_id))
        .where(col(Profile.username) == username.strip().lower(), col(User.disabled).is_(False))
    ).first()
    if row is None:
        raise NotFound(f"No trader is called {username!r}.")
    profile, user = row
    return ProfilePublic(
        username=profile.username,
        display_name=profile.display_name,
        bio=profile.bio,
        avatar_url=profile.avatar_url,
        links=list(profile.links),
        member_since=user.created_at,
    )


def _username_free(session: Session, name: str) -> bool:
    return session.exec(select(Profile.user_id).where(col(Profile.username) == name)).first() is None


def _check_url(value: str, *, field: str) -> str:
    url = value.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if len(url) > _MAX_URL or parts.scheme not in {"https", "http"} or not parts.netloc:
        raise InvalidInput(field, f"Enter a full web address starting with https:// (at most {_MAX_URL}).")
    return url


def _check_links(links: list[str]) -> list[str]:
    cleaned = [url for url in (_check_url(link, field="links") for link in links) if url]
    if len(cleaned) > MAX_LINKS:
        raise InvalidInput("links", f"Add at most {MAX_LINKS} links.")
    return list(dict.fromkeys(cleaned))

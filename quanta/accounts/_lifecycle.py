"""The end of an account: export everything it owns, then delete it (password required)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, delete, func, select, update

from quanta.accounts._audit import audit_log_for_user
from quanta.accounts._identity import reauthenticate
from quanta.accounts._orgs import remove_organization
from quanta.accounts._support import current_time, record, user_id
from quanta.accounts.errors import NotAllowed
from quanta.accounts.events import AuditKind
from quanta.accounts.models import (
    ApiClient,
    ApiClientPublic,
    AuditEvent,
    AuthSession,
    EmailToken,
    Invitation,
    Membership,
    Organization,
    PersonalAccessToken,
    PersonalAccessTokenPublic,
    Profile,
    Role,
    User,
    UserPublic,
)
from quanta.ratelimit import RateLimiter, limiter_for

EXPORT_FORMAT = "quanta.account-export/1"
_EXPORT_EVENTS = 10_000


def export_account(*, session: Session, user: User, now: datetime | None = None) -> dict[str, Any]:
    """Everything stored about ``user``, as JSON-serialisable data (no password or token hashes)."""
    now = current_time(now)
    me = user_id(user)
    profile = session.get(Profile, me)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "user": _json(UserPublic.model_validate(user)),
        "profile": _json(profile, exclude={"user_id"}) if profile is not None else None,
        "organizations": [
            {
                "slug": org.slug,
                "name": org.name,
                "role": member.role.value,
                "joined_at": _iso(member.created_at),
            }
            for org, member in session.exec(
                select(Organization, Membership)
                .join(Membership, col(Membership.org_id) == col(Organization.id))
                .where(col(Membership.user_id) == me)
                .order_by(col(Organization.slug))
            )
        ],
        "personal_access_tokens": [
            _json(PersonalAccessTokenPublic.model_validate(token))
            for token in session.exec(
                select(PersonalAccessToken).where(col(PersonalAccessToken.user_id) == me)
            )
        ],
        "sessions": [
            _json(row, exclude={"id", "user_id", "token_hash"})
            for row in session.exec(select(AuthSession).where(col(AuthSession.user_id) == me))
        ],
        "api_clients_created": [
            _json(ApiClientPublic.model_validate(client))
            for client in session.exec(select(ApiClient).where(col(ApiClient.created_by_id) == me))
        ],
        "audit_events": [
            event.to_event().model_dump(mode="json")
            for event in audit_log_for_user(session=session, user=user, limit=_EXPORT_EVENTS)
        ],
    }


def delete_account(
    *,
    session: Session,
    user: User,
    password: str,
    limiter: RateLimiter | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Delete the account and what it owns; return its export (offer it for download first).

    Organisations where the user is the only member go with it. Where they are the last owner of an
    organisation with other members, ``NotAllowed`` asks them to hand ownership over first. The audit
    log keeps its events, with this user's id and IP address removed.
    """
    now = current_time(now)
    reauthenticate(user=user, password=password, limiter=limiter or limiter_for(), now=now)
    me = user_id(user)
    solo_orgs = _organizations_to_delete(session, me)
    export = export_account(session=session, user=user, now=now)
    for org in solo_orgs:
        remove_organization(session, org, actor_id=None, now=now)
    for table in (AuthSession, EmailToken, PersonalAccessToken, Membership):
        session.exec(delete(table).where(col(table.user_id) == me))
    session.exec(update(Invitation).where(col(Invitation.invited_by_id) == me).values(invited_by_id=None))
    session.exec(update(ApiClient).where(col(ApiClient.created_by_id) == me).values(created_by_id=None))
    session.exec(update(AuditEvent).where(col(AuditEvent.actor_id) == me).values(actor_id=None, ip=None))
    session.exec(update(AuditEvent).where(col(AuditEvent.subject_id) == me).values(subject_id=None))
    session.exec(delete(Profile).where(col(Profile.user_id) == me))
    record(session, AuditKind.ACCOUNT_DELETED, now=now, detail={"user_id": me})
    session.delete(user)
    session.flush()
    return export


def _organizations_to_delete(session: Session, me: int) -> list[Organization]:
    """Organisations only ``me`` belongs to; ``NotAllowed`` if ``me`` is the last owner of a shared one."""
    owned = session.exec(
        select(Organization)
        .join(Membership, col(Membership.org_id) == col(Organization.id))
        .where(col(Membership.user_id) == me, col(Membership.role) == Role.OWNER)
    ).all()
    solo: list[Organization] = []
    for org in owned:
        counts = _member_counts(session, org)
        if counts["members"] == 1:
            solo.append(org)
        elif counts["owners"] == 1:
            msg = f"You are the last owner of {org.name}: make another member an owner first."
            raise NotAllowed(msg)
    return solo


def _member_counts(session: Session, org: Organization) -> dict[str, int]:
    rows = session.exec(
        select(Membership.role, func.count())
        .where(col(Membership.org_id) == org.id)
        .group_by(Membership.role)
    ).all()
    by_role = {Role(role): int(count) for role, count in rows}
    return {"members": sum(by_role.values()), "owners": by_role.get(Role.OWNER, 0)}


def _membership_json(org: Organization, member: Membership) -> dict[str, Any]:
    return {
        "slug": org.slug,
        "name": org.name,
        "role": member.role.value,
        "joined_at": _iso(member.created_at),
    }


def _json(model: SQLModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude=exclude)
    return data


def _iso(moment: datetime) -> str:
    return moment.isoformat()

"""Reading the audit log: a user sees events they did or that were done to them; org admins see the org's."""

from __future__ import annotations

from sqlmodel import Session, col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from quanta.accounts._orgs import org_id, require_manager
from quanta.accounts._support import user_id
from quanta.accounts.models import AuditEvent, Organization, User

MAX_PAGE = 200


def audit_log_for_user(
    *, session: Session, user: User, limit: int = 50, before_id: int | None = None
) -> list[AuditEvent]:
    """Events ``user`` did or that were done to them, newest first; page with ``before_id``."""
    me = user_id(user)
    query = select(AuditEvent).where(or_(col(AuditEvent.actor_id) == me, col(AuditEvent.subject_id) == me))
    return _page(session, query, limit=limit, before_id=before_id)


def audit_log_for_org(
    *, session: Session, actor: User, org: Organization, limit: int = 50, before_id: int | None = None
) -> list[AuditEvent]:
    """Events of ``org``, newest first (owners and admins only); page with ``before_id``."""
    require_manager(session, actor, org)
    query = select(AuditEvent).where(col(AuditEvent.org_id) == org_id(org))
    return _page(session, query, limit=limit, before_id=before_id)


def _page(
    session: Session, query: SelectOfScalar[AuditEvent], *, limit: int, before_id: int | None
) -> list[AuditEvent]:
    if before_id is not None:
        query = query.where(col(AuditEvent.id) < before_id)
    query = query.order_by(col(AuditEvent.id).desc()).limit(max(1, min(limit, MAX_PAGE)))
    return list(session.exec(query))

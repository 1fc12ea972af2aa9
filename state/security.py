"""State of /security: the audit events of your account and of the organisations you manage."""

from __future__ import annotations

from typing import Any

import reflex as rx

from quanta import db
from quanta.accounts import AuditKind, service
from quanta.accounts.models import AuditEvent
from state.auth import AuthState
from state.views import when

PAGE = 100
LABELS = {
    AuditKind.SIGNED_UP: "Account created",
    AuditKind.EMAIL_VERIFIED: "Email address confirmed",
    AuditKind.EMAIL_CHANGE_REQUESTED: "Email change requested",
    AuditKind.EMAIL_CHANGED: "Email address changed",
    AuditKind.ACCOUNT_DELETED: "Account deleted",
    AuditKind.PROFILE_UPDATED: "Profile updated",
    AuditKind.SIGNED_IN: "Signed in",
    AuditKind.SIGN_IN_FAILED: "Failed sign-in",
    AuditKind.SIGN_IN_THROTTLED: "Sign-in throttled",
    AuditKind.SIGNED_OUT: "Signed out",
    AuditKind.SESSION_ROTATED: "Session renewed",
    AuditKind.SESSIONS_REVOKED: "Every browser signed out",
    AuditKind.PASSWORD_CHANGED: "Password changed",
    AuditKind.PASSWORD_RESET_REQUESTED: "Password reset requested",
    AuditKind.PASSWORD_RESET: "Password reset",
    AuditKind.TOKEN_CREATED: "Access token created",
    AuditKind.TOKEN_REVOKED: "Access token revoked",
    AuditKind.ORG_CREATED: "Organisation created",
    AuditKind.ORG_DELETED: "Organisation deleted",
    AuditKind.MEMBER_INVITED: "Member invited",
    AuditKind.INVITATION_REVOKED: "Invitation cancelled",
    AuditKind.INVITATION_ACCEPTED: "Invitation accepted",
    AuditKind.ROLE_CHANGED: "Role changed",
    AuditKind.MEMBER_REMOVED: "Member removed",
    AuditKind.API_CLIENT_REGISTERED: "API client registered",
    AuditKind.API_CLIENT_SECRET_ROTATED: "API client secret rotated",
    AuditKind.API_CLIENT_REVOKED: "API client revoked",
}

_LABEL_OF = {kind.value: label for kind, label in LABELS.items()}


def _detail(detail: dict[str, Any]) -> str:
    return " · ".join(
        f"{key.replace('_', ' ')}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
        for key, value in detail.items()
    )


def _event_row(event: AuditEvent, org: str = "") -> dict[str, str]:
    return {
        "id": str(event.id),
        "when": when(event.created_at),
        "what": _LABEL_OF.get(event.kind, event.kind),
        "kind": event.kind,
        "detail": _detail(event.detail),
        "ip": event.ip or "—",
        "org": org,
    }


class SecurityState(AuthState):
    """Your events, and the events of organisations where you are an owner or admin."""

    events: list[dict[str, str]] = []
    org_events: list[dict[str, str]] = []
    managed_orgs: int = 0

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """The newest events first."""
        with db.session() as unit:
            user = self._user(unit)
            if user is None:
                return self._to_sign_in()
            self.events = [
                _event_row(e) for e in service.audit_log_for_user(session=unit, user=user, limit=PAGE)
            ]
            managed = [
                org
                for org, role in service.list_organizations(session=unit, user=user)
                if role.manages_members
            ]
            self.managed_orgs = len(managed)
            self.org_events = [
                _event_row(event, org.name)
                for org in managed
                for event in service.audit_log_for_org(session=unit, actor=user, org=org, limit=PAGE)
            ]
        return None

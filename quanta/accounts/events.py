"""Account events: immutable and serialisable; each one is stored as an ``AuditEvent`` row.

The same ``AccountEvent`` type can later be published (Kafka) without change: ``event.model_dump_json()``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Event names such as "password.changed" are not secrets.
# ruff: noqa: S105


class AuditKind(StrEnum):
    """Every kind of audited account event."""

    SIGNED_UP = "account.signed_up"
    EMAIL_VERIFIED = "account.email_verified"
    EMAIL_CHANGE_REQUESTED = "account.email_change_requested"
    EMAIL_CHANGED = "account.email_changed"
    ACCOUNT_DELETED = "account.deleted"
    PROFILE_UPDATED = "account.profile_updated"
    SIGNED_IN = "session.signed_in"
    SIGN_IN_FAILED = "session.sign_in_failed"
    SIGN_IN_THROTTLED = "session.sign_in_throttled"
    SIGNED_OUT = "session.signed_out"
    SESSION_ROTATED = "session.rotated"
    SESSIONS_REVOKED = "session.all_revoked"
    PASSWORD_CHANGED = "password.changed"
    PASSWORD_RESET_REQUESTED = "password.reset_requested"
    PASSWORD_RESET = "password.reset"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    ORG_CREATED = "org.created"
    ORG_DELETED = "org.deleted"
    MEMBER_INVITED = "org.member_invited"
    INVITATION_REVOKED = "org.invitation_revoked"
    INVITATION_ACCEPTED = "org.invitation_accepted"
    ROLE_CHANGED = "org.role_changed"
    MEMBER_REMOVED = "org.member_removed"
    API_CLIENT_REGISTERED = "api_client.registered"
    API_CLIENT_SECRET_ROTATED = "api_client.secret_rotated"
    API_CLIENT_REVOKED = "api_client.revoked"
    STRATEGY_PUBLISHED = "strategy.published"
    STRATEGY_VISIBILITY_CHANGED = "strategy.visibility_changed"
    STRATEGY_DELETED = "strategy.deleted"
    STRATEGY_FORKED = "strategy.forked"
    STRATEGY_COLLABORATOR_ADDED = "strategy.collaborator_added"
    STRATEGY_COLLABORATOR_ROLE_CHANGED = "strategy.collaborator_role_changed"
    STRATEGY_COLLABORATOR_REMOVED = "strategy.collaborator_removed"
    CHAT_MESSAGE_REMOVED = "chat.message_removed"
    CHAT_USER_MUTED = "chat.user_muted"
    CHAT_USER_BANNED = "chat.user_banned"
    CHAT_RESTRICTION_LIFTED = "chat.restriction_lifted"
    CHAT_REPORT_DISMISSED = "chat.report_dismissed"


class AccountEvent(BaseModel):
    """Something that happened to an account or an organisation.

    ``actor_id`` is who did it (None when unknown, e.g. a failed sign-in for an unknown email),
    ``subject_id`` the user it was done to when that is someone else, ``org_id`` the organisation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AuditKind
    occurred_at: datetime
    actor_id: int | None = None
    subject_id: int | None = None
    org_id: int | None = None
    ip: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)

"""Accounts: users, profiles, organisations and roles, invitations, tokens, sessions, audit log, mail outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Types are spelt out (not SQLModel's) so this revision stays as it is when the models move on. Roles and
email-token purposes are short strings rather than database enums; lists and details are JSON.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _ref(name: str, table: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{table}.id"), nullable=nullable)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=False)


def _index(table: str, *columns: str, unique: bool = False) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def upgrade() -> None:
    op.create_table(
        "user_account",
        _id(),
        _text("email", 320),
        _text("password_hash", 255),
        _when("email_verified_at", nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _when("created_at"),
    )
    _index("user_account", "email", unique=True)

    op.create_table(
        "profile",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), primary_key=True),
        _text("username", 32),
        _text("display_name", 80),
        _text("bio", 1000),
        _text("avatar_url", 500, nullable=True),
        _json("links"),
        _when("updated_at"),
    )
    _index("profile", "username", unique=True)

    op.create_table(
        "organization",
        _id(),
        _text("name", 100),
        _text("slug", 40),
        _when("created_at"),
    )
    _index("organization", "slug", unique=True)

    op.create_table(
        "membership",
        _id(),
        _ref("org_id", "organization"),
        _ref("user_id", "user_account"),
        _text("role", 16),
        _when("created_at"),
        sa.UniqueConstraint("org_id", "user_id", name="uq_membership_org_user"),
    )
    _index("membership", "org_id")
    _index("membership", "user_id")

    op.create_table(
        "invitation",
        _id(),
        _ref("org_id", "organization"),
        _text("email", 320),
        _text("role", 16),
        _text("token_hash", 64),
        _ref("invited_by_id", "user_account", nullable=True),
        _when("created_at"),
        _when("expires_at"),
        _when("accepted_at", nullable=True),
    )
    _index("invitation", "org_id")
    _index("invitation", "token_hash", unique=True)

    op.create_table(
        "personal_access_token",
        _id(),
        _ref("user_id", "user_account"),
        _text("name", 100),
        _json("scopes"),
        _text("token_hash", 64),
        _text("prefix", 16),
        _when("created_at"),
        _when("expires_at", nullable=True),
        _when("last_used_at", nullable=True),
        _when("revoked_at", nullable=True),
    )
    _index("personal_access_token", "user_id")
    _index("personal_access_token", "token_hash", unique=True)

    op.create_table(
        "api_client",
        _id(),
        _ref("org_id", "organization"),
        _text("name", 100),
        _text("client_id", 64),
        _text("client_secret_hash", 64),
        _json("redirect_uris"),
        _json("scopes"),
        _json("grant_types"),
        _ref("created_by_id", "user_account", nullable=True),
        _when("created_at"),
        _when("revoked_at", nullable=True),
    )
    _index("api_client", "org_id")
    _index("api_client", "client_id", unique=True)

    op.create_table(
        "auth_session",
        _id(),
        _ref("user_id", "user_account"),
        _text("token_hash", 64),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        _text("ip", 45, nullable=True),
        _text("user_agent", 400, nullable=True),
        _when("revoked_at", nullable=True),
    )
    _index("auth_session", "user_id")
    _index("auth_session", "token_hash", unique=True)

    op.create_table(
        "email_token",
        _id(),
        _ref("user_id", "user_account"),
        _text("purpose", 32),
        _text("token_hash", 64),
        _text("new_email", 320, nullable=True),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
    )
    _index("email_token", "user_id")
    _index("email_token", "token_hash", unique=True)

    op.create_table(
        "audit_event",
        _id(),
        _text("kind", 64),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        _json("detail"),
        _text("ip", 45, nullable=True),
        _when("created_at"),
    )
    for column in ("kind", "actor_id", "subject_id", "org_id", "created_at"):
        _index("audit_event", column)

    op.create_table(
        "outbox_email",
        _id(),
        _text("to", 320),
        _text("subject", 255),
        sa.Column("body", sa.Text(), nullable=False),
        _when("created_at"),
        _when("sent_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _text("error", 2000, nullable=True),
    )
    _index("outbox_email", "sent_at")


def downgrade() -> None:
    for table in (
        "outbox_email",
        "audit_event",
        "email_token",
        "auth_session",
        "api_client",
        "personal_access_token",
        "invitation",
        "membership",
        "organization",
        "profile",
        "user_account",
    ):
        op.drop_table(table)

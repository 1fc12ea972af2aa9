"""OAuth server and REST API: signing keys, grants, codes, refresh and access tokens, social identities,
backtests submitted through the API.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Types are spelt out (not SQLModel's) so this revision stays as it is when the models move on. Rows that
hang off a person or an API client go when it goes (ON DELETE CASCADE), so deleting an account or an
organisation needs no knowledge of these tables.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _ref(name: str, table: str, *, nullable: bool = False) -> sa.Column[int]:
    target = sa.ForeignKey(f"{table}.id", ondelete="CASCADE")
    return sa.Column(name, sa.Integer(), target, nullable=nullable)


def _json(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=nullable)


def _index(table: str, *columns: str, unique: bool = False) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def upgrade() -> None:
    op.create_table(
        "oauth_signing_key",
        _id(),
        _text("kid", 64),
        _text("alg", 16),
        _json("public_jwk"),
        sa.Column("sealed_private_key", sa.Text(), nullable=False),
        _when("created_at"),
        _when("retired_at", nullable=True),
    )
    _index("oauth_signing_key", "kid", unique=True)

    op.create_table(
        "oauth_grant",
        _id(),
        _ref("api_client_id", "api_client"),
        _ref("user_id", "user_account", nullable=True),
        _text("grant_type", 32),
        _json("scopes"),
        _when("created_at"),
        _when("revoked_at", nullable=True),
        _text("revoked_reason", 100, nullable=True),
    )
    _index("oauth_grant", "api_client_id")
    _index("oauth_grant", "user_id")

    op.create_table(
        "oauth_authorization_code",
        _id(),
        _text("code_hash", 64),
        _ref("api_client_id", "api_client"),
        _ref("user_id", "user_account"),
        _text("redirect_uri", 500),
        sa.Column("redirect_uri_given", sa.Boolean(), nullable=False),
        _json("scopes"),
        _text("code_challenge", 128),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        _ref("grant_id", "oauth_grant", nullable=True),
    )
    _index("oauth_authorization_code", "code_hash", unique=True)
    _index("oauth_authorization_code", "api_client_id")
    _index("oauth_authorization_code", "user_id")

    op.create_table(
        "oauth_refresh_token",
        _id(),
        _text("token_hash", 64),
        _ref("grant_id", "oauth_grant"),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
    )
    _index("oauth_refresh_token", "token_hash", unique=True)
    _index("oauth_refresh_token", "grant_id")

    op.create_table(
        "oauth_access_token",
        _id(),
        _text("jti", 64),
        _ref("grant_id", "oauth_grant"),
        _when("created_at"),
        _when("expires_at"),
        _when("revoked_at", nullable=True),
    )
    _index("oauth_access_token", "jti", unique=True)
    _index("oauth_access_token", "grant_id")

    op.create_table(
        "oauth_identity",
        _id(),
        _ref("user_id", "user_account"),
        _text("provider", 32),
        _text("subject", 255),
        _text("email", 320, nullable=True),
        _when("created_at"),
        _when("last_used_at", nullable=True),
        sa.UniqueConstraint("provider", "subject", name="uq_oauth_identity_provider_subject"),
    )
    _index("oauth_identity", "user_id")

    op.create_table(
        "api_backtest",
        _id(),
        _text("public_id", 40),
        _ref("owner_user_id", "user_account", nullable=True),
        _ref("owner_client_id", "api_client", nullable=True),
        _text("submitted_via", 80),
        _text("status", 16),
        _text("example", 100),
        _text("class_name", 100),
        _json("symbols"),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        _text("timeframe", 4),
        _json("params"),
        _json("options"),
        _json("stats", nullable=True),
        _json("receipt", nullable=True),
        _json("trades", nullable=True),
        _json("equity", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _when("created_at"),
        _when("started_at", nullable=True),
        _when("finished_at", nullable=True),
    )
    _index("api_backtest", "public_id", unique=True)
    _index("api_backtest", "owner_user_id")
    _index("api_backtest", "owner_client_id")
    _index("api_backtest", "created_at")


def downgrade() -> None:
    for table in (
        "api_backtest",
        "oauth_identity",
        "oauth_access_token",
        "oauth_refresh_token",
        "oauth_authorization_code",
        "oauth_grant",
        "oauth_signing_key",
    ):
        op.drop_table(table)

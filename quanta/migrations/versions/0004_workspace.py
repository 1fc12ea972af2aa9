"""Strategy workspace: strategies, versions, collaborators, stars, tags.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Types are spelt out (not SQLModel's) so this revision stays as it is when the models move on. Rows that
hang off a person or a strategy go when it goes (ON DELETE CASCADE); history that outlives a person or a
strategy keeps its row and loses the link (ON DELETE SET NULL: a version's author, who added a
collaborator, the original of a fork).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OnDelete = Literal["CASCADE", "SET NULL"]


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _int(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _float(name: str) -> sa.Column[float]:
    return sa.Column(name, sa.Float(), nullable=True)


def _ref(
    name: str, table: str, *, ondelete: OnDelete = "CASCADE", primary_key: bool = False
) -> sa.Column[int]:
    target = sa.ForeignKey(f"{table}.id", ondelete=ondelete)
    nullable = ondelete == "SET NULL"
    return sa.Column(name, sa.Integer(), target, nullable=nullable, primary_key=primary_key)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=False)


def _index(table: str, *columns: str, unique: bool = False) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def upgrade() -> None:
    op.create_table(
        "strategy",
        _id(),
        _text("public_id", 16),
        _ref("owner_id", "user_account"),
        _text("title", 100),
        _text("description", 2000),
        _text("visibility", 16),
        _json("tags"),
        _when("created_at"),
        _when("updated_at"),
        _int("latest_version"),
        _ref("forked_from_id", "strategy", ondelete="SET NULL"),
        _int("forked_from_version", nullable=True),
        _int("fork_count"),
        _int("star_count"),
        _text("verified_run_id", 64, nullable=True),
        _text("verified_receipt_hash", 64, nullable=True),
        _int("verified_version", nullable=True),
        _float("verified_return_pct"),
        _float("verified_sharpe"),
        _float("verified_max_drawdown_pct"),
        _when("verified_at", nullable=True),
    )
    _index("strategy", "public_id", unique=True)
    for column in (
        "owner_id",
        "updated_at",
        "forked_from_id",
        "fork_count",
        "star_count",
        "verified_return_pct",
        "verified_sharpe",
    ):
        _index("strategy", column)

    op.create_table(
        "strategy_version",
        _id(),
        _ref("strategy_id", "strategy"),
        _int("number"),
        sa.Column("source", sa.Text(), nullable=False),
        _text("message", 500),
        _ref("author_id", "user_account", ondelete="SET NULL"),
        _when("created_at"),
        _int("restored_from", nullable=True),
        sa.UniqueConstraint("strategy_id", "number", name="uq_strategy_version_strategy_number"),
    )
    _index("strategy_version", "strategy_id")
    _index("strategy_version", "author_id")

    op.create_table(
        "strategy_tag",
        _ref("strategy_id", "strategy", primary_key=True),
        sa.Column("tag", sa.String(length=24), primary_key=True),
    )
    _index("strategy_tag", "tag")

    op.create_table(
        "strategy_collaborator",
        _id(),
        _text("role", 16),
        _ref("strategy_id", "strategy"),
        _ref("user_id", "user_account"),
        _ref("added_by_id", "user_account", ondelete="SET NULL"),
        _when("created_at"),
        sa.UniqueConstraint("strategy_id", "user_id", name="uq_strategy_collaborator_strategy_user"),
    )
    for column in ("strategy_id", "user_id", "added_by_id"):
        _index("strategy_collaborator", column)

    op.create_table(
        "strategy_star",
        _ref("strategy_id", "strategy", primary_key=True),
        _ref("user_id", "user_account", primary_key=True),
        _when("created_at"),
    )
    _index("strategy_star", "user_id")


def downgrade() -> None:
    for table in ("strategy_star", "strategy_collaborator", "strategy_tag", "strategy_version", "strategy"):
        op.drop_table(table)

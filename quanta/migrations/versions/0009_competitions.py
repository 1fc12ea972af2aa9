"""Competitions: competitions and their entries (with each entry's frozen source and final archive).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24

Types are spelt out (not SQLModel's) so this revision stays as it is when the models move on. An entry goes
with its competition and with its person (ON DELETE CASCADE); it outlives its strategy (its source is
copied in) and a competition outlives its creator and host organisation (ON DELETE SET NULL).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OnDelete = Literal["CASCADE", "SET NULL"]


def _when(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _long_text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _float(name: str, *, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _int(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _json(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(), nullable=nullable)


def _enum(name: str, *values: str) -> sa.Column[str]:
    return sa.Column(name, sa.Enum(*values, native_enum=False, length=16), nullable=False)


def _ref(name: str, table: str, *, ondelete: OnDelete = "CASCADE") -> sa.Column[int]:
    target = sa.ForeignKey(f"{table}.id", ondelete=ondelete)
    return sa.Column(name, sa.Integer(), target, nullable=ondelete == "SET NULL")


def _index(table: str, *columns: str, unique: bool = False) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def upgrade() -> None:
    op.create_table(
        "competition",
        sa.Column("id", sa.Integer(), primary_key=True),
        _text("public_id", 16),
        _text("title", 100),
        _long_text("rules"),
        _json("symbols"),
        _enum("mode", "replay", "live"),
        sa.Column("replay_start", sa.Date(), nullable=True),
        sa.Column("replay_end", sa.Date(), nullable=True),
        _when("starts_at"),
        _when("ends_at"),
        _when("entry_deadline"),
        _float("capital"),
        _json("order_types"),
        _float("commission"),
        _float("slippage_bps"),
        _enum("metric", "return", "sharpe", "sortino", "calmar", "return-drawdown"),
        _float("drawdown_limit_pct", nullable=True),
        _int("max_entries_per_user"),
        _long_text("prizes"),
        _ref("created_by_id", "user_account", ondelete="SET NULL"),
        _ref("org_id", "organization", ondelete="SET NULL"),
        _enum("status", "upcoming", "running", "finished"),
        _text("interval", 8),
        _float("periods_per_year"),
        _when("created_at"),
        _when("started_at", nullable=True),
        _when("finished_at", nullable=True),
    )
    _index("competition", "public_id", unique=True)
    for column in ("created_by_id", "org_id", "status"):
        _index("competition", column)

    op.create_table(
        "competition_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        _text("public_id", 16),
        _ref("competition_id", "competition"),
        _ref("user_id", "user_account"),
        _ref("strategy_id", "strategy", ondelete="SET NULL"),
        _text("strategy_public_id", 16),
        _text("strategy_title", 100),
        _int("version"),
        _long_text("source"),
        _text("source_sha256", 64),
        _text("class_name", 100, nullable=True),
        _enum("status", "pending", "accepted", "rejected"),
        _long_text("error", nullable=True),
        _text("job_id", 40, nullable=True),
        _when("created_at"),
        _when("validated_at", nullable=True),
        _int("final_rank", nullable=True),
        _float("final_score", nullable=True),
        _float("final_return_pct", nullable=True),
        _float("final_max_drawdown_pct", nullable=True),
        _float("final_sharpe", nullable=True),
        _int("final_trades", nullable=True),
        _json("receipt", nullable=True),
    )
    _index("competition_entry", "public_id", unique=True)
    for column in ("competition_id", "user_id", "strategy_id"):
        _index("competition_entry", column)


def downgrade() -> None:
    op.drop_table("competition_entry")
    op.drop_table("competition")

"""Paper trading: deployments, the bars each account acted on, orders and fills.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

Types are spelt out (not SQLModel's) so this revision stays as it is when the models move on. A
deployment goes with its strategy, version or owner (ON DELETE CASCADE); bars, orders and fills are
keyed by the account string (a deployment's public id, or a competition entry's), without a foreign key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _text(name: str, length: int) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=False)


def _float(name: str, *, nullable: bool = False) -> sa.Column[float]:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _big(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _ref(name: str, table: str) -> sa.Column[int]:
    target = sa.ForeignKey(f"{table}.id", ondelete="CASCADE")
    return sa.Column(name, sa.Integer(), target, nullable=False)


def _index(table: str, *columns: str, unique: bool = False) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=unique)


def upgrade() -> None:
    op.create_table(
        "paper_deployment",
        _id(),
        _text("public_id", 16),
        _ref("strategy_id", "strategy"),
        _ref("version_id", "strategy_version"),
        sa.Column("version_number", sa.Integer(), nullable=False),
        _ref("owner_id", "user_account"),
        sa.Column("symbols", sa.JSON(), nullable=False),
        _text("interval", 8),
        _float("capital"),
        sa.Column("costs", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        _text("status", 16),
        _text("error", 2000),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    _index("paper_deployment", "public_id", unique=True)
    for column in ("strategy_id", "version_id", "owner_id", "status"):
        _index("paper_deployment", column)

    op.create_table(
        "paper_bar",
        _id(),
        _text("account", 64),
        _big("start"),
        _text("symbol", 32),
        *(_float(name) for name in ("open", "high", "low", "close", "volume")),
        sa.UniqueConstraint("account", "start", "symbol", name="uq_paper_bar_account_start_symbol"),
    )

    op.create_table(
        "paper_order",
        _id(),
        _text("account", 64),
        _text("order_id", 200),
        _text("symbol", 32),
        _float("size"),
        _flag("relative"),
        _flag("reduce_only"),
        _text("kind", 16),
        _float("limit", nullable=True),
        _float("stop", nullable=True),
        _big("ts"),
        _text("status", 16),
        _text("reason", 200),
        _flag("published"),
        sa.UniqueConstraint("account", "order_id", name="uq_paper_order_account_order"),
    )
    _index("paper_order", "account")

    op.create_table(
        "paper_fill",
        _id(),
        _text("account", 64),
        sa.Column("seq", sa.Integer(), nullable=False),
        _text("fill_id", 200),
        _text("order_id", 200),
        _text("symbol", 32),
        _float("size"),
        _float("price"),
        _float("commission"),
        _big("ts"),
        _flag("published"),
        sa.UniqueConstraint("account", "order_id", name="uq_paper_fill_account_order"),
        sa.UniqueConstraint("account", "seq", name="uq_paper_fill_account_seq"),
    )


def downgrade() -> None:
    for table in ("paper_fill", "paper_order", "paper_bar", "paper_deployment"):
        op.drop_table(table)

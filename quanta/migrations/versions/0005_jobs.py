"""Job queue for sandboxed runs of user code.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

Types are spelt out (not SQLModel's) so this revision stays as it is when the models move on. A job goes
with its owner (ON DELETE CASCADE; ``quanta.sandbox._cascade`` does the same on SQLite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The ``sandbox_job`` table and the indexes the workers' claims use."""
    op.create_table(
        "sandbox_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("user_account.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_line", sa.Integer(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("worker_id", sa.String(length=80), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sandbox_job_public_id", "sandbox_job", ["public_id"], unique=True)
    op.create_index("ix_sandbox_job_owner_id", "sandbox_job", ["owner_id"])
    op.create_index("ix_sandbox_job_created_at", "sandbox_job", ["created_at"])
    op.create_index("ix_sandbox_job_status_id", "sandbox_job", ["status", "id"])


def downgrade() -> None:
    """Drops what upgrade created."""
    op.drop_table("sandbox_job")

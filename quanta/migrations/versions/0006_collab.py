"""Collaborative editing: persisted CRDT room updates.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

Types are spelt out (not SQLModel's) so this revision stays as it is when the models move on. ``seq`` is
a BIGINT identity on PostgreSQL and SQLite's own INTEGER rowid key there (only that one autoincrements).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "collab_updates",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("room", sa.String(length=100), nullable=False),
        sa.Column("update", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_collab_updates_room_seq", "collab_updates", ["room", "seq"])


def downgrade() -> None:
    op.drop_index("ix_collab_updates_room_seq", table_name="collab_updates")
    op.drop_table("collab_updates")

"""Paper trading: an order's trailing stop (``trail``, ``trail_pct``) on ``paper_order``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24

Two nullable columns: rows written before stay valid (no trailing stop). A trailing entry keeps its
trail there; its stop-loss row keeps the level the stop trailed to in ``stop``. Moved and cancelled
stop-losses and take-profits need no column (they are rows of their own; docs/paper.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("trail", "trail_pct")


def upgrade() -> None:
    with op.batch_alter_table("paper_order") as table:
        for name in _COLUMNS:
            table.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("paper_order") as table:
        for name in reversed(_COLUMNS):
            table.drop_column(name)

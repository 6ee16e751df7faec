"""A live order keeps its paper price from the moment it was decided; a fill without a twin
says why.

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-02

Issue 18 item 6, the part 0015 left: a LIVE-SMALL order sent before the cockpit stopped and
confirmed after it restarted had no paper twin, because the tick it was decided on lived only
in the old process's memory. Now the order's row keeps the paper model's price on that tick and
the tick's time (`orders.paper_price`, `orders.paper_ts_ms`, written with the intent row, before
the order is sent), so the twin is computed from the row whenever the fill is reported. A live
fill that still has no twin (a stop the venue filled with no tick through it seen by the
cockpit, e.g. while it was down; an order written before this revision) says why in
`fills.paper_missing`, and the fidelity analytics count it by that reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (native on SQLite and PostgreSQL); no view reads these columns.
    op.add_column("orders", sa.Column("paper_price", sa.Float(), nullable=True))
    op.add_column("orders", sa.Column("paper_ts_ms", sa.BigInteger(), nullable=True))
    op.add_column("fills", sa.Column("paper_missing", sa.String(length=128), nullable=True))


def downgrade() -> None:
    op.drop_column("fills", "paper_missing")
    op.drop_column("orders", "paper_ts_ms")
    op.drop_column("orders", "paper_price")

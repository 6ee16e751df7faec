"""Order lifecycle: one table of legal status moves (cockpit/orders.py), and the intent's payload.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

Issue 12: an order's status only moves along `cockpit.orders.TRANSITIONS` (DESIGN.md section 4),
and a sent-but-unconfirmed order is now `submitted`, the DESIGN's word, instead of `placed`: the
rows that say `placed` are renamed, nothing else about them changes. `intent_json` (nullable) is
what must happen when the order fills (open a position with its frozen plan, apply an exit),
written with the intent row so a restart can resume it; existing rows have none.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE orders SET status = 'submitted' WHERE status = 'placed'")
    # Plain ADD COLUMN, as in 0006: `orders` is referenced by `fills` and must not be rebuilt.
    op.add_column("orders", sa.Column("intent_json", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "intent_json")
    # The statuses 0006 code knows: `submitted` was `placed`. Newer states (accepted,
    # partially_filled, rejected, expired) are left as they are; 0006 code never wrote them.
    op.execute("UPDATE orders SET status = 'placed' WHERE status = 'submitted'")

"""Index the trade_id foreign keys of fills, orders and stop_moves.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-22

The trade detail screen loads a trade's fills, orders and stop moves by trade_id; without these
indexes each lookup scans the whole child table, which grows with every order ever sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = (("fills", "trade_id"), ("orders", "trade_id"), ("stop_moves", "trade_id"))


def upgrade() -> None:
    for table, column in _INDEXED:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(_INDEXED):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)

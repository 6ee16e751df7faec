"""Venue orders: what an on-chain order row needs to be found again after a crash.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

LIVE-SMALL on Drift (issue 6): an order row is written before its transaction is sent, and a sent
transaction is only "placed" until the account shows the fill. To reconcile after a restart the
row must carry the venue's handle for the order: Drift's `user_order_id` (1..255, kept across
retries and modifies; the venue's own order id changes on every modify), the last transaction
signature, the order type (`market` or `stop`, a reduce-only TriggerMarket) and, for a stop, the
trigger price last asked for. Existing rows are market orders with none of these.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (native on SQLite and PostgreSQL): `orders` is referenced by `fills`, so
    # it must not be rebuilt; the views of 0005 read `trades` only and stay as they are.
    op.add_column(
        "orders",
        sa.Column("order_type", sa.String(16), nullable=False, server_default="market"),
    )
    op.add_column("orders", sa.Column("user_order_id", sa.Integer(), nullable=True))
    op.add_column("orders", sa.Column("trigger_price", sa.Float(), nullable=True))
    op.add_column("orders", sa.Column("tx_sig", sa.String(128), nullable=True))


def downgrade() -> None:
    for name in ("tx_sig", "trigger_price", "user_order_id", "order_type"):
        op.drop_column("orders", name)

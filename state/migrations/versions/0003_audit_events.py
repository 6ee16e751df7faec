"""Audit events: mode changes, refusals, confirmations and manual actions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

LIVE-SMALL is entered only by a typed confirmation and every refusal must be explainable later,
so each of them is a row with who, what and why (DESIGN.md section 3).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("who", sa.String(length=64), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail_json", sa.Text(), nullable=True),
        sa.Column("trade_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["trade_id"], ["trades.id"], name=op.f("fk_audit_events_trade_id_trades")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_ts_ms"), "audit_events", ["ts_ms"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_ts_ms"), table_name="audit_events")
    op.drop_table("audit_events")

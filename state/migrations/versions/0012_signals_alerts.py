"""Signals from a webhook and alerts by rule: what a signal and an alert must carry now.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02

Issue 16 items 6 and 8. A signal now arrives from outside (`POST /signal`): its sender's `id`
(`external_id`, unique, so a replayed signal is recognised instead of entered twice), where it
came from (`source`), what it asked for (`notional`, `policy`), where it stands (`status`:
refused, waiting for the trader, entering, entered, skipped) and when that was decided, and the
body as received (`payload_json`, at most 16 KB: the webhook refuses anything larger). An alert
now names the rule that raised it (`rule`; NULL for the event log's warnings and errors, as
before) and what became of its delivery to Telegram (`delivery`; NULL when not sent there).
Plain ADD COLUMN and a unique index (native on SQLite and PostgreSQL): existing rows keep their
values, with NULL in the new columns and `status` 'stored'.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNAL_COLUMNS = ("decided_at_ms", "payload_json", "policy", "notional", "status", "source")


def upgrade() -> None:
    op.add_column("signals", sa.Column("external_id", sa.String(128), nullable=True))
    op.add_column("signals", sa.Column("source", sa.String(64), nullable=True))
    op.add_column(
        "signals",
        sa.Column("status", sa.String(16), nullable=False, server_default="stored"),
    )
    op.add_column("signals", sa.Column("notional", sa.Float(), nullable=True))
    op.add_column("signals", sa.Column("policy", sa.String(32), nullable=True))
    op.add_column("signals", sa.Column("payload_json", sa.Text(), nullable=True))
    op.add_column("signals", sa.Column("decided_at_ms", sa.BigInteger(), nullable=True))
    op.create_index(op.f("ix_signals_external_id"), "signals", ["external_id"], unique=True)
    op.add_column("alerts", sa.Column("rule", sa.String(32), nullable=True))
    op.add_column("alerts", sa.Column("delivery", sa.String(128), nullable=True))


def downgrade() -> None:
    op.drop_column("alerts", "delivery")
    op.drop_column("alerts", "rule")
    op.drop_index(op.f("ix_signals_external_id"), table_name="signals")
    for name in (*_SIGNAL_COLUMNS, "external_id"):
        op.drop_column("signals", name)

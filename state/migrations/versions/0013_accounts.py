"""Accounts: every trade, order and audit row says which desk account it belongs to.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-02

Issue 17 item 2: a desk's cockpits share one database, one cockpit per account. `account` (on
trades, orders and the audit: audit events and mode changes, so a cockpit's "every start is
SHADOW" reads its own last mode, not another account's) is
venue + sub-account ("drift:1") or "paper:<name>"; rows written before this revision, and by a
cockpit that names no account, belong to "default" (the server default), so a single trader's
journal and open positions carry on as they were.

Order-independent on purpose (other revisions are written in parallel and chained at merge):
plain ADD COLUMN with a server default and one index per table, nothing rebuilt (the analysis
views read `trades` and stay valid), nothing else touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("trades", "orders", "audit_events", "mode_changes")
DEFAULT_ACCOUNT = "default"
"""`state.models.DEFAULT_ACCOUNT` as of this revision (a migration never imports live code)."""


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("account", sa.String(64), nullable=False, server_default=DEFAULT_ACCOUNT),
        )
        op.create_index(f"ix_{table}_account", table, ["account"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_account", table_name=table)
        op.drop_column(table, "account")

"""Accounts on signals, alerts and settings: a desk's cockpits keep their own.

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-02

Issue 17: 0013 gave trades, orders and the audit an `account`; the webhook's signals, the
alerts and the settings (last prices, ...) were still shared by every cockpit on a database.
Now each row says its account ("default" for the rows written before, the server default):

- signals: a sender's id is unique per account (the same alert sent to two accounts' cockpits
  is entered once by each), so the unique index on `external_id` becomes one on
  (account, external_id), with a plain index on `external_id` kept;
- alerts: a plain column and index;
- settings: the key is per account, so the primary key becomes (key, account); SQLite cannot
  change a primary key in place, so that table is copied and moved (batch mode).

Order-independent on purpose (revisions are written in parallel and chained at merge): only
these three tables are touched, and the analysis views read none of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ACCOUNT = "default"
"""`state.models.DEFAULT_ACCOUNT` as of this revision (a migration never imports live code)."""


def _account() -> sa.Column[str]:
    return sa.Column("account", sa.String(64), nullable=False, server_default=DEFAULT_ACCOUNT)


def upgrade() -> None:
    op.add_column("alerts", _account())
    op.create_index("ix_alerts_account", "alerts", ["account"])
    op.add_column("signals", _account())
    op.create_index("ix_signals_account", "signals", ["account"])
    op.drop_index("ix_signals_external_id", table_name="signals")
    op.create_index("ix_signals_external_id", "signals", ["external_id"])
    op.create_index(
        "ix_signals_account_external_id", "signals", ["account", "external_id"], unique=True
    )
    with op.batch_alter_table("settings", recreate="auto") as batch:
        batch.add_column(_account())
        batch.drop_constraint("pk_settings", type_="primary")
        batch.create_primary_key("pk_settings", ["key", "account"])


def downgrade() -> None:
    # Settings of other accounts than "default" have no place in the older table: dropped.
    op.execute(sa.text("DELETE FROM settings WHERE account <> :a").bindparams(a=DEFAULT_ACCOUNT))
    with op.batch_alter_table("settings", recreate="auto") as batch:
        batch.drop_constraint("pk_settings", type_="primary")
        batch.create_primary_key("pk_settings", ["key"])
        batch.drop_column("account")
    op.drop_index("ix_signals_account_external_id", table_name="signals")
    op.drop_index("ix_signals_external_id", table_name="signals")
    op.create_index("ix_signals_external_id", "signals", ["external_id"], unique=True)
    op.drop_index("ix_signals_account", table_name="signals")
    op.drop_column("signals", "account")
    op.drop_index("ix_alerts_account", table_name="alerts")
    op.drop_column("alerts", "account")

"""Replay runs: each replay of a file is a run with its own id and its result.

Revision ID: 0016
Revises: 0014 (revision ids are not in order: 0014 landed first)
Create Date: 2026-12-02

Issue 14 item 5: "each replay is a run with its own id". A replay database holds every earlier
run of the file; a run row says which trades are its own (those with an id above
`after_trade_id`, up to the next run's), how far into the data it got, and what it came to, so
the summary panel and later reads never mix one run's trades with another's.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ACCOUNT = "default"
"""`state.models.DEFAULT_ACCOUNT` as of this revision (a migration never imports live code)."""


def upgrade() -> None:
    op.create_table(
        "replay_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False, server_default=DEFAULT_ACCOUNT),
        sa.Column("source", sa.String(512), nullable=False),
        sa.Column("started_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("after_trade_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data_end_ms", sa.BigInteger(), nullable=True),
        sa.Column("trades", sa.Integer(), nullable=True),
        sa.Column("net_pnl", sa.Float(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
    )
    op.create_index("ix_replay_runs_account", "replay_runs", ["account"])


def downgrade() -> None:
    op.drop_index("ix_replay_runs_account", table_name="replay_runs")
    op.drop_table("replay_runs")

"""Roadmap phases: when each one started, so every phase is judged against the one before.

Revision ID: 0010
Revises: 0012 (revision ids are not in order: 0012 landed first)
Create Date: 2026-12-02

Issue 18 item 3: the baseline was only a date in the config file. `phases` holds the start of
each roadmap phase (seed 000: Phase 1 data collection ... Phase 6 ML), one row per phase, set by
`cockpit phase start N [--at DATE]` (audited). The seed's strategy validation ("run this after
each phase": trades with an exit reason created since the phase start) reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "phases",
        sa.Column("phase", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("started_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("who", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("phases")

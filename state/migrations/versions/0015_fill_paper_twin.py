"""Each LIVE-SMALL fill keeps what the paper model would have filled at, beside it.

Revision ID: 0015
Revises: 0016 (revision ids are not in order: 0014 and 0016 landed first)
Create Date: 2026-12-02

Issue 18 item 6 (seed 003: "compare shadow vs real (calibration check)"): for every LIVE-SMALL
fill the paper model's fill on the same ticks is computed when the fill is booked and stored in
the same row: its price, its fee and the time of the tick it would have filled on. The analytics
compare them (slippage, fee and trigger-time differences). NULL for paper fills, for rows
written before this revision, and for a live fill with no tick to compute it on (reported after
a restart).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (native on SQLite and PostgreSQL); no view reads `fills`.
    op.add_column("fills", sa.Column("paper_price", sa.Float(), nullable=True))
    op.add_column("fills", sa.Column("paper_fee", sa.Float(), nullable=True))
    op.add_column("fills", sa.Column("paper_ts_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for column in ("paper_ts_ms", "paper_fee", "paper_price"):
        op.drop_column("fills", column)

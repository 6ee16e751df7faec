"""A stop's fill records what price the stop triggered on.

Revision ID: 0009
Revises: 0013 (revision ids are not in order: 0013 landed first)
Create Date: 2026-12-02

Issue 13 item 6: Drift fires trigger orders on the median of three prices when the exchange's
`MedianTriggerPrice` flag is set, else on the oracle; a CEX stop fires on the last or mark price.
SHADOW on Drift now stops on the venue's trigger price, and each stop fill says which price it
triggered on (`oracle`, `median`, `last`, ...) so shadow and live stops can be compared. NULL
for every other fill, and for the fills written before this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (native on SQLite and PostgreSQL); no view reads `fills`.
    op.add_column("fills", sa.Column("trigger_source", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("fills", "trigger_source")

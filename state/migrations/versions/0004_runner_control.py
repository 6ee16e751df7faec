"""Runner control: which stop triggers have fired, the trader's trailing choice, bar ambiguities.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

A trader may loosen a stop by hand (after a second confirmation). For that to survive the next
tick and a restart, the position must remember that its breakeven and profit-lock triggers have
already fired (so they do not fire again), whether trailing was paused by the manual move and
which trailing multiple the trader chose. `ambiguous_bars` counts candles that touched both the
stop and a target, resolved stop-first (DESIGN.md section 2), so analytics can discount them.
Existing rows get the defaults: re-evaluating a fired trigger only re-applies a move that was
already made, so `false` is safe for positions opened before this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN is native on SQLite and PostgreSQL: no table rebuild, so the foreign keys that
    # point at `trades` are untouched.
    for name in ("breakeven_done", "profit_lock_done", "trail_paused"):
        op.add_column(
            "trades", sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.add_column("trades", sa.Column("trail_mult", sa.Float(), nullable=True))
    op.add_column(
        "trades", sa.Column("ambiguous_bars", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35, PostgreSQL): a batch "move and copy" would drop and
    # recreate `trades`, which the foreign keys of orders, fills and stop_moves forbid.
    for name in (
        "ambiguous_bars",
        "trail_mult",
        "trail_paused",
        "profit_lock_done",
        "breakeven_done",
    ):
        op.drop_column("trades", name)

"""The counterfactual ledger: every closed trade re-run under every exit policy.

Revision ID: 0011
Revises: 0015 (revision ids are not in order: 0014, 0016 and 0015 landed first)
Create Date: 2026-12-02

Issue 15 item 4: what each configured exit policy (and the trade's own frozen plan, without the
trader's overrides) would have made on the trade's own recorded candles. `counterfactuals` holds
one row per (trade, parameter set); `ledger_paths` one row per trade: the path the rows were run
on, so the ledger knows which trades to run again when newer candles arrive, and the entry's
excursions after 5, 20 and 60 bars for the e-ratio. Both are derived data: dropping them loses
nothing the cockpit cannot compute again (cockpit.backtest.ledger).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "counterfactuals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(32), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("params_key", sa.String(32), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pnl_pct", sa.Float(), nullable=True),
        sa.Column("exit_reason", sa.String(32), nullable=True),
        sa.Column("exit_ts_ms", sa.BigInteger(), nullable=True),
        sa.Column("exit_price", sa.Float(), nullable=True),
        sa.Column("ambiguous_bars", sa.Integer(), nullable=False),
        sa.Column("path_ended", sa.Boolean(), nullable=False),
        sa.Column("fills_json", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("computed_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trade_id"], ["trades.id"], name=op.f("fk_counterfactuals_trade_id_trades")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counterfactuals")),
        sa.UniqueConstraint(
            "trade_id", "params_key", name=op.f("uq_counterfactuals_trade_id_params_key")
        ),
    )
    op.create_index(
        op.f("ix_counterfactuals_trade_id"), "counterfactuals", ["trade_id"], unique=False
    )
    op.create_table(
        "ledger_paths",
        sa.Column("trade_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bars", sa.Integer(), nullable=False),
        sa.Column("first_bar_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_bar_ms", sa.BigInteger(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("atr", sa.Float(), nullable=True),
        sa.Column("fav_5", sa.Float(), nullable=True),
        sa.Column("adv_5", sa.Float(), nullable=True),
        sa.Column("fav_20", sa.Float(), nullable=True),
        sa.Column("adv_20", sa.Float(), nullable=True),
        sa.Column("fav_60", sa.Float(), nullable=True),
        sa.Column("adv_60", sa.Float(), nullable=True),
        sa.Column("computed_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trade_id"], ["trades.id"], name=op.f("fk_ledger_paths_trade_id_trades")
        ),
        sa.PrimaryKeyConstraint("trade_id", name=op.f("pk_ledger_paths")),
    )


def downgrade() -> None:
    op.drop_table("ledger_paths")
    op.drop_index(op.f("ix_counterfactuals_trade_id"), table_name="counterfactuals")
    op.drop_table("counterfactuals")

"""Analysis views count what the analytics count, and no row mixes trades with and without ATR.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-15

Issue 18 item 6, two differences between the views of 0005 and the Python analytics:
- `vw_closed_trades` counted positions adopted from the venue (policy 'external'), which the
  analytics leave out (`state.journal.closed_trade_records`: they were never the strategy's
  trades): a journal of 60 closed trades, 3 of them adopted, read 60 in SQL and 57 on screen. The
  view now has the analytics' filter, and every view built on it follows.
- `vw_directional_edge` put the Phase 4 comparison (over every trade) and the roadmap's "ATR
  correlation with movement" columns in one row, so `avg_atr` came from the trades with an ATR
  and `avg_move_pct` from all of them. The roadmap has two queries for two questions, and this
  follows it: `vw_directional_edge` is the Phase 4 comparison (trades, wins, win_rate, avg_pnl,
  total_pnl, avg_mfe, trades_with_mfe), and the new `vw_atr_movement` is the roadmap's ATR query
  (`WHERE atr IS NOT NULL ... GROUP BY direction`: trades, avg_atr, avg_mfe, avg_move_pct), every
  column over the same trades.

`vw_quality_performance` and `vw_runner_potential` keep their 0005 text; they are dropped and
created again only because they read `vw_closed_trades` (PostgreSQL refuses to drop a view
others depend on). The downgrade restores 0005's four views exactly, from 0005's own builders.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXTERNAL_POLICY = "external"
"""`cockpit.domain.EXTERNAL_POLICY` as of this revision (a migration never imports live code)."""

OLD_VIEWS = (
    "vw_closed_trades",
    "vw_quality_performance",
    "vw_runner_potential",
    "vw_directional_edge",
)
VIEWS = (*OLD_VIEWS, "vw_atr_movement")


def _v0005() -> ModuleType:
    """Revision 0005's module (its file name starts with a digit: no plain import)."""
    return importlib.import_module("state.migrations.versions.0005_analysis_views")


def _closed_trades(dialect: str) -> str:
    # 0005's view with the analytics' filter added: same columns, same order.
    old: str = _v0005()._closed_trades(dialect)
    if not old.rstrip().endswith("WHERE status = 'closed'"):
        raise RuntimeError("revision 0005's vw_closed_trades is not the one 0008 extends")
    return old.rstrip() + f" AND policy <> '{EXTERNAL_POLICY}'\n"


def _directional_edge(dialect: str) -> str:
    round_ = _v0005()._round
    wins = "SUM(CASE WHEN net_pnl > 0 THEN 1 ELSE 0 END)"
    return f"""
CREATE VIEW vw_directional_edge AS
SELECT
    side AS direction,
    COUNT(*) AS trades,
    {wins} AS wins,
    {round_(dialect, f"100.0 * {wins} / COUNT(*)", 1)} AS win_rate,
    {round_(dialect, "AVG(net_pnl)", 2)} AS avg_pnl,
    {round_(dialect, "SUM(net_pnl)", 2)} AS total_pnl,
    {round_(dialect, "AVG(mfe_pct)", 2)} AS avg_mfe,
    COUNT(mfe_pct) AS trades_with_mfe
FROM vw_closed_trades
GROUP BY side
"""


def _atr_movement(dialect: str) -> str:
    round_ = _v0005()._round
    move = "ABS(exit_price - entry_price) / entry_price * 100"
    return f"""
CREATE VIEW vw_atr_movement AS
SELECT
    side AS direction,
    COUNT(*) AS trades,
    {round_(dialect, "AVG(atr)", 2)} AS avg_atr,
    {round_(dialect, "AVG(mfe_pct)", 2)} AS avg_mfe,
    {round_(dialect, f"AVG({move})", 2)} AS avg_move_pct
FROM vw_closed_trades
WHERE atr IS NOT NULL
GROUP BY side
"""


def _drop(names: Sequence[str]) -> None:
    for name in reversed(names):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    old = _v0005()
    _drop(OLD_VIEWS)
    for build in (
        _closed_trades,
        old._quality_performance,
        old._runner_potential,
        _directional_edge,
        _atr_movement,
    ):
        op.execute(build(dialect))


def downgrade() -> None:
    _drop(VIEWS)
    _v0005().upgrade()

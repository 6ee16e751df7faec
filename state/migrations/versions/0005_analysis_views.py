"""Analysis views: the roadmap's queries as views any SQL client can run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

`vw_closed_trades` is the base every other view reads: closed trades with net P&L (realized_pnl -
fees: the P&L the analytics use everywhere), MFE/MAE set to NULL where an imported journal did
not record them (plan_json "import.mfe_recorded" = false; the trades columns themselves cannot be
NULL), and the trade's own TP2 level and distance from its frozen plan.

The three roadmap views follow the roadmap's queries (seeds/000, "Analysis Queries" and "Database
views"), adapted to this schema:
- `vw_quality_performance`: tiers exactly as the roadmap's CASE (>= 80 High, >= 70 Medium, else
  Low, so a score below 60 counts as Low here; the analytics screen lists it separately);
  columns quality_tier, trades, avg_pnl, avg_mfe, win_rate (rounded as the roadmap rounds).
- `vw_runner_potential`: per exit reason, count, avg_mfe, avg_pnl and runner_potential_count,
  where "runner potential" is an MFE beyond the trade's own TP2 distance (the roadmap's fixed
  3.0 % where a trade has no TP2 level); trades_with_mfe says how many had an MFE at all.
- `vw_directional_edge`: per direction, the Phase 4 comparison (trades, win rate, average and
  total P&L, average MFE) plus the roadmap's ATR-vs-movement columns (avg_atr, avg_move_pct).

JSON and ROUND are spelled per dialect (SQLite json_extract; PostgreSQL ->> and a numeric cast).
A later migration that rebuilds `trades` with a batch "move and copy" must drop these views first
and create them again after (SQLite refuses to rename a table that views point at).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = ("vw_closed_trades", "vw_quality_performance", "vw_runner_potential", "vw_directional_edge")


def _json_number(dialect: str, path: str) -> str:
    if dialect == "postgresql":
        return f"CAST(CAST(plan_json AS json) ->> '{path}' AS double precision)"
    return f"json_extract(plan_json, '$.{path}')"


def _import_flag_false(dialect: str, flag: str) -> str:
    if dialect == "postgresql":
        return f"(CAST(plan_json AS json) -> 'import' ->> '{flag}') = 'false'"
    return f"json_extract(plan_json, '$.import.{flag}') = 0"


def _round(dialect: str, expr: str, digits: int) -> str:
    if dialect == "postgresql":
        return f"ROUND(CAST({expr} AS numeric), {digits})"
    return f"ROUND({expr}, {digits})"


def _closed_trades(dialect: str) -> str:
    tp2 = _json_number(dialect, "tp2_price")
    return f"""
CREATE VIEW vw_closed_trades AS
SELECT
    id, symbol, side, mode, venue, policy,
    entry_ts_ms, exit_ts_ms, entry_price, exit_price, initial_size AS size, leverage,
    realized_pnl AS gross_pnl, fees, realized_pnl - fees AS net_pnl, exit_reason,
    CASE WHEN {_import_flag_false(dialect, "mfe_recorded")} THEN NULL ELSE mfe_pct END AS mfe_pct,
    CASE WHEN {_import_flag_false(dialect, "mae_recorded")} THEN NULL ELSE mae_pct END AS mae_pct,
    {tp2} AS tp2_price,
    100.0 * ABS({tp2} - entry_price) / entry_price AS tp2_distance_pct,
    quality_score, atr, adx, rsi, volume_ratio, price_position, confidence,
    regime, strategy, timeframe, ab_group
FROM trades
WHERE status = 'closed'
"""


def _quality_performance(dialect: str) -> str:
    return f"""
CREATE VIEW vw_quality_performance AS
SELECT
    CASE
        WHEN quality_score >= 80 THEN 'High (80-100)'
        WHEN quality_score >= 70 THEN 'Medium (70-79)'
        ELSE 'Low (60-69)'
    END AS quality_tier,
    COUNT(*) AS trades,
    {_round(dialect, "AVG(net_pnl)", 2)} AS avg_pnl,
    {_round(dialect, "AVG(mfe_pct)", 2)} AS avg_mfe,
    {_round(dialect, "100.0 * SUM(CASE WHEN net_pnl > 0 THEN 1 ELSE 0 END) / COUNT(*)", 1)}
        AS win_rate
FROM vw_closed_trades
WHERE quality_score IS NOT NULL
GROUP BY 1
"""


def _runner_potential(dialect: str) -> str:
    return f"""
CREATE VIEW vw_runner_potential AS
SELECT
    exit_reason,
    COUNT(*) AS count,
    {_round(dialect, "AVG(mfe_pct)", 2)} AS avg_mfe,
    {_round(dialect, "AVG(net_pnl)", 2)} AS avg_pnl,
    COUNT(mfe_pct) AS trades_with_mfe,
    SUM(CASE WHEN mfe_pct > COALESCE(tp2_distance_pct, 3.0) THEN 1 ELSE 0 END)
        AS runner_potential_count
FROM vw_closed_trades
GROUP BY exit_reason
"""


def _directional_edge(dialect: str) -> str:
    move = "ABS(exit_price - entry_price) / entry_price * 100"
    return f"""
CREATE VIEW vw_directional_edge AS
SELECT
    side AS direction,
    COUNT(*) AS trades,
    SUM(CASE WHEN net_pnl > 0 THEN 1 ELSE 0 END) AS wins,
    {_round(dialect, "100.0 * SUM(CASE WHEN net_pnl > 0 THEN 1 ELSE 0 END) / COUNT(*)", 1)}
        AS win_rate,
    {_round(dialect, "AVG(net_pnl)", 2)} AS avg_pnl,
    {_round(dialect, "SUM(net_pnl)", 2)} AS total_pnl,
    {_round(dialect, "AVG(mfe_pct)", 2)} AS avg_mfe,
    {_round(dialect, "AVG(atr)", 2)} AS avg_atr,
    {_round(dialect, f"AVG({move})", 2)} AS avg_move_pct
FROM vw_closed_trades
GROUP BY side
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for build in (_closed_trades, _quality_performance, _runner_potential, _directional_edge):
        op.execute(build(dialect))


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")

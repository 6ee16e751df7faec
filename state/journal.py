"""The trade journal for analytics: closed trades as `TradeRecord`s, and the trade import.

Reads go through the store's read sessions, the import through its single writer (one
transaction: every row or none). Imported trades are closed trades with venue "import" and mode
SHADOW, so they can never count as live trades: the LIVE-SMALL cooldown and daily loss are
rebuilt from mode LIVE_SMALL trades only (`Session._restore_risk_state`).

How an imported row is stored (the trades columns are shared with the cockpit's own trades):
- `plan_json` is not an engine `ExitPlan` (no plan existed) but a small JSON with the TP2 level
  if the journal had one and, under "import", the source file, line, file hash and whether MFE
  and MAE were recorded. The trades table cannot hold a NULL MFE, so an unrecorded one is stored
  as 0 with `mfe_recorded: false`, and every reader (this module, the SQL views) treats it as
  unknown. Open trades are the only ones ever rebuilt into positions, and imports are closed.
- `size` is 0 (nothing left), `stop_price` 0.0 (no stop is known), `policy` the file's policy
  column or "import".
Re-importing: a row whose symbol, side, entry time and entry price equal a trade already in the
database (imported or not) is skipped and counted, so importing the same file twice, or a longer
version of it, adds only the new trades.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.analytics.baseline import BaselineChoice
from cockpit.analytics.fidelity import fidelity_report
from cockpit.analytics.snapshot import AnalyticsSnapshot, snapshot_for
from cockpit.analytics.trades import IMPORT_VENUE, TradeRecord
from cockpit.config import Settings
from cockpit.domain import EXTERNAL_POLICY, Mode, StopRole
from state.db import sqlite_file_path
from state.fidelity_rows import live_fills, live_fills_at
from state.journal_reader import JournalReader, columns_of, record_from_row
from state.models import AuditEvent, CandleRow, Trade
from state.phase_rows import phase_starts
from state.records import TradeStatus
from state.store import Store

if TYPE_CHECKING:  # the parsed rows come from adapters/trades_csv.py; state needs no adapter
    from adapters.trades_csv import ImportedTrade, TradesFile

HOUR_MS = 3_600_000


# ------------------------------------------------------------------ reads
async def closed_trade_records(
    store: Store, *, missed_window_h: float = 24.0, account: str | None = None
) -> list[TradeRecord]:
    """Every closed trade (of `account`; None: of every account on the journal), oldest exit
    first, with the extremes of the candles recorded for its symbol in the `missed_window_h`
    hours after its exit (bars that open in that window)."""
    window_ms = int(missed_window_h * HOUR_MS)
    # Positions adopted from the venue were never the strategy's trades: no gate learns from them.
    closed = and_(Trade.status == TradeStatus.CLOSED.value, Trade.policy != EXTERNAL_POLICY)
    if account is not None:
        closed = and_(closed, Trade.account == account)
    order = (Trade.exit_ts_ms, Trade.id)
    rows: list[tuple[Trade, float | None, float | None]]
    async with store.read_session() as session:
        # Naming the timeframes lets each lookup use the (symbol, timeframe, ts_ms) key as
        # a range instead of scanning every bar of the symbol, once per trade.
        timeframes = list((await session.scalars(select(CandleRow.timeframe).distinct())).all())
        if not timeframes:
            trades = (await session.scalars(select(Trade).where(closed).order_by(*order))).all()
            rows = [(trade, None, None) for trade in trades]
        else:
            after = and_(
                CandleRow.symbol == Trade.symbol,
                CandleRow.timeframe.in_(timeframes),
                CandleRow.ts_ms >= Trade.exit_ts_ms,
                CandleRow.ts_ms < Trade.exit_ts_ms + window_ms,
            )
            query = (
                select(Trade, func.max(CandleRow.high), func.min(CandleRow.low))
                .outerjoin(CandleRow, after)
                .where(closed)
                .group_by(Trade.id)
                .order_by(*order)
            )
            rows = [(t, high, low) for t, high, low in (await session.execute(query)).all()]
    return [trade_record(trade, after_high, after_low) for trade, after_high, after_low in rows]


async def analytics_snapshot(
    store: Store,
    settings: Settings,
    *,
    account: str | None = None,
    baseline: BaselineChoice | None = None,
) -> AnalyticsSnapshot:
    """Read the journal and compute the analytics; the computation runs in a worker thread so
    a long journal never stalls the event loop (the session calls this when history reloads)."""
    records = await closed_trade_records(
        store, missed_window_h=settings.analytics.missed_window_h, account=account
    )
    phases = await phase_starts(store)
    fills = await live_fills(store, account)
    snapshot = await asyncio.to_thread(snapshot_for, records, settings, phases, baseline)
    return replace(snapshot, fidelity=fidelity_report(fills))


def journal_reader_for(settings: Settings) -> JournalReader | None:
    """The incremental reader of the settings' journal when it is a SQLite file, else None.
    It reads the settings' account's trades only (the in-app analytics are the session's)."""
    path = sqlite_file_path(make_url(settings.db_url))
    if path is None or make_url(settings.db_url).get_backend_name() != "sqlite":
        return None
    return JournalReader(
        path, missed_window_h=settings.analytics.missed_window_h, account=settings.account
    )


def reader_snapshot(
    reader: JournalReader, settings: Settings, baseline: BaselineChoice | None = None
) -> AnalyticsSnapshot:
    """Read what changed and compute the snapshot: all of it synchronous, for a worker thread."""
    records = reader.refresh()
    snapshot = snapshot_for(records, settings, reader.phases, baseline)
    return replace(snapshot, fidelity=fidelity_report(live_fills_at(reader.path)))


def trade_record(trade: Trade, after_high: float | None, after_low: float | None) -> TradeRecord:
    return record_from_row(columns_of(trade), after_high, after_low)


async def view_rows(store: Store, view: str) -> list[dict[str, Any]]:
    """All rows of one of the analysis views (migrations 0005 and 0008), as dicts, ordered by
    their first column (the id or the group), so both engines give the same list.

    PostgreSQL's ROUND works on `numeric` and the views keep that type for SQL clients, where
    SQLite gives a float: the rounded values come back as `Decimal` from PostgreSQL and are read
    as floats here, so a reader sees the same rows whichever engine the journal is on.
    """
    if view not in ANALYSIS_VIEWS:
        raise ValueError(f"unknown view {view!r}; known: {', '.join(ANALYSIS_VIEWS)}")
    async with store.read_session() as session:
        result = await session.execute(text(f"SELECT * FROM {view} ORDER BY 1"))
        return [
            {k: float(v) if isinstance(v, Decimal) else v for k, v in row._mapping.items()}
            for row in result
        ]


ANALYSIS_VIEWS = (
    "vw_closed_trades",
    "vw_quality_performance",
    "vw_runner_potential",
    "vw_directional_edge",
    "vw_atr_movement",
)


# ------------------------------------------------------------------ import
@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int
    skipped: int
    """Rows already in the database (same symbol, side, entry time and entry price)."""


async def import_trades(
    store: Store, journal: TradesFile, *, now_ms: int, who: str = "cli"
) -> ImportResult:
    """Write every trade of a validated journal in one transaction, plus one audit row.

    All or nothing: a database error rolls the whole file back. Rows already present are skipped
    (see the module docstring); if every row is, nothing is written, not even the audit row.
    """

    async def work(session: AsyncSession) -> ImportResult:
        existing = await _existing_keys(session, journal)
        fresh = [t for t in journal.trades if t.natural_key not in existing]
        for trade in fresh:
            session.add(imported_trade_row(trade, journal, now_ms))
        if fresh:
            session.add(
                AuditEvent(
                    ts_ms=now_ms,
                    kind="import",
                    who=who,
                    action=f"import {len(fresh)} trades from {journal.path.name}",
                    reason=f"{len(journal.trades) - len(fresh)} already in the database",
                    detail_json=json.dumps(
                        {"file": str(journal.path), "sha256": journal.sha256, "rows": len(fresh)}
                    ),
                )
            )
        return ImportResult(imported=len(fresh), skipped=len(journal.trades) - len(fresh))

    return await store.run_write(work)


async def _existing_keys(
    session: AsyncSession, journal: TradesFile
) -> set[tuple[str, str, int, float]]:
    if not journal.trades:
        return set()
    first = min(t.entry_ts_ms for t in journal.trades)
    last = max(t.entry_ts_ms for t in journal.trades)
    query = select(Trade.symbol, Trade.side, Trade.entry_ts_ms, Trade.entry_price).where(
        Trade.entry_ts_ms.between(first, last)
    )
    rows = (await session.execute(query)).all()
    return {(s, side, int(ts), float(price)) for s, side, ts, price in rows}


def imported_trade_row(trade: ImportedTrade, journal: TradesFile, now_ms: int) -> Trade:
    notional = trade.entry_price * trade.size
    plan = {
        "policy": "import",
        "side": trade.side,
        "entry": trade.entry_price,
        "initial_size": trade.size,
        "tp2_price": trade.tp2_price,
        "import": {
            "file": journal.path.name,
            "line": trade.line,
            "sha256": journal.sha256,
            "mfe_recorded": trade.mfe_pct is not None,
            "mae_recorded": trade.mae_pct is not None,
            "pnl_given": trade.pnl_given,
        },
    }
    mfe = trade.mfe_pct or 0.0
    mae = trade.mae_pct or 0.0
    return Trade(
        symbol=trade.symbol,
        side=trade.side,
        mode=Mode.SHADOW.value,
        venue=IMPORT_VENUE,
        status=TradeStatus.CLOSED.value,
        entry_price=trade.entry_price,
        entry_ts_ms=trade.entry_ts_ms,
        initial_size=trade.size,
        size=0.0,
        leverage=trade.leverage,
        policy=trade.policy or "import",
        plan_json=json.dumps(plan, sort_keys=True),
        stop_price=0.0,
        stop_role=StopRole.STOP_LOSS.value,
        tp1_filled=False,
        tp2_filled=False,
        trailing_active=False,
        peak=None,
        mfe_pct=mfe,
        mae_pct=mae,
        mfe_quote=mfe / 100.0 * notional,
        mae_quote=mae / 100.0 * notional,
        last_price=trade.exit_price,
        realized_pnl=trade.pnl,
        fees=trade.fees,
        exit_price=trade.exit_price,
        exit_ts_ms=trade.exit_ts_ms,
        exit_reason=trade.exit_reason,
        updated_at_ms=now_ms,
        **trade.features,
    )

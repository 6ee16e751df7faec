"""`cockpit db check`: is this journal what the code expects, and does it add up?

Read-only: it never migrates and never writes. Three findings:
- schema: the database's Alembic revision is the one this code's models are (HEAD_REVISION);
- fills: every cockpit trade's entry fills sum to its initial size, and its exit fills to what
  left the position (initial size - size now; all of it for a closed trade). Imported trades and
  positions adopted from a venue have no fills of ours and are not checked;
- orders: no order sits in a non-final state (intent, submitted, ...) while no cockpit is running
  on its account to carry it on: such an order is one the cockpit can no longer account for.
  Whether a cockpit is live is the caller's knowledge (the lock), passed in as `live_accounts`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from state.migrate import HEAD_REVISION, current_revision
from state.models import FillRow, Order, Trade
from state.order_rows import UNFINISHED_STATUSES

SIZE_TOLERANCE: Final = 1e-9
SHOWN: Final = 5


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str


async def check_journal(engine: AsyncEngine, *, live_accounts: Collection[str]) -> list[Finding]:
    """The findings, schema first; the invariants are only read on a schema at head."""
    revision = await current_revision(engine)
    if revision != HEAD_REVISION:
        shown = revision or "none (never migrated)"
        return [Finding("schema", False, f"revision {shown}, this cockpit expects {HEAD_REVISION}")]
    findings = [Finding("schema", True, f"revision {revision}")]
    findings.append(await _fills(engine))
    findings.append(await _orders(engine, live_accounts))
    return findings


async def _fills(engine: AsyncEngine) -> Finding:
    entry = func.sum(case((FillRow.reduce_only.is_(False), FillRow.size), else_=0.0))
    exits = func.sum(case((FillRow.reduce_only.is_(True), FillRow.size), else_=0.0))
    query = (
        select(Trade.id, Trade.status, Trade.initial_size, Trade.size, entry, exits)
        .join(FillRow, FillRow.trade_id == Trade.id)
        .group_by(Trade.id, Trade.status, Trade.initial_size, Trade.size)
        .order_by(Trade.id)
    )
    bad: list[str] = []
    checked = 0
    async with engine.connect() as conn:
        for trade_id, status, initial, size, entered, exited in await conn.execute(query):
            checked += 1
            left = float(initial) - (0.0 if status == "closed" else float(size))
            tol = SIZE_TOLERANCE * max(1.0, abs(float(initial)))
            if abs(float(entered) - float(initial)) > tol:
                bad.append(f"trade {trade_id}: entry fills {entered:g} != size {initial:g}")
            elif abs(float(exited) - left) > tol:
                bad.append(f"trade {trade_id}: exit fills {exited:g} != {left:g} closed")
    if bad:
        more = f" (+{len(bad) - SHOWN} more)" if len(bad) > SHOWN else ""
        return Finding("fills", False, "; ".join(bad[:SHOWN]) + more)
    return Finding("fills", True, f"{checked} trades with fills add up")


async def _orders(engine: AsyncEngine, live_accounts: Collection[str]) -> Finding:
    query = (
        select(Order.id, Order.client_order_id, Order.status, Order.account)
        .where(Order.status.in_([s.value for s in UNFINISHED_STATUSES]))
        .order_by(Order.id)
    )
    stuck: list[str] = []
    waiting = 0
    async with engine.connect() as conn:
        for row in await conn.execute(query):
            owner = str(row[3])
            if owner in live_accounts:
                waiting += 1
                continue
            stuck.append(f"order {row[0]} ({row[1]}) {row[2]} on {owner}")
    if stuck:
        more = f" (+{len(stuck) - SHOWN} more)" if len(stuck) > SHOWN else ""
        return Finding(
            "orders",
            False,
            f"{len(stuck)} unfinished with no cockpit running: " + "; ".join(stuck[:SHOWN]) + more,
        )
    live = f"; {waiting} in the hands of a running cockpit" if waiting else ""
    return Finding("orders", True, f"none stuck{live}")

"""The counterfactual ledger's totals, computed by the database: per parameter set, what the
discretion of the trader added or cost against the own plan, and the entries' e-ratio.

Aggregates only cross over (a few rows, whatever the journal's size), so the ledger job can
refresh them after each pass without reading every row onto the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, exists, func, select

from state.ledger_rows import MANUAL_CLOSE
from state.models import AuditEvent, Counterfactual, FillRow, LedgerPath, Trade
from state.store import Store


@dataclass(frozen=True, slots=True)
class SetTotals:
    """One parameter set over the ledger: P&L in % of entry notional, summed over the trades
    it has a result for (`done` and `horizon`), and the actual trades' P&L on the same trades."""

    params_key: str
    policy: str
    label: str
    trades: int
    results: int
    wins: int
    pnl_pct: float
    actual_pct: float
    path_ended: int
    no_path: int
    refused: int


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    sets: tuple[SetTotals, ...]
    discretion_trades: int
    """Trades with manual actions that have an own-plan result."""
    discretion_pct: float
    """Sum over them of actual P&L % - own plan's P&L %: what the overrides added (+) or cost."""
    e_ratio: dict[int, tuple[float | None, int]]
    """bars N -> (mean(favorable/ATR) / mean(adverse/ATR), trades measured)."""


def actual_pct_sql() -> Any:
    """The trade's own gross P&L in % of its entry notional (0 where the notional is unknown)."""
    notional = Trade.entry_price * Trade.initial_size
    return func.coalesce(100.0 * Trade.realized_pnl / func.nullif(notional, 0.0), 0.0)


async def summary(store: Store, keys: Sequence[str], own_key: str) -> LedgerTotals:
    """Per set, the discretion total and the e-ratios: aggregates computed by the database."""
    c = Counterfactual
    result = c.status.in_(("done", "horizon"))
    per_set = (
        select(
            c.params_key,
            func.min(c.policy),
            func.min(c.label),
            func.count(),
            _count(result),
            _count(result & (c.pnl_pct > 0.0)),
            func.coalesce(func.sum(case((result, c.pnl_pct), else_=0.0)), 0.0),
            func.coalesce(func.sum(case((result, actual_pct_sql()), else_=0.0)), 0.0),
            _count(c.status == "path_ended"),
            _count(c.status == "no_path"),
            _count(c.status == "refused"),
        )
        .join(Trade, Trade.id == c.trade_id)
        .where(c.params_key.in_(list(keys)))
        .group_by(c.params_key)
    )
    manual = exists().where(
        AuditEvent.trade_id == Trade.id, AuditEvent.kind == "manual_action"
    ) | exists().where(FillRow.trade_id == Trade.id, FillRow.reason == MANUAL_CLOSE)
    discretion = (
        select(func.count(), func.coalesce(func.sum(actual_pct_sql() - c.pnl_pct), 0.0))
        .join(Trade, Trade.id == c.trade_id)
        .where(c.params_key == own_key, result, manual)
    )
    async with store.read_session() as session:
        rows = (await session.execute(per_set)).all()
        d_count, d_sum = (await session.execute(discretion)).one()
        ratios: dict[int, tuple[float | None, int]] = {}
        for n, fav, adv in (
            (5, LedgerPath.fav_5, LedgerPath.adv_5),
            (20, LedgerPath.fav_20, LedgerPath.adv_20),
            (60, LedgerPath.fav_60, LedgerPath.adv_60),
        ):
            measured = and_(fav.is_not(None), LedgerPath.atr > 0.0)
            q = select(
                func.count(), func.avg(fav / LedgerPath.atr), func.avg(adv / LedgerPath.atr)
            ).where(measured)
            count, mean_fav, mean_adv = (await session.execute(q)).one()
            ratio = None
            if mean_fav is not None and mean_adv is not None and float(mean_adv) > 0.0:
                ratio = float(mean_fav) / float(mean_adv)
            ratios[n] = (ratio, int(count))
    order = {key: i for i, key in enumerate(keys)}
    sets = sorted(
        (
            SetTotals(
                params_key=r[0],
                policy=r[1],
                label=r[2],
                trades=int(r[3]),
                results=int(r[4] or 0),
                wins=int(r[5] or 0),
                pnl_pct=float(r[6]),
                actual_pct=float(r[7]),
                path_ended=int(r[8] or 0),
                no_path=int(r[9] or 0),
                refused=int(r[10] or 0),
            )
            for r in rows
        ),
        key=lambda s: order.get(s.params_key, len(order)),
    )
    return LedgerTotals(tuple(sets), int(d_count), float(d_sum), ratios)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

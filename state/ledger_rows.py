"""The counterfactual ledger's reads and writes (tables of migration 0011), on either engine.

The ledger job (`cockpit.backtest.ledger_job`) asks `work_to_do` which closed trades need running
(missing a row for a configured parameter set, or waiting for more candles), reads each one's
inputs and bars (`trade_inputs`, `path_bars`, in pages, so no read holds the event loop for
long), computes in a worker thread and hands the results to `write_ledger`: one transaction
for a whole batch of trades, so a database that fails leaves the batch entirely absent and the
next pass runs it again. `rows_for` and `all_rows` (and `state.ledger_totals`) are what the
screens, the report and `cockpit backtest --journal` show. Everything goes through
`Store.run_write` and `Store.read_session` (the store's extension points), so SQLite and
PostgreSQL behave alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import and_, delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.domain import EXTERNAL_POLICY
from state.models import AuditEvent, CandleRow, Counterfactual, FillRow, LedgerPath, Trade
from state.records import TradeStatus
from state.store import Store

PENDING: Final = ("path_ended", "no_path")
"""Statuses a newer candle can change: their trade is run again when its symbol has one."""
MANUAL_CLOSE: Final = "manual_close"
BAR_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One (trade, parameter set) result; see `state.models.Counterfactual` for the fields."""

    trade_id: int
    policy: str
    label: str
    params_key: str
    params_json: str
    status: str
    pnl_pct: float | None
    exit_reason: str | None
    exit_ts_ms: int | None
    exit_price: float | None
    ambiguous_bars: int
    path_ended: bool
    fills_json: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class PathFacts:
    """One trade's path as the ledger ran it (`state.models.LedgerPath`)."""

    trade_id: int
    bars: int
    first_bar_ms: int | None
    last_bar_ms: int | None
    complete: bool
    atr: float | None
    excursions: dict[int, tuple[float, float]]
    """bars N -> (favorable, adverse) price distance within the first N bars (N = 5, 20, 60)."""


@dataclass(frozen=True, slots=True)
class TradeInput:
    """What the ledger needs of a closed trade: its side, entry, ATR, score and frozen plan."""

    id: int
    symbol: str
    side: str
    entry_price: float
    entry_ts_ms: int
    exit_ts_ms: int
    exit_price: float | None
    initial_size: float
    realized_pnl: float
    atr: float | None
    quality_score: float | None
    plan_json: str
    manual: bool
    """The trader acted on it by hand (an audit `manual_action` row or a manual close)."""


def _closed() -> Any:
    return and_(Trade.status == TradeStatus.CLOSED.value, Trade.policy != EXTERNAL_POLICY)


async def work_to_do(store: Store, keys: Sequence[str]) -> tuple[list[int], dict[int, int | None]]:
    """(trades missing a row for any of `keys`, {trade waiting for candles: its last bar's
    open time}). The question is asked of the database, so only the answer crosses over."""
    have = (
        select(func.count())
        .select_from(Counterfactual)
        .where(Counterfactual.trade_id == Trade.id, Counterfactual.params_key.in_(keys))
        .scalar_subquery()
    )
    missing = select(Trade.id).where(_closed(), have < len(keys)).order_by(Trade.id)
    waiting = (
        select(LedgerPath.trade_id, LedgerPath.last_bar_ms)
        .join(Counterfactual, Counterfactual.trade_id == LedgerPath.trade_id)
        .where(
            LedgerPath.complete.is_(False),
            Counterfactual.status.in_(PENDING),
            Counterfactual.params_key.in_(keys),
        )
        .distinct()
    )
    async with store.read_session() as session:
        ids = [int(i) for i in (await session.scalars(missing)).all()]
        pending = {
            int(t): (None if b is None else int(b)) for t, b in await session.execute(waiting)
        }
    return ids, pending


async def newest_bar_ms(store: Store, symbol: str, timeframe: str) -> int | None:
    """Open time of the symbol's newest recorded bar (None: none)."""
    query = select(func.max(CandleRow.ts_ms)).where(
        CandleRow.symbol == symbol, CandleRow.timeframe == timeframe
    )
    async with store.read_session() as session:
        value = await session.scalar(query)
    return None if value is None else int(value)


async def trade_inputs(store: Store, ids: Sequence[int]) -> list[TradeInput]:
    """The closed trades among `ids`, in id order, with whether the trader acted by hand."""
    if not ids:
        return []
    manual_audit = exists().where(
        AuditEvent.trade_id == Trade.id, AuditEvent.kind == "manual_action"
    )
    manual_close = exists().where(FillRow.trade_id == Trade.id, FillRow.reason == MANUAL_CLOSE)
    query = (
        select(
            Trade.id,
            Trade.symbol,
            Trade.side,
            Trade.entry_price,
            Trade.entry_ts_ms,
            Trade.exit_ts_ms,
            Trade.exit_price,
            Trade.initial_size,
            Trade.realized_pnl,
            Trade.atr,
            Trade.quality_score,
            Trade.plan_json,
            manual_audit | manual_close,
        )
        .where(_closed(), Trade.id.in_(list(ids)))
        .order_by(Trade.id)
    )
    async with store.read_session() as session:
        rows = (await session.execute(query)).all()
    return [
        TradeInput(
            id=int(r[0]),
            symbol=r[1],
            side=r[2],
            entry_price=float(r[3]),
            entry_ts_ms=int(r[4]),
            exit_ts_ms=int(r[5] if r[5] is not None else r[4]),
            exit_price=None if r[6] is None else float(r[6]),
            initial_size=float(r[7]),
            realized_pnl=float(r[8]),
            atr=None if r[9] is None else float(r[9]),
            quality_score=None if r[10] is None else float(r[10]),
            plan_json=r[11],
            manual=bool(r[12]),
        )
        for r in rows
    ]


async def path_bars(
    store: Store, symbol: str, timeframe: str, start_ms: int, end_ms: int
) -> list[tuple[int, float, float, float, float]]:
    """(open time, open, high, low, close) of the bars opening in [start_ms, end_ms), in time
    order, read a page at a time (each await converts at most BAR_PAGE rows)."""
    out: list[tuple[int, float, float, float, float]] = []
    since = start_ms
    while True:
        query = (
            select(CandleRow.ts_ms, CandleRow.open, CandleRow.high, CandleRow.low, CandleRow.close)
            .where(
                CandleRow.symbol == symbol,
                CandleRow.timeframe == timeframe,
                CandleRow.ts_ms >= since,
                CandleRow.ts_ms < end_ms,
            )
            .order_by(CandleRow.ts_ms)
            .limit(BAR_PAGE)
        )
        async with store.read_session() as session:
            page = [
                (int(t), float(o), float(h), float(lo), float(c))
                for t, o, h, lo, c in (await session.execute(query)).all()
            ]
        out += page
        if len(page) < BAR_PAGE:
            return out
        since = page[-1][0] + 1


async def write_ledger(
    store: Store, rows: Sequence[LedgerRow], paths: Sequence[PathFacts], now_ms: int
) -> None:
    """Replace the rows of these (trade, set) pairs and these trades' paths, in ONE transaction:
    a failure leaves none of the batch written (the next pass computes it again)."""
    by_keys: dict[frozenset[str], list[int]] = {}
    per_trade: dict[int, set[str]] = {}
    for r in rows:
        per_trade.setdefault(r.trade_id, set()).add(r.params_key)
    for trade_id, keys in per_trade.items():
        by_keys.setdefault(frozenset(keys), []).append(trade_id)
    trade_ids = sorted({p.trade_id for p in paths} | set(per_trade))

    async def work(session: AsyncSession) -> None:
        # Core statements, executemany: no ORM objects on the event loop
        for keys, ids in by_keys.items():
            await session.execute(
                delete(Counterfactual).where(
                    Counterfactual.trade_id.in_(ids), Counterfactual.params_key.in_(list(keys))
                )
            )
        if trade_ids:
            await session.execute(delete(LedgerPath).where(LedgerPath.trade_id.in_(trade_ids)))
        if rows:
            await session.execute(insert(Counterfactual), [_values(r, now_ms) for r in rows])
        if paths:
            await session.execute(insert(LedgerPath), [_path_values(p, now_ms) for p in paths])

    await store.run_write(work)


def _values(r: LedgerRow, now_ms: int) -> dict[str, Any]:
    return {
        "trade_id": r.trade_id,
        "policy": r.policy,
        "label": r.label,
        "params_key": r.params_key,
        "params_json": r.params_json,
        "status": r.status,
        "pnl_pct": r.pnl_pct,
        "exit_reason": r.exit_reason,
        "exit_ts_ms": r.exit_ts_ms,
        "exit_price": r.exit_price,
        "ambiguous_bars": r.ambiguous_bars,
        "path_ended": r.path_ended,
        "fills_json": r.fills_json,
        "note": r.note,
        "computed_at_ms": now_ms,
    }


def _path_values(p: PathFacts, now_ms: int) -> dict[str, Any]:
    ex = p.excursions
    values: dict[str, Any] = {
        "trade_id": p.trade_id,
        "bars": p.bars,
        "first_bar_ms": p.first_bar_ms,
        "last_bar_ms": p.last_bar_ms,
        "complete": p.complete,
        "atr": p.atr,
        "computed_at_ms": now_ms,
    }
    for n in (5, 20, 60):
        values[f"fav_{n}"], values[f"adv_{n}"] = ex.get(n, (None, None))
    return values


def _row(c: Counterfactual) -> LedgerRow:
    return LedgerRow(
        trade_id=c.trade_id,
        policy=c.policy,
        label=c.label,
        params_key=c.params_key,
        params_json=c.params_json,
        status=c.status,
        pnl_pct=c.pnl_pct,
        exit_reason=c.exit_reason,
        exit_ts_ms=c.exit_ts_ms,
        exit_price=c.exit_price,
        ambiguous_bars=c.ambiguous_bars,
        path_ended=c.path_ended,
        fills_json=c.fills_json,
        note=c.note,
    )


async def rows_for(
    store: Store, trade_id: int, keys: Sequence[str] | None = None
) -> list[LedgerRow]:
    """One trade's ledger rows (of the sets `keys`; None: every set ever run), in id order."""
    query = select(Counterfactual).where(Counterfactual.trade_id == trade_id)
    if keys is not None:
        query = query.where(Counterfactual.params_key.in_(list(keys)))
    async with store.read_session() as session:
        found = (await session.scalars(query.order_by(Counterfactual.id))).all()
    return [_row(c) for c in found]


async def all_rows(store: Store, keys: Sequence[str]) -> list[tuple[TradeInput, list[LedgerRow]]]:
    """Every ledger row of the sets `keys`, with its trade, in trade order (`--journal`)."""
    query = (
        select(Counterfactual)
        .where(Counterfactual.params_key.in_(list(keys)))
        .order_by(Counterfactual.trade_id, Counterfactual.id)
    )
    async with store.read_session() as session:
        found = [_row(c) for c in (await session.scalars(query)).all()]
    by_trade: dict[int, list[LedgerRow]] = {}
    for row in found:
        by_trade.setdefault(row.trade_id, []).append(row)
    trades = await trade_inputs(store, sorted(by_trade))
    return [(t, by_trade[t.id]) for t in trades]


async def path_facts(store: Store) -> list[PathFacts]:
    """Every trade's path facts (the e-ratio reads their excursions)."""
    async with store.read_session() as session:
        found = (await session.scalars(select(LedgerPath).order_by(LedgerPath.trade_id))).all()
    out = []
    for p in found:
        ex: dict[int, tuple[float, float]] = {}
        for n, fav, adv in (
            (5, p.fav_5, p.adv_5),
            (20, p.fav_20, p.adv_20),
            (60, p.fav_60, p.adv_60),
        ):
            if fav is not None and adv is not None:
                ex[n] = (fav, adv)
        out.append(
            PathFacts(p.trade_id, p.bars, p.first_bar_ms, p.last_bar_ms, p.complete, p.atr, ex)
        )
    return out


def params_text(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))

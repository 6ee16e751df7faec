"""The async repository: every write goes through one writer task, reads use their own sessions.

Durability contract (DESIGN.md section 4):
- an awaited write method returns only after its transaction committed, so an order intent is in
  the database before the broker ever sees the order;
- `update_position` is the only call on the per-tick path: it copies the position into a
  coalescing buffer and returns; the writer flushes the buffer at most every `flush_interval_s`
  (one UPDATE per changed trade), or at once on `flush()` / `close()`. A crash can lose at most
  the last interval of extremes/last-price updates, never a decision (fills, stop moves, orders
  are written directly);
- an error in a write is raised to whoever awaited it and never stops the writer;
- an order's status only moves along `cockpit.orders.TRANSITIONS`: any other status write is
  logged, not written, and raised to the caller as `IllegalTransition`.
Reads see committed data only; call `flush()` first to read your own throttled snapshots.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Executable, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cockpit.domain import Candle, Fill, Mode, OrderRequest, PositionState, Side, StopRole
from cockpit.orders import FINAL, IllegalTransition, transition
from state.db import create_engine_for
from state.errors import NotFoundError, StoreClosedError
from state.mapping import (
    alert_record,
    audit_record,
    candle_from_row,
    candle_values,
    entry_fields,
    feature_values,
    fill_record,
    fill_row,
    live_fields,
    mode_change_record,
    order_record,
    order_row,
    position_from_trade,
    stop_move_record,
    trade_summary,
)
from state.migrate import upgrade_to_head
from state.models import (
    Alert,
    AuditEvent,
    CandleRow,
    FillRow,
    ModeChange,
    Order,
    SettingRow,
    Signal,
    StopMove,
    Trade,
)
from state.records import (
    AlertRecord,
    AuditRecord,
    FillRecord,
    ModeChangeRecord,
    OrderRecord,
    OrderStatus,
    StopMoveRecord,
    TradeStatus,
    TradeSummary,
)
from state.snapshots import SnapshotBuffer
from state.writer import SingleWriter, Work

log = logging.getLogger(__name__)

T = TypeVar("T")

_INTENT_STATUSES = (OrderStatus.INTENT, OrderStatus.WOULD_SUBMIT)
# Sent or about to be, and not over; a resting stop (`open`) is not "unfinished", it is the
# stop doing its job.
_UNFINISHED_STATUSES = (
    OrderStatus.INTENT,
    OrderStatus.WOULD_SUBMIT,
    OrderStatus.SUBMITTED,
    OrderStatus.ACCEPTED,
    OrderStatus.PARTIALLY_FILLED,
)
_ORDER_TYPES = ("market", "stop")
_CANDLE_KEY = ("symbol", "timeframe", "ts_ms")
_CANDLE_VALUES = ("open", "high", "low", "close", "volume", "source")


def wall_clock_ms() -> int:
    """Audit timestamps (created_at_ms, updated_at_ms); injectable so tests are deterministic."""
    return int(time.time() * 1000)


class Store:
    """Persistence for the session. Create with `await Store.open(url)`, end with `close()`."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        flush_interval_s: float = 0.25,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        """Wire a store around a migrated engine; `open()` is the normal way in."""
        if flush_interval_s < 0:
            raise ValueError("flush_interval_s must be >= 0")
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._writer = SingleWriter(self._sessions)
        self._flush_interval_s = flush_interval_s
        self._clock = clock
        self._snapshots = SnapshotBuffer()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._closing: asyncio.Future[None] | None = None
        self._snapshot_failing = False

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    async def open(
        cls,
        url: str,
        *,
        flush_interval_s: float = 0.25,
        clock: Callable[[], int] = wall_clock_ms,
        migrate: bool = True,
    ) -> Store:
        """Create the engine, migrate the schema to head and start the writer task.

        `migrate=False` is for a database whose schema is managed elsewhere (a deploy step on
        PostgreSQL, or a test building an old schema on purpose).
        """
        engine = create_engine_for(url)
        try:
            store = cls(engine, flush_interval_s=flush_interval_s, clock=clock)
            if migrate:
                await upgrade_to_head(engine)
        except BaseException:
            await engine.dispose()
            raise
        store._writer.start()
        return store

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine (analysis queries, tests); do not write through it."""
        return self._engine

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Flush pending snapshots, stop the writer (after queued writes), dispose the engine.

        Idempotent; a concurrent second call waits for the first. If the final flush fails the
        store is still shut down and the error is raised to the first caller.
        """
        if self._closing is not None:
            await asyncio.wait({self._closing})
            return
        self._closing = asyncio.get_running_loop().create_future()
        self._closed = True
        self._cancel_flush_timer()
        error: Exception | None = None
        try:
            if self._writer.accepting:
                await self._writer.submit(self._write_snapshots)
        except Exception as exc:
            log.error("final position flush failed: %s", exc)
            error = exc
        finally:
            await self._writer.stop()
            await self._engine.dispose()
            self._closing.set_result(None)
        if error is not None:
            raise error

    # ------------------------------------------------------------------ orders and fills
    async def record_order_intent(
        self,
        order: OrderRequest,
        *,
        mode: Mode,
        venue: str,
        status: str = OrderStatus.INTENT,
        order_type: str = "market",
        user_order_id: int | None = None,
        trigger_price: float | None = None,
        intent_json: str | None = None,
    ) -> int:
        """Store an order before it is sent; returns its row id once committed.

        `status` is 'intent' or 'would_submit' (SHADOW). A reused client_order_id raises
        sqlalchemy.exc.IntegrityError: the id is what makes a retry recognisable. A venue order
        carries the handle it will be sent with (`user_order_id`), so an order sent just before
        a crash can still be found on the venue. `intent_json` says what must happen when it
        fills (stored as given), so a restart can resume it.
        """
        order_status = OrderStatus(status)
        if order_status not in _INTENT_STATUSES:
            raise ValueError(f"an order starts as intent or would_submit, not {status!r}")
        if order_type not in _ORDER_TYPES:
            raise ValueError(f"order_type must be one of {_ORDER_TYPES}, not {order_type!r}")
        row_mode, now = Mode(mode), self._clock()

        async def work(session: AsyncSession) -> int:
            row = order_row(
                order,
                mode=row_mode,
                venue=venue,
                status=order_status,
                now_ms=now,
                order_type=order_type,
                user_order_id=user_order_id,
                trigger_price=trigger_price,
                intent_json=intent_json,
            )
            session.add(row)
            await session.flush()
            return row.id

        return await self._write(work)

    async def record_order_failed(self, order_id: int, error: str) -> None:
        """The order ended on the cockpit's side (an error, lost, given up), with the words why.
        Only from a live state: a filled or cancelled order cannot fail afterwards."""
        await self.record_order_state(order_id, OrderStatus.FAILED, error=error)

    async def record_order_rejected(self, order_id: int, error: str) -> None:
        """The venue (or the broker, before sending) refused the order: the refusal's words."""
        await self.record_order_state(order_id, OrderStatus.REJECTED, error=error)

    async def record_order_expired(self, order_id: int, error: str) -> None:
        """The order ran out of time on the venue (it was sent: an intent cannot expire)."""
        await self.record_order_state(order_id, OrderStatus.EXPIRED, error=error)

    async def record_order_state(
        self,
        order_id: int,
        status: str,
        *,
        error: str | None = None,
        trigger_price: float | None = None,
        tx_sig: str | None = None,
        user_order_id: int | None = None,
    ) -> None:
        """An order's new state, checked against `cockpit.orders.TRANSITIONS`: e.g. `submitted`
        (sent, not confirmed; again on a re-send), `open` (a stop resting at `trigger_price`),
        `cancelled`, `rejected`, `expired` or `failed`, with the venue's words in `error`.
        Fields left None keep their value, so a stop's last trigger and signature survive a
        failed move. A move the table does not allow is logged, not written, and raises
        IllegalTransition (nothing of the call is written then).
        """
        order_status = OrderStatus(status)
        now = self._clock()

        async def work(session: AsyncSession) -> None:
            order = await _get(session, Order, order_id)
            _move(order, order_status)
            order.error = error
            if trigger_price is not None:
                order.trigger_price = trigger_price
            if tx_sig is not None:
                order.tx_sig = tx_sig
            if user_order_id is not None:
                order.user_order_id = user_order_id
            order.updated_at_ms = now

        await self._write(work)

    async def resolve_order(self, order_id: int, status: str, reason: str) -> None:
        """End a dangling row (one `unfinished_orders` listed) in the final `status` with
        `reason`, e.g. `failed` with "the cockpit stopped before this order was sent" for a
        paper row a kill left behind. Along the table like every status write: an order that
        is already over raises IllegalTransition and keeps its row."""
        order_status = OrderStatus(status)
        if order_status not in FINAL:
            raise ValueError(
                f"an order is resolved to a final state "
                f"({', '.join(sorted(s.value for s in FINAL))}), not {order_status.value!r}"
            )
        await self.record_order_state(order_id, order_status, error=reason)

    async def record_adopted(self, position: PositionState) -> int:
        """Store a venue position the database did not know (reconcile): a trade with no entry
        order or fill of the cockpit's, so nothing pretends the cockpit opened it."""
        snapshot = copy.copy(position)
        now = self._clock()

        async def work(session: AsyncSession) -> int:
            trade = Trade(
                **entry_fields(snapshot, None),
                **live_fields(snapshot),
                status=TradeStatus.OPEN.value,
                updated_at_ms=now,
            )
            session.add(trade)
            await session.flush()
            return trade.id

        return await self._write(work)

    async def record_open(
        self,
        order_id: int,
        fill: Fill,
        position: PositionState,
        features: dict[str, object] | None = None,
    ) -> int:
        """Store a new trade from its entry fill and initial position; returns the trade id.

        One transaction: trade row (plan, stop, live fields, signal features), fill row, and the
        order marked filled and linked to the trade.
        """
        features_row = feature_values(features)
        snapshot = copy.copy(position)
        now = self._clock()

        async def work(session: AsyncSession) -> int:
            order = await _get(session, Order, order_id)
            _check_fill_matches(order, fill)
            trade = Trade(
                **entry_fields(snapshot, fill),
                **live_fields(snapshot),
                **features_row,
                status=TradeStatus.OPEN.value,
                updated_at_ms=now,
            )
            session.add(trade)
            await session.flush()
            session.add(fill_row(fill, trade_id=trade.id, order_id=order.id))
            _mark_filled(order, trade.id, now)
            return trade.id

        return await self._write(work)

    async def record_exit_fill(self, order_id: int, fill: Fill, position: PositionState) -> None:
        """Store an exit fill and the position after it; closes the trade if `position.closed`.

        On close: exit_price is the size-weighted average of all the trade's reduce-only fills,
        exit_ts_ms and exit_reason come from this (final) fill.
        """
        trade_id = _require_trade_id(position)
        snapshot = copy.copy(position)
        # This write carries the newest state; an older waiting snapshot must not follow it.
        self._snapshots.discard(trade_id)
        now = self._clock()

        async def work(session: AsyncSession) -> None:
            order = await _get(session, Order, order_id)
            _check_fill_matches(order, fill)
            trade = await _get(session, Trade, trade_id)
            if trade.status != TradeStatus.OPEN:
                raise ValueError(f"trade {trade_id} is already {trade.status}")
            session.add(fill_row(fill, trade_id=trade_id, order_id=order.id))
            _mark_filled(order, trade_id, now)
            for name, value in live_fields(snapshot).items():
                setattr(trade, name, value)
            trade.updated_at_ms = now
            if snapshot.closed:
                await session.flush()
                trade.exit_price = await _weighted_exit_price(session, trade_id, fill.price)
                trade.exit_ts_ms = fill.ts_ms
                trade.exit_reason = fill.reason
                trade.status = TradeStatus.CLOSED.value

        await self._write(work)

    # ------------------------------------------------------------------ audit rows
    async def record_stop_move(
        self,
        trade_id: int,
        old: float,
        new: float,
        role: StopRole,
        reason: str,
        who: str,
        ts_ms: int,
    ) -> None:
        """Audit a stop move and make the new stop durable on the trade at once."""
        stop_role = StopRole(role)
        self._snapshots.patch_stop(trade_id, new, stop_role)
        now = self._clock()

        async def work(session: AsyncSession) -> None:
            trade = await _get(session, Trade, trade_id)
            session.add(
                StopMove(
                    trade_id=trade_id,
                    ts_ms=ts_ms,
                    old_price=old,
                    new_price=new,
                    role=stop_role.value,
                    reason=reason,
                    who=who,
                )
            )
            if trade.status == TradeStatus.OPEN:
                trade.stop_price = new
                trade.stop_role = stop_role.value
                trade.updated_at_ms = now

        await self._write(work)

    async def record_mode_change(
        self,
        from_mode: Mode,
        to_mode: Mode,
        who: str,
        reason: str,
        ts_ms: int,
        limits_json: str | None = None,
    ) -> None:
        row = ModeChange(
            ts_ms=ts_ms,
            from_mode=Mode(from_mode).value,
            to_mode=Mode(to_mode).value,
            who=who,
            reason=reason,
            limits_json=limits_json,
        )
        await self._write(_adder(row))

    async def record_audit(
        self,
        kind: str,
        who: str,
        action: str,
        reason: str,
        ts_ms: int,
        detail_json: str | None = None,
        trade_id: int | None = None,
    ) -> int:
        """An audit row (mode change, refusal, confirmation, manual action); returns its id."""
        row = AuditEvent(
            ts_ms=ts_ms,
            kind=kind,
            who=who,
            action=action,
            reason=reason,
            detail_json=detail_json,
            trade_id=trade_id,
        )

        async def work(session: AsyncSession) -> int:
            session.add(row)
            await session.flush()
            return row.id

        return await self._write(work)

    async def record_alert(self, level: str, message: str, ts_ms: int) -> None:
        await self._write(_adder(Alert(ts_ms=ts_ms, level=level, message=message)))

    async def record_signal(
        self,
        symbol: str,
        side: Side,
        ts_ms: int,
        *,
        accepted: bool,
        reject_reason: str | None = None,
        features: dict[str, object] | None = None,
        trade_id: int | None = None,
    ) -> int:
        """Store an entry signal, accepted or rejected (with the reason); returns its id."""
        row = Signal(
            ts_ms=ts_ms,
            symbol=symbol,
            side=Side(side).value,
            accepted=accepted,
            reject_reason=reject_reason,
            trade_id=trade_id,
            **feature_values(features),
        )

        async def work(session: AsyncSession) -> int:
            session.add(row)
            await session.flush()
            return row.id

        return await self._write(work)

    # ------------------------------------------------------------------ position snapshots
    def update_position(self, position: PositionState) -> None:
        """Hand over the position's latest state; never blocks, never touches the database.

        Snapshots coalesce per trade id and are written by the writer at most every
        `flush_interval_s`. Positions without a trade id (not yet recorded) are ignored.
        Call it from the event loop's thread (it arms a loop timer). Costs one shallow copy.
        """
        if position.trade_id is None:
            return
        if self._closed:
            log.warning("position #%s update after the store closed: dropped", position.trade_id)
            return
        self._snapshots.put(position)
        if self._flush_timer is None:
            self._arm_flush_timer()

    async def flush(self) -> None:
        """Write every waiting snapshot now and return once committed (no-op after close)."""
        if self._closed:
            return
        await self._write(self._write_snapshots)

    def _flush_due(self) -> None:
        self._flush_timer = None
        if self._writer.accepting:
            self._writer.submit_nowait(self._write_snapshots_quietly)

    async def _write_snapshots_quietly(self, session: AsyncSession) -> None:
        """Timer flush: nobody awaits it, and `_write_snapshots` already logged the failure
        (once, until it recovers), so a persistent error does not flood the log every tick."""
        try:
            await self._write_snapshots(session)
        except Exception:
            self._arm_flush_timer()  # retry next interval even if no new update arrives

    def _arm_flush_timer(self) -> None:
        if self._flush_timer is None and len(self._snapshots) and not self._closed:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(self._flush_interval_s, self._flush_due)

    def _cancel_flush_timer(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None

    async def _write_snapshots(self, session: AsyncSession) -> None:
        """Writer job: one UPDATE per waiting trade, committed here so a failure can restore."""
        snapshots = self._snapshots.take()
        # Whatever arrives from now on belongs to the next interval.
        self._cancel_flush_timer()
        if not snapshots:
            return
        now = self._clock()
        try:
            for trade_id, snapshot in snapshots.items():
                # Only open trades: a closed trade's final state came with its exit fill.
                await session.execute(
                    update(Trade)
                    .where(Trade.id == trade_id, Trade.status == TradeStatus.OPEN.value)
                    .values(**live_fields(snapshot), updated_at_ms=now)
                    .execution_options(synchronize_session=False)
                )
            await session.commit()
        except Exception as exc:
            await session.rollback()
            self._snapshots.restore(snapshots)
            if not self._snapshot_failing:
                log.error("position snapshot flush failed (will retry): %s", exc)
            self._snapshot_failing = True
            raise
        if self._snapshot_failing:
            log.info("position snapshot flush recovered")
            self._snapshot_failing = False

    # ------------------------------------------------------------------ candles and settings
    async def upsert_candles(self, candles: Sequence[Candle], source: str = "feed") -> int:
        """Insert or overwrite bars by (symbol, timeframe, ts_ms); returns the number of bars.

        Idempotent: a re-fetched bar replaces the stored one. Duplicate keys in one batch keep
        the last bar (PostgreSQL refuses to touch a row twice in one statement).
        """
        by_key = {(c.symbol, c.timeframe, c.ts_ms): candle_values(c, source) for c in candles}
        rows = list(by_key.values())
        if not rows:
            return 0
        dialect = self._engine.dialect.name

        async def work(session: AsyncSession) -> int:
            await _upsert_candles(session, dialect, rows)
            return len(rows)

        return await self._write(work)

    async def set_setting(self, key: str, value: str) -> None:
        await self._write(_merger(SettingRow(key=key, value=value)))

    # ------------------------------------------------------------------ reads
    async def get_setting(self, key: str) -> str | None:
        async with self._read() as session:
            row = await session.get(SettingRow, key)
            return None if row is None else row.value

    async def open_positions(self) -> list[PositionState]:
        """Every open trade rebuilt as a PositionState (plan, stop, flags, extremes, trade_id)."""
        query = select(Trade).where(Trade.status == TradeStatus.OPEN.value).order_by(Trade.id)
        return [position_from_trade(t) for t in await self._all(query)]

    async def closed_trades(self, limit: int = 100, mode: Mode | None = None) -> list[TradeSummary]:
        """Closed trades, newest exit first; only those of `mode` when given (in SQL, so shadow
        or imported trades can never crowd live ones out of the limit)."""
        query = select(Trade).where(Trade.status == TradeStatus.CLOSED.value)
        if mode is not None:
            query = query.where(Trade.mode == mode.value)
        query = query.order_by(Trade.exit_ts_ms.desc(), Trade.id.desc()).limit(limit)
        return [trade_summary(t) for t in await self._all(query)]

    async def recent_audit(self, limit: int = 200) -> list[AuditRecord]:
        """Newest first."""
        query = (
            select(AuditEvent).order_by(AuditEvent.ts_ms.desc(), AuditEvent.id.desc()).limit(limit)
        )
        return [audit_record(r) for r in await self._all(query)]

    async def mode_changes(self, limit: int = 100) -> list[ModeChangeRecord]:
        """Newest first: the first row says which mode the last session ended in."""
        query = (
            select(ModeChange).order_by(ModeChange.ts_ms.desc(), ModeChange.id.desc()).limit(limit)
        )
        return [mode_change_record(r) for r in await self._all(query)]

    async def recent_alerts(self, limit: int = 50) -> list[AlertRecord]:
        """Newest first."""
        query = select(Alert).order_by(Alert.ts_ms.desc(), Alert.id.desc()).limit(limit)
        return [alert_record(a) for a in await self._all(query)]

    async def fills_for(self, trade_id: int) -> list[FillRecord]:
        query = (
            select(FillRow).where(FillRow.trade_id == trade_id).order_by(FillRow.ts_ms, FillRow.id)
        )
        return [fill_record(f) for f in await self._all(query)]

    async def venue_orders(
        self,
        venue: str,
        statuses: Sequence[OrderStatus] = (OrderStatus.SUBMITTED, OrderStatus.OPEN),
    ) -> list[OrderRecord]:
        """The venue's orders in `statuses` (default: sent and not finished), oldest first:
        what a restart must find again on the venue before it sends anything."""
        query = (
            select(Order)
            .where(Order.venue == venue, Order.status.in_([s.value for s in statuses]))
            .order_by(Order.id)
        )
        return [order_record(o) for o in await self._all(query)]

    async def unfinished_orders(self, venue: str | None = None) -> list[OrderRecord]:
        """Orders written or sent and not over (intent, would_submit, submitted, accepted,
        partially_filled), oldest first, of `venue` when given: what a start must settle
        (resume from `intent_json`, find on the venue, or `resolve_order`). Resting stops
        (`open`) are not listed: they are the stop doing its job, reconcile checks them."""
        query = select(Order).where(Order.status.in_([s.value for s in _UNFINISHED_STATUSES]))
        if venue is not None:
            query = query.where(Order.venue == venue)
        return [order_record(o) for o in await self._all(query.order_by(Order.id))]

    async def order(self, order_id: int) -> OrderRecord:
        """One order row (what follows a venue's report about it is derived from it)."""
        async with self._read() as session:
            return order_record(await _get(session, Order, order_id))

    async def orders_for(self, trade_id: int) -> list[OrderRecord]:
        query = select(Order).where(Order.trade_id == trade_id).order_by(Order.id)
        return [order_record(o) for o in await self._all(query)]

    async def stop_moves_for(self, trade_id: int) -> list[StopMoveRecord]:
        query = (
            select(StopMove)
            .where(StopMove.trade_id == trade_id)
            .order_by(StopMove.ts_ms, StopMove.id)
        )
        return [stop_move_record(m) for m in await self._all(query)]

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 1000
    ) -> list[Candle]:
        """Bars in ascending time: the first `limit` from `since_ms` on, or, without `since_ms`,
        the latest `limit` (what a chart wants)."""
        query = select(CandleRow).where(
            CandleRow.symbol == symbol, CandleRow.timeframe == timeframe
        )
        if since_ms is not None:
            query = query.where(CandleRow.ts_ms >= since_ms).order_by(CandleRow.ts_ms)
            rows = await self._all(query.limit(limit))
        else:
            newest = query.order_by(CandleRow.ts_ms.desc()).limit(limit)
            rows = list(reversed(await self._all(newest)))
        return [candle_from_row(r) for r in rows]

    # ------------------------------------------------------------------ internals
    async def _write(self, work: Work[T]) -> T:
        if self._closed:
            raise StoreClosedError("the store is closed")
        return await self._writer.submit(work)

    def _read(self) -> AsyncSession:
        if self._closed:
            raise StoreClosedError("the store is closed")
        return self._sessions()

    async def _all(self, query: Executable) -> list[Any]:
        async with self._read() as session:
            return list((await session.scalars(query)).all())

    # ------------------------------------------------------------------ extension points
    async def run_write(self, work: Work[T]) -> T:
        """Run `work` as one transaction on the writer task (committed when this returns, rolled
        back entirely if it raises). For state modules with their own writes, e.g.
        `state.journal.import_trades`, so every write still goes through the single writer."""
        return await self._write(work)

    def read_session(self) -> AsyncSession:
        """A read-only session for state modules' own queries (e.g. `state.journal`)."""
        return self._read()


# ---------------------------------------------------------------------- writer-side helpers
M = TypeVar("M", Order, Trade)


async def _get(session: AsyncSession, model: type[M], row_id: int) -> M:
    row = await session.get(model, row_id)
    if row is None:
        raise NotFoundError(f"no {model.__tablename__} row with id {row_id}")
    return row


def _require_trade_id(position: PositionState) -> int:
    if position.trade_id is None:
        raise ValueError("position has no trade_id: record_open must come first")
    return position.trade_id


def _check_fill_matches(order: Order, fill: Fill) -> None:
    """A fill stored under the wrong order would corrupt the audit trail: refuse it."""
    if fill.client_order_id != order.client_order_id:
        raise ValueError(
            f"fill for {fill.client_order_id!r} does not belong to order {order.id} "
            f"({order.client_order_id!r})"
        )


def _mark_filled(order: Order, trade_id: int, now_ms: int) -> None:
    """The order's fill arrived: link it to the trade and move it to `filled` via the table.

    A SHADOW row goes `would_submit -> filled` (its mode and venue still say it was a paper
    fill of a would-be submission). A row still at `intent` belongs to a broker that sends and
    fills in one call (the paper broker in a live mode, a venue-exit row recorded with its
    fill): the fill proves the order reached the venue, so the store records that step too,
    `intent -> submitted -> filled`, each checked. Anything else (a second fill of a filled
    order, a fill of a failed one) raises IllegalTransition and the whole write rolls back.
    """
    if order.trade_id is not None and order.trade_id != trade_id:
        raise ValueError(f"order {order.id} belongs to trade {order.trade_id}, not {trade_id}")
    if order.status == OrderStatus.INTENT:
        _move(order, OrderStatus.SUBMITTED)
    _move(order, OrderStatus.FILLED)
    order.trade_id = trade_id
    order.updated_at_ms = now_ms


def _move(order: Order, new: OrderStatus) -> None:
    """Set `order.status` to `new` if the lifecycle table allows it from where the row is;
    otherwise log it (the row id and both states) and raise IllegalTransition, so the caller's
    transaction rolls back and the row keeps its last legal state."""
    try:
        order.status = transition(order.status, new, order=order.id).value
    except IllegalTransition:
        log.error(
            "order %s (%s): illegal status transition %s -> %s refused, row left as it was",
            order.id,
            order.client_order_id,
            order.status,
            new.value,
        )
        raise


async def _weighted_exit_price(session: AsyncSession, trade_id: int, fallback: float) -> float:
    """Size-weighted average price of the trade's reduce-only (exit) fills."""
    total_size, total_notional = (
        await session.execute(
            select(func.sum(FillRow.size), func.sum(FillRow.size * FillRow.price)).where(
                FillRow.trade_id == trade_id, FillRow.reduce_only.is_(True)
            )
        )
    ).one()
    if not total_size:
        return fallback
    return float(total_notional) / float(total_size)


def _adder(row: object) -> Work[None]:
    async def work(session: AsyncSession) -> None:
        session.add(row)

    return work


def _merger(row: object) -> Work[None]:
    async def work(session: AsyncSession) -> None:
        await session.merge(row)

    return work


async def _upsert_candles(session: AsyncSession, dialect: str, rows: list[dict[str, Any]]) -> None:
    """Native INSERT .. ON CONFLICT DO UPDATE where the dialect has it, merge() elsewhere."""
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        stmt = insert(CandleRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(_CANDLE_KEY),
            set_={name: stmt.excluded[name] for name in _CANDLE_VALUES},
        )
        await session.execute(stmt, rows)
        return
    for values in rows:
        await session.merge(CandleRow(**values))

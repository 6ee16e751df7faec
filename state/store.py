"""The async repository: every write goes through one writer task, reads use their own sessions.

Durability contract (DESIGN.md section 4):
- an awaited write method returns only after its transaction committed, so an order intent is in
  the database before the broker ever sees the order;
- `update_position` is the only call on the per-tick path: it marks the position dirty and
  returns (no copy); the writer flushes the dirty positions at most every `flush_interval_s` (one
  executemany UPDATE, each position's fields read once, as they are then), or at once on
  `flush()` / `close()`. A crash can lose at most the last interval of extremes/last-price
  updates, never a decision (fills, stop moves, orders are written directly), and a position
  whose fill is not written yet is held out of the flushes (`hold`/`release`), so the journal is
  never ahead of its own fills;
- an error in a write is raised to whoever awaited it and never stops the writer;
- an order's status only moves along `cockpit.orders.TRANSITIONS`: any other status write is
  logged, not written, and raised to the caller as `IllegalTransition`.
Reads see committed data only; call `flush()` first to read your own throttled snapshots.

`Store` is the one class callers use; it owns the engine, the writer and the clock, and every
write goes through `Store._write`. What a write does is built as a writer job in the module of its
tables: `state.order_rows` (order lifecycle), `state.trade_rows` (trades, fills, stop moves),
`state.audit_rows` (audit, mode changes, alerts, signals), `state.candle_rows`; shared steps are
in `state.row_helpers`, the throttled position snapshots in `state.position_flush`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cockpit.domain import (
    Candle,
    Fill,
    Mode,
    OrderRequest,
    PaperQuote,
    PositionState,
    Side,
    StopRole,
)
from state import audit_rows, candle_rows, order_rows, trade_rows
from state.accounts import ACCOUNT_INFO_KEY, check_account
from state.db import create_engine_for
from state.errors import StoreClosedError
from state.migrate import upgrade_to_head
from state.models import DEFAULT_ACCOUNT, SettingRow
from state.position_flush import PositionFlusher
from state.records import (
    AlertRecord,
    AuditRecord,
    FillRecord,
    ModeChangeRecord,
    OrderRecord,
    OrderStatus,
    StopMoveRecord,
    TradeSummary,
)
from state.row_helpers import merger, require_trade_id
from state.writer import SingleWriter, Work

log = logging.getLogger(__name__)

T = TypeVar("T")


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
        account: str = DEFAULT_ACCOUNT,
    ) -> None:
        """Wire a store around a migrated engine; `open()` is the normal way in.

        `account`: the desk account this store writes for. Every new trade, order and audit row
        is stamped with it (`state.accounts`), and the reads a cockpit manages its own book by
        (open positions, closed trades, orders to settle, audit) see only its rows; the
        analytics read every account or one (`state.journal`, `account=`)."""
        if flush_interval_s < 0:
            raise ValueError("flush_interval_s must be >= 0")
        self._engine = engine
        self.account = check_account(account)
        self._sessions = async_sessionmaker(
            engine, expire_on_commit=False, info={ACCOUNT_INFO_KEY: self.account}
        )
        self._writer = SingleWriter(self._sessions)
        self._clock = clock
        self._positions = PositionFlusher(self._writer, interval_s=flush_interval_s, clock=clock)
        self._closed = False
        self._closing: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    async def open(
        cls,
        url: str,
        *,
        flush_interval_s: float = 0.25,
        clock: Callable[[], int] = wall_clock_ms,
        migrate: bool = True,
        account: str = DEFAULT_ACCOUNT,
    ) -> Store:
        """Create the engine, migrate the schema to head and start the writer task.

        `migrate=False` is for a database whose schema is managed elsewhere (a deploy step on
        PostgreSQL, or a test building an old schema on purpose).
        """
        engine = create_engine_for(url)
        try:
            store = cls(engine, flush_interval_s=flush_interval_s, clock=clock, account=account)
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
        self._positions.stop()
        error: Exception | None = None
        try:
            if self._writer.accepting:
                await self._writer.submit(self._positions.write)
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
        paper: PaperQuote | None = None,
    ) -> int:
        """Store an order before it is sent; returns its row id once committed.

        `status` is 'intent' or 'would_submit' (SHADOW). A reused client_order_id raises
        sqlalchemy.exc.IntegrityError: the id is what makes a retry recognisable. A venue order
        carries the handle it will be sent with (`user_order_id`), so an order sent just before
        a crash can still be found on the venue. `intent_json` says what must happen when it
        fills (stored as given), so a restart can resume it. `paper` (a LIVE-SMALL order) is the
        paper model's price on the tick it is decided on: its fill's twin, whenever the fill is
        reported.
        """
        work = order_rows.intent_work(
            order,
            mode=mode,
            venue=venue,
            status=status,
            order_type=order_type,
            user_order_id=user_order_id,
            trigger_price=trigger_price,
            intent_json=intent_json,
            clock=self._clock,
            paper=paper,
        )
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
        work = order_rows.state_work(
            order_id,
            status,
            error=error,
            trigger_price=trigger_price,
            tx_sig=tx_sig,
            user_order_id=user_order_id,
            clock=self._clock,
        )
        await self._write(work)

    async def resolve_order(self, order_id: int, status: str, reason: str) -> None:
        """End a dangling row (one `unfinished_orders` listed) in the final `status` with
        `reason`, e.g. `failed` with "the cockpit stopped before this order was sent" for a
        paper row a kill left behind. Along the table like every status write: an order that
        is already over raises IllegalTransition and keeps its row."""
        order_status = order_rows.final_status(status)
        await self.record_order_state(order_id, order_status, error=reason)

    async def record_adopted(self, position: PositionState) -> int:
        """Store a venue position the database did not know (reconcile): a trade with no entry
        order or fill of the cockpit's, so nothing pretends the cockpit opened it."""
        return await self._write(trade_rows.adopted_work(position, self._clock))

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
        return await self._write(
            trade_rows.open_work(order_id, fill, position, features, self._clock)
        )

    async def record_exit_fill(self, order_id: int, fill: Fill, position: PositionState) -> None:
        """Store an exit fill and the position after it; closes the trade if `position.closed`.

        On close: exit_price is the size-weighted average of all the trade's reduce-only fills,
        exit_ts_ms and exit_reason come from this (final) fill.
        """
        trade_id = require_trade_id(position)
        # This write carries the newest state; an older waiting snapshot must not follow it.
        self._positions.discard(trade_id)
        await self._write(
            trade_rows.exit_fill_work(trade_id, order_id, fill, position, self._clock)
        )

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
        work = trade_rows.stop_move_work(
            trade_id,
            old=old,
            new=new,
            role=stop_role,
            reason=reason,
            who=who,
            ts_ms=ts_ms,
            now_ms=self._clock(),
        )
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
        work = audit_rows.mode_change_work(from_mode, to_mode, who, reason, ts_ms, limits_json)
        await self._write(work)

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
        work = audit_rows.audit_work(kind, who, action, reason, ts_ms, detail_json, trade_id)
        return await self._write(work)

    async def record_alert(self, level: str, message: str, ts_ms: int) -> None:
        await self._write(audit_rows.alert_work(level, message, ts_ms))

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
        work = audit_rows.signal_work(
            symbol, side, ts_ms, accepted, reject_reason, features, trade_id
        )
        return await self._write(work)

    # ------------------------------------------------------------------ position snapshots
    def update_position(self, position: PositionState) -> None:
        """Mark the position's live state for the next flush; never blocks, never touches the
        database, copies nothing (the flush reads the fields then).

        Marks coalesce per trade id and are written by the writer at most every
        `flush_interval_s`. Positions without a trade id (not yet recorded) are ignored.
        Call it from the event loop's thread (it arms a loop timer).
        """
        trade_id = position.trade_id
        if trade_id is None:
            return
        if self._closed:
            log.warning("position #%s update after the store closed: dropped", trade_id)
            return
        self._positions.put(trade_id, position)

    def hold(self, trade_id: int) -> None:
        """Keep a trade out of the flushes while memory is ahead of the journal: from a fill
        booked on the position until `release`, once the fill's own row is written."""
        self._positions.hold(trade_id)

    def release(self, trade_id: int) -> None:
        self._positions.release(trade_id)

    async def flush(self) -> None:
        """Write every waiting snapshot now and return once committed (no-op after close)."""
        if self._closed:
            return
        await self._write(self._positions.write)

    # ------------------------------------------------------------------ candles and settings
    async def upsert_candles(self, candles: Sequence[Candle], source: str = "feed") -> int:
        """Insert or overwrite bars by (symbol, timeframe, ts_ms); returns the number of bars.

        Idempotent: a re-fetched bar replaces the stored one. Duplicate keys in one batch keep
        the last bar (PostgreSQL refuses to touch a row twice in one statement).
        """
        rows = candle_rows.candle_rows(candles, source)
        if not rows:
            return 0
        return await self._write(candle_rows.upsert_work(self._engine.dialect.name, rows))

    async def set_setting(self, key: str, value: str) -> None:
        """This account's setting `key` (another account's of the same key is left alone)."""
        await self._write(merger(SettingRow(key=key, account=self.account, value=value)))

    # ------------------------------------------------------------------ reads
    async def get_setting(self, key: str) -> str | None:
        async with self._read() as session:
            row = await session.get(SettingRow, (key, self.account))
            return None if row is None else row.value

    async def open_positions(self) -> list[PositionState]:
        """Every open trade rebuilt as a PositionState (plan, stop, flags, extremes, trade_id)."""
        return await trade_rows.open_positions(self._all, self.account)

    async def closed_trades(
        self, limit: int = 100, mode: Mode | None = None, *, after_id: int | None = None
    ) -> list[TradeSummary]:
        """Closed trades, newest exit first; only those of `mode` when given (in SQL, so shadow
        or imported trades can never crowd live ones out of the limit), and only ids above
        `after_id` when given."""
        return await trade_rows.closed_trades(self._all, limit, mode, self.account, after_id)

    async def last_trade_id(self) -> int:
        """The highest trade id so far (0 for an empty journal)."""
        return await trade_rows.last_trade_id(self._all)

    async def recent_audit(self, limit: int = 200) -> list[AuditRecord]:
        """Newest first."""
        return await audit_rows.recent_audit(self._all, limit, self.account)

    async def mode_changes(self, limit: int = 100) -> list[ModeChangeRecord]:
        """Newest first: the first row says which mode the last session ended in."""
        return await audit_rows.mode_changes(self._all, limit, self.account)

    async def recent_alerts(self, limit: int = 50) -> list[AlertRecord]:
        """Newest first."""
        return await audit_rows.recent_alerts(self._all, limit, self.account)

    async def fills_for(self, trade_id: int) -> list[FillRecord]:
        return await trade_rows.fills_for(self._all, trade_id)

    async def venue_orders(
        self,
        venue: str,
        statuses: Sequence[OrderStatus] = (OrderStatus.SUBMITTED, OrderStatus.OPEN),
    ) -> list[OrderRecord]:
        """The venue's orders in `statuses` (default: sent and not finished), oldest first:
        what a restart must find again on the venue before it sends anything."""
        return await order_rows.venue_orders(self._all, venue, statuses, self.account)

    async def unfinished_orders(self, venue: str | None = None) -> list[OrderRecord]:
        """Orders written or sent and not over (intent, would_submit, submitted, accepted,
        partially_filled), oldest first, of `venue` when given: what a start must settle
        (resume from `intent_json`, find on the venue, or `resolve_order`). Resting stops
        (`open`) are not listed: they are the stop doing its job, reconcile checks them."""
        return await order_rows.unfinished_orders(self._all, venue, self.account)

    async def order(self, order_id: int) -> OrderRecord:
        """One order row (what follows a venue's report about it is derived from it)."""
        return await order_rows.one_order(self._read, order_id)

    async def orders_for(self, trade_id: int) -> list[OrderRecord]:
        return await order_rows.orders_for(self._all, trade_id)

    async def stop_moves_for(self, trade_id: int) -> list[StopMoveRecord]:
        return await trade_rows.stop_moves_for(self._all, trade_id)

    async def candles(
        self, symbol: str, timeframe: str, since_ms: int | None = None, limit: int = 1000
    ) -> list[Candle]:
        """Bars in ascending time: the first `limit` from `since_ms` on, or, without `since_ms`,
        the latest `limit` (what a chart wants)."""
        return await candle_rows.candles(self._all, symbol, timeframe, since_ms, limit)

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

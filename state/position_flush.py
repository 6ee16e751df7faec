"""Throttled writes of the positions' live state: a dirty mark per tick, one statement per flush.

`Store.update_position` runs for every open position on every tick, so it only marks the position
dirty (a dict entry holding a reference: no copy, no allocation once the trade is marked). A loop
timer, armed by the first mark, queues one writer job after `interval_s`; the job reads each
dirty position's live fields once, as they are then, and writes them all with one executemany
UPDATE. `Store.flush()` and `Store.close()` run the same job at once. A failed write marks its
positions dirty again, is logged once until it recovers, and the timer retries it next interval,
so a persistent error neither loses the latest state nor floods the log every tick.

Reading the position at flush time writes the newest state, never an older one. The one thing it
must not write is a state *ahead* of the journal: between a fill booked in memory and the fill's
own row, the position's size and P&L already show the fill. `hold(trade_id)` keeps such a trade
out of the flushes until `release(trade_id)` (the execution router holds it around the write).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.domain import PositionState
from state.mapping import live_fields
from state.models import Trade
from state.records import TradeStatus
from state.writer import SingleWriter

# The store's log: these failures are the store's, whichever module holds the code (operators
# and tests filter on this name).
log = logging.getLogger("state.store")


def _update_open_trades(columns: list[str]) -> Update:
    """One UPDATE for every dirty trade, run as an executemany. Only open trades: a closed
    trade's final state came with its exit fill. The bind names are prefixed because SQLAlchemy
    reserves a column's own name for the SET clause."""
    table = cast(Table, Trade.__table__)
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status == TradeStatus.OPEN.value)
        .values({name: bindparam(f"b_{name}") for name in columns})
    )


class PositionFlusher:
    """Owns the dirty marks, the flush timer and the 'flush failing' state of one Store."""

    def __init__(
        self, writer: SingleWriter, *, interval_s: float, clock: Callable[[], int]
    ) -> None:
        self._writer = writer
        self._interval_s = interval_s
        self._clock = clock
        self._dirty: dict[int, PositionState] = {}
        self._held: set[int] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False
        self._failing = False
        self._statement: Update | None = None

    def put(self, trade_id: int, position: PositionState) -> None:
        """Mark `position` (its `trade_id`) dirty; arm the timer if it is not."""
        self._dirty[trade_id] = position
        if self._timer is None:
            self._arm_timer()

    def discard(self, trade_id: int) -> None:
        """A write carrying the trade's newest state was just queued: nothing left to flush."""
        self._dirty.pop(trade_id, None)

    def hold(self, trade_id: int) -> None:
        """Keep the trade out of flushes: memory is ahead of the journal (a fill not written)."""
        self._held.add(trade_id)

    def release(self, trade_id: int) -> None:
        self._held.discard(trade_id)

    def stop(self) -> None:
        """The store is closing: cancel the timer and never arm it again."""
        self._stopped = True
        self.cancel_timer()

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _take(self) -> dict[int, PositionState]:
        held = self._held
        if not held:
            taken, self._dirty = self._dirty, {}
            return taken
        taken = {tid: pos for tid, pos in self._dirty.items() if tid not in held}
        self._dirty = {tid: pos for tid, pos in self._dirty.items() if tid in held}
        return taken

    async def write(self, session: AsyncSession) -> None:
        """Writer job: every dirty trade in one statement, committed here so a failure can
        mark them dirty again."""
        positions = self._take()
        # Whatever arrives from now on belongs to the next interval.
        self.cancel_timer()
        if not positions:
            if self._dirty:
                self._arm_timer()  # held ones: written once their fill is
            return
        now = self._clock()
        rows: list[dict[str, Any]] = []
        for trade_id, position in positions.items():
            fields = live_fields(position)
            row = {f"b_{name}": value for name, value in fields.items()}
            row["b_id"] = trade_id
            row["b_updated_at_ms"] = now
            rows.append(row)
        if self._statement is None:
            self._statement = _update_open_trades([*live_fields(position), "updated_at_ms"])
        try:
            await session.execute(self._statement, rows)
            await session.commit()
        except Exception as exc:
            await session.rollback()
            for trade_id, position in positions.items():
                self._dirty.setdefault(trade_id, position)
            if not self._failing:
                log.error("position snapshot flush failed (will retry): %s", exc)
            self._failing = True
            raise
        if self._failing:
            log.info("position snapshot flush recovered")
            self._failing = False
        if self._dirty:
            self._arm_timer()

    def _due(self) -> None:
        self._timer = None
        if self._writer.accepting:
            self._writer.submit_nowait(self._write_quietly)

    async def _write_quietly(self, session: AsyncSession) -> None:
        """Timer flush: nobody awaits it, and `write` already logged the failure (once, until
        it recovers), so a persistent error does not flood the log every tick."""
        try:
            await self.write(session)
        except Exception:
            self._arm_timer()  # retry next interval even if no new update arrives

    def _arm_timer(self) -> None:
        if self._timer is None and self._dirty and not self._stopped:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._interval_s, self._due)

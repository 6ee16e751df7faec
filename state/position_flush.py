"""Throttled writes of the positions' live state: the `SnapshotBuffer` and the timer that drains it.

`Store.update_position` hands positions here on every tick; this never touches the database
itself. A loop timer, armed by the first waiting snapshot, queues one writer job after
`interval_s` that writes every waiting trade (one UPDATE each) and commits. `Store.flush()` and
`Store.close()` run the same job at once. A failed write puts its snapshots back (unless newer
ones arrived), is logged once until it recovers, and the timer retries it next interval, so a
persistent error neither loses the latest state nor floods the log every tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from cockpit.domain import PositionState, StopRole
from state.mapping import live_fields
from state.models import Trade
from state.records import TradeStatus
from state.snapshots import SnapshotBuffer
from state.writer import SingleWriter

# The store's log: these failures are the store's, whichever module holds the code (operators
# and tests filter on this name).
log = logging.getLogger("state.store")


class PositionFlusher:
    """Owns the snapshot buffer, the flush timer and the 'flush failing' state of one Store."""

    def __init__(
        self, writer: SingleWriter, *, interval_s: float, clock: Callable[[], int]
    ) -> None:
        self._writer = writer
        self._interval_s = interval_s
        self._clock = clock
        self._snapshots = SnapshotBuffer()
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False
        self._failing = False

    def put(self, position: PositionState) -> None:
        """Keep a copy of `position` (it has a trade id) and arm the timer if it is not."""
        self._snapshots.put(position)
        if self._timer is None:
            self._arm_timer()

    def discard(self, trade_id: int) -> None:
        """A write carrying the trade's newest state was just queued: drop its older snapshot."""
        self._snapshots.discard(trade_id)

    def patch_stop(self, trade_id: int, stop: float, role: StopRole) -> None:
        """A stop move is written directly: a waiting snapshot must not put the old stop back."""
        self._snapshots.patch_stop(trade_id, stop, role)

    def stop(self) -> None:
        """The store is closing: cancel the timer and never arm it again."""
        self._stopped = True
        self.cancel_timer()

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def write(self, session: AsyncSession) -> None:
        """Writer job: one UPDATE per waiting trade, committed here so a failure can restore."""
        snapshots = self._snapshots.take()
        # Whatever arrives from now on belongs to the next interval.
        self.cancel_timer()
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
            if not self._failing:
                log.error("position snapshot flush failed (will retry): %s", exc)
            self._failing = True
            raise
        if self._failing:
            log.info("position snapshot flush recovered")
            self._failing = False

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
        if self._timer is None and len(self._snapshots) and not self._stopped:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._interval_s, self._due)

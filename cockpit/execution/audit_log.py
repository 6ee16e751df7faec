"""Audit rows: every mode change, refusal, confirmation and manual action, in two strengths.

Most rows go through the durable queue (`execution/durable.py`): a database that fails the write
does not stop the action the row describes (a close must still be tried: its own order row
decides whether it goes out), and the row is written, in order, once the database recovers.
An action that adds risk back (resuming entries) must not happen unrecorded: `now` writes its
row at once or raises, and the caller does not act.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cockpit.execution.durable import DurableWrites
    from state.store import Store


class AuditLog:
    """Callable like `execution.commands.Audit` (queued, durable); `now` for the strict kind."""

    def __init__(
        self,
        store: Callable[[], Store | None],
        durable: Callable[[], DurableWrites],
        clock: Callable[[], int],
    ) -> None:
        self._store = store
        self._durable = durable
        self._clock = clock

    async def __call__(
        self,
        kind: str,
        who: str,
        action: str,
        reason: str,
        detail_json: str | None = None,
        *,
        trade_id: int | None = None,
    ) -> None:
        store = self._store()
        if store is None:
            return
        ts_ms = self._clock()

        async def write() -> None:
            await store.record_audit(kind, who, action, reason, ts_ms, detail_json, trade_id)

        await self._durable().write(f"audit: {action}", write)

    async def now(
        self,
        kind: str,
        who: str,
        action: str,
        reason: str,
        detail_json: str | None = None,
        *,
        trade_id: int | None = None,
    ) -> None:
        """Written now or raising (no store: the session is not running)."""
        store = self._store()
        if store is None:
            raise RuntimeError("the session is not running: nothing can be recorded")
        await store.record_audit(kind, who, action, reason, self._clock(), detail_json, trade_id)

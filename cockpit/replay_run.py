"""A replay as a run: recorded when it begins, summed up when its data ends.

The session owns one `ReplayRun`. At start it notes the last trade id on record (this run's
trades are the ones above it) and, for `cockpit replay FILE`, writes a `replay_runs` row so the
run has its own id. When the data ends it computes the run's result (its own trades only, with
the decision gates over them, computed in a worker thread), stores it on the run's row and hands
it to the UI, where it stays on screen until the trader closes it.

Recording is a courtesy to the trader, never a condition of trading: a database that fails here
is said in the event log and the replay plays on (the run then has no id).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable, Sequence

from cockpit.config import Settings
from cockpit.domain import PositionState
from cockpit.execution.errors import first_line
from cockpit.replay_summary import ReplayResult, replay_result
from state.store import Store

log = logging.getLogger(__name__)


class ReplayRun:
    """This session's run of a replay file (or, with no source, only its trade boundary)."""

    def __init__(self, source: str | None, event: Callable[[str, str], None]) -> None:
        self.source = source
        self._event = event
        self.after_trade_id = 0
        self.run_id: int | None = None

    def owns(self, trade_id: int | None) -> bool:
        """Whether a trade was opened in this run."""
        return (trade_id or 0) > self.after_trade_id

    async def begin(self, store: Store) -> None:
        self.after_trade_id = await store.last_trade_id()
        if self.source is None:
            return
        # state.run_rows brings the analytics (numpy): imported off the event loop
        await asyncio.to_thread(importlib.import_module, "state.run_rows")
        from state.run_rows import begin_run

        try:
            self.run_id = await begin_run(
                store,
                self.source,
                after_trade_id=self.after_trade_id,
                now_ms=time.time_ns() // 1_000_000,
            )
        except Exception as exc:  # the run's record is a courtesy; the replay plays on
            log.exception("replay run not recorded")
            self._event("error", f"this replay run could not be recorded: {first_line(exc)}")

    async def finish(
        self,
        store: Store,
        positions: Sequence[PositionState],
        settings: Settings,
        data_end_ms: int | None,
    ) -> ReplayResult | None:
        """The run's result (None when its trades cannot be read: said in the event log)."""
        # The analytics (numpy, scipy) load off the event loop, like the history's.
        await asyncio.to_thread(importlib.import_module, "cockpit.analytics.snapshot")
        from cockpit.analytics.present import gate_line
        from cockpit.analytics.snapshot import snapshot_for
        from state.run_rows import finish_run, run_trade_records

        try:
            trades = await store.closed_trades(limit=1_000_000, after_id=self.after_trade_id)
            records = await run_trade_records(store, self.after_trade_id)
        except Exception as exc:
            log.exception("replay summary not read")
            self._event(
                "error", f"replay finished; its summary could not be read: {first_line(exc)}"
            )
            return None
        snapshot = await asyncio.to_thread(snapshot_for, records, settings)
        result = replay_result(
            trades,
            sum(1 for p in positions if self.owns(p.trade_id) and not p.closed),
            run_id=self.run_id,
            source=self.source or "",
            data_end_ms=data_end_ms,
            gates=[gate_line(g) for g in snapshot.gates],
        )
        if self.run_id is not None:
            try:
                await finish_run(
                    store,
                    self.run_id,
                    data_end_ms=data_end_ms,
                    trades=result.trades,
                    net_pnl=result.net_pnl,
                    summary=result.line,
                )
            except Exception as exc:
                log.exception("replay run result not stored")
                self._event(
                    "error",
                    f"replay run {self.run_id}: its result was not stored: {first_line(exc)}",
                )
        return result

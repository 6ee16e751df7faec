"""The counterfactual ledger never computes on the event loop: the policies run in a worker
thread. Nothing here is timed: the computation waits for the loop to answer, which it can only
do if it is not on the loop (on the loop it would give up after 60 s and the test fails)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

from cockpit.backtest.ledger import LedgerSet
from cockpit.backtest.ledger_job import Ledger, Work
from cockpit.config import Settings
from state.ledger_rows import LedgerRow, PathFacts, rows_for
from state.store import Store
from tests.state.factories import T0
from tests.state.test_ledger import RALLY, bars_from, closed_trade


class WaitsForTheLoop(Ledger):
    """A real ledger whose computation first waits until the event loop has run a callback."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(Settings(), lambda: store, lambda lvl, t: None, lambda: T0)
        self.loop = loop
        self.loop_ran_meanwhile: list[bool] = []
        self.threads: set[int] = set()

    def compute(
        self, work: Work, sets: Sequence[LedgerSet]
    ) -> tuple[list[LedgerRow], list[PathFacts]]:
        self.threads.add(threading.get_ident())
        answered = threading.Event()
        self.loop.call_soon_threadsafe(answered.set)
        self.loop_ran_meanwhile.append(answered.wait(timeout=60))
        return super().compute(work, sets)


async def test_the_loop_runs_while_the_ledger_computes(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'journal.db'}")
    try:
        position = await closed_trade(store, "ck-1", exit_price=153.0)
        await store.upsert_candles(bars_from(RALLY))
        lab = WaitsForTheLoop(store, asyncio.get_running_loop())
        assert await lab.refresh() == 1
        assert lab.loop_ran_meanwhile == [True], "the ledger computed on the event loop"
        assert threading.get_ident() not in lab.threads
        assert position.trade_id is not None
        assert len(await rows_for(store, position.trade_id)) == 4
    finally:
        await store.close()

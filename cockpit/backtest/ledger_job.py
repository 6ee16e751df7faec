"""Keeps the counterfactual ledger in step with the journal, in the background.

After each close (`kick`) and every `interval_s` (new candles arrive by the minute), one pass
(none at all with `[ledger] enabled = false`; `cockpit backtest --journal` still runs one):
the database says which closed trades lack a row for a configured set, or wait for candles that
have since arrived; their inputs and bars are read a page at a time (short awaits on the event
loop), the policies run in a worker thread (`cockpit.backtest.ledger`, which imports numba:
only there, so the cockpit starts without it), and each batch of trades is written in one
transaction. A database that fails a write leaves the batch out entirely; it is said once in
the event log and the pass is tried again with backoff. Nothing here runs per tick.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from adapters.backoff import Backoff
from cockpit.backtest.ledger_window import Bar, LedgerWindow
from cockpit.config import Settings
from cockpit.memory import freeze_long_lived
from state.errors import StoreClosedError
from state.ledger_rows import (
    LedgerRow,
    PathFacts,
    TradeInput,
    newest_bar_ms,
    path_bars,
    trade_inputs,
    work_to_do,
    write_ledger,
)
from state.ledger_totals import LedgerTotals, summary
from state.store import Store

if TYPE_CHECKING:
    from cockpit.backtest.ledger import LedgerSet

log = logging.getLogger(__name__)

Work = list[tuple[TradeInput, list[Bar]]]


def _ranges(
    trades: Sequence[TradeInput], window: LedgerWindow
) -> list[tuple[str, int, int, list[TradeInput]]]:
    """(symbol, first ms, end ms, trades) per run of trades whose windows overlap."""
    out: list[tuple[str, int, int, list[TradeInput]]] = []
    for trade in sorted(trades, key=lambda t: (t.symbol, t.entry_ts_ms)):
        end = window.end_ms(trade)
        if out and out[-1][0] == trade.symbol and trade.entry_ts_ms <= out[-1][2]:
            symbol, first, last, members = out[-1]
            out[-1] = (symbol, first, max(last, end), [*members, trade])
        else:
            out.append((trade.symbol, trade.entry_ts_ms, end, [trade]))
    return out


def _compute(
    work: Work, sets: Sequence[LedgerSet], window: LedgerWindow
) -> tuple[list[LedgerRow], list[PathFacts]]:
    """Each trade on its own window of the bars read for its range (sliced here, off-loop)."""
    from cockpit.backtest.ledger import run_trade

    rows: list[LedgerRow] = []
    paths: list[PathFacts] = []
    times: dict[int, list[int]] = {}
    for trade, bars in work:
        ts = times.get(id(bars))
        if ts is None:
            ts = times[id(bars)] = [b[0] for b in bars]
        a = bisect.bisect_left(ts, trade.entry_ts_ms)
        b = bisect.bisect_left(ts, window.end_ms(trade))
        trade_rows, facts = run_trade(trade, bars[a:b], sets, window)
        rows += trade_rows
        paths.append(facts)
    return rows, paths


def _settled(
    facts: PathFacts, newest: dict[str, int | None], trade: TradeInput, window: LedgerWindow
) -> PathFacts:
    """A path is final once the recorder was past its window when it ran: only a backfill of
    a gap inside the window could add bars then, and the ledger does not wait for one."""
    latest = newest.get(trade.symbol)
    if facts.complete or latest is None or latest < window.end_ms(trade):
        return facts
    return replace(facts, complete=True)


def _sets(settings: Settings) -> list[LedgerSet]:
    from cockpit.backtest.ledger import ledger_sets

    return ledger_sets(settings)


class Ledger:
    """The session's ledger: `run()` as a task, `kick()` after a close, `totals` to show."""

    def __init__(
        self,
        settings: Settings,
        store: Callable[[], Store | None],
        event: Callable[[str, str], None],
        clock: Callable[[], int],
        *,
        interval_s: float = 60.0,
        batch: int = 20,
        retry_initial_s: float = 5.0,
        retry_max_s: float = 300.0,
    ) -> None:
        self._settings = settings
        self._window = LedgerWindow.of(settings.ledger)
        self._store = store
        self._event = event
        self._clock = clock
        self._interval_s = interval_s
        self._batch = batch
        self._retry = Backoff(retry_initial_s, max(retry_initial_s, retry_max_s))
        self._wake = asyncio.Event()
        self.sets: list[LedgerSet] | None = None
        self.totals: LedgerTotals | None = None
        self.version = 0
        """Counts passes that completed (the screens redraw on a change; tests wait on it)."""
        self.failing: str | None = None
        self._tried: dict[int, int] = {}
        """Waiting trade -> the symbol's newest bar when it was last run (no re-run without a
        newer one)."""
        self.computed_last = 0

    @property
    def keys(self) -> list[str] | None:
        return None if self.sets is None else [s.key for s in self.sets]

    @property
    def own_key(self) -> str | None:
        return None if self.sets is None else self.sets[-1].key

    def compute(
        self, work: Work, sets: Sequence[LedgerSet]
    ) -> tuple[list[LedgerRow], list[PathFacts]]:
        """The policies over a batch of trades: runs in a worker thread, never on the loop."""
        return _compute(work, sets, self._window)

    def kick(self) -> None:
        """A trade closed (or candles arrived): run a pass soon."""
        self._wake.set()

    async def run(self) -> None:
        if not self._settings.ledger.enabled:
            return  # [ledger] enabled = false: no pass in the background
        while True:
            wait = self._interval_s
            try:
                await self.refresh()
            except StoreClosedError:
                return
            except Exception as exc:  # the ledger must never stop the cockpit
                log.warning("counterfactual ledger pass failed: %s", exc)
                if self.failing is None:
                    self._event("warning", f"counterfactual ledger not written ({exc}); retrying")
                self.failing = str(exc)
                wait = self._retry.next_delay()
            else:
                self._retry.reset()
                if self.failing is not None:
                    self.failing = None
                    self._event("info", "counterfactual ledger written again")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()

    async def refresh(self) -> int:
        """One pass; returns how many trades were (re)computed. Raises what the database
        raised (nothing of a failed batch is written)."""
        store = self._store()
        if store is None:
            return 0
        if self.sets is None:
            self.sets = await asyncio.to_thread(_sets, self._settings)
            freeze_long_lived("ledger")  # numba's heap: no full collection walks it from now on
        sets = self.sets
        keys = [s.key for s in sets]
        missing, pending = await work_to_do(store, keys)
        todo = list(missing)
        waiting = await trade_inputs(store, sorted(pending.keys() - set(missing)))
        todo += await self._due(store, waiting, pending)
        done = 0
        for start in range(0, len(todo), self._batch):
            trades = await trade_inputs(store, todo[start : start + self._batch])
            work: Work = []
            newest: dict[str, int | None] = {}
            for symbol, first_ms, end_ms, members in _ranges(trades, self._window):
                # one read for trades whose windows overlap: each bar crosses over once
                bars = await path_bars(store, symbol, self._window.timeframe, first_ms, end_ms)
                work += [(trade, bars) for trade in members]
                if symbol not in newest:
                    newest[symbol] = await newest_bar_ms(store, symbol, self._window.timeframe)
            rows, paths = await asyncio.to_thread(self.compute, work, sets)
            by_id = {t.id: t for t in trades}
            paths = [_settled(p, newest, by_id[p.trade_id], self._window) for p in paths]
            await write_ledger(store, rows, paths, self._clock())
            for trade in trades:
                seen = newest.get(trade.symbol)
                if seen is not None:
                    self._tried[trade.id] = seen
            done += len(trades)
        assert self.own_key is not None
        self.computed_last = done
        if done == 0 and self.totals is not None:
            return 0  # nothing changed: the totals stand
        self.totals = await summary(store, keys, self.own_key)
        self.version += 1
        return done

    async def _due(
        self, store: Store, waiting: Sequence[TradeInput], pending: dict[int, int | None]
    ) -> list[int]:
        """The waiting trades whose symbol has a bar newer than their path's last one, and
        newer than when they were last run."""
        newest: dict[str, int | None] = {}
        due = []
        for trade in waiting:
            if trade.symbol not in newest:
                newest[trade.symbol] = await newest_bar_ms(
                    store, trade.symbol, self._window.timeframe
                )
            latest = newest[trade.symbol]
            last = pending.get(trade.id)
            floor = last if last is not None else trade.entry_ts_ms - 1
            tried = self._tried.get(trade.id)
            if latest is None or latest <= floor or tried == latest:
                continue
            if tried is not None and tried >= self._window.end_ms(trade):
                continue  # the recorder was past its window then: only a backfill would help
            due.append(trade.id)
        return due

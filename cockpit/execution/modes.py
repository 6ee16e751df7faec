"""SHADOW and LIVE-SMALL: the switches, their audit rows, and the risk state rebuilt at start.

The rules themselves are in `cockpit.risk` (the one gate); this module carries them out for a
session: it asks the gate, writes the mode change and its audit row, says it in the log, and
refuses (audited) what the gate refuses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from adapters.base import MarketFeed
from cockpit.domain import FeedState, Mode, PositionState
from cockpit.execution.commands import Audit
from cockpit.execution.events import LatestState
from cockpit.execution.venues import Venues
from cockpit.risk import NO_LIVE_VENUE, ModeChange, ModeRefused, RiskGate
from state.errors import StoreClosedError
from state.store import Store

DurableWrite = Callable[[str, Callable[[], Awaitable[object]]], Awaitable[bool]]


class Modes:
    """Mode switches for one session."""

    def __init__(
        self,
        risk: RiskGate,
        latest: LatestState,
        venues: Venues,
        feed: MarketFeed,
        wallet: str | None,
        *,
        store: Callable[[], Store],
        audit: Audit,
        durable: DurableWrite,
        event: Callable[[str, str], None],
        clock: Callable[[], int],
    ) -> None:
        self.risk = risk
        self.latest = latest
        self.venues = venues
        self.feed = feed
        self.wallet = wallet
        self.require_store = store
        self.audit = audit
        self.durable = durable
        self.event = event
        self.clock = clock

    def live_precondition(self) -> str | None:
        """Why LIVE-SMALL cannot be entered right now (None if it can), before any typing."""
        if self.venues.down is not None:
            return self.venues.down
        if self.venues.live is None:
            return NO_LIVE_VENUE
        if self.wallet is None:
            return "no wallet is configured"
        status = self.feed.status
        if status.simulated:
            return "the feed is simulated or a replay: LIVE-SMALL needs the live market"
        if status.state is not FeedState.CONNECTED:
            return f"the feed is {status.state.value}: LIVE-SMALL needs a healthy feed"
        return None

    async def enter_live(self, typed: str, who: str = "user") -> None:
        """Switch to LIVE-SMALL after the typed confirmation; refusals are audited and raised."""
        status = self.feed.status
        try:
            change = self.risk.enter_live(
                typed=typed,
                live_broker=self.venues.live is not None,
                wallet=self.wallet is not None,
                feed_healthy=status.state is FeedState.CONNECTED and not status.simulated,
                who=who,
                now_ms=self.clock(),
            )
        except ModeRefused as exc:
            await self.audit("refusal", who, "enter LIVE-SMALL", str(exc))
            self.event("error", f"LIVE-SMALL refused: {exc}")
            raise
        try:
            await self._write(change)
        except StoreClosedError:
            self.risk.undo(change)
            raise
        except Exception as exc:  # a database that fails the row: LIVE-SMALL is not entered
            self.risk.undo(change)
            reason = f"the database did not take the mode change ({exc}); still SHADOW"
            await self.audit("refusal", who, "enter LIVE-SMALL", reason)
            self.event("error", f"LIVE-SMALL refused: {reason}")
            raise ModeRefused(reason) from exc
        await self._record(change)
        await self.audit(
            "confirmation", who, "typed LIVE", "entered LIVE-SMALL", change.limits_json
        )

    async def leave_live(self, who: str = "user", reason: str = "back to SHADOW") -> None:
        """Back to SHADOW at once, whatever the database does (its row follows when it can);
        open live positions stay listed and managed on their venue."""
        change = self.risk.leave_live(who=who, reason=reason, now_ms=self.clock())
        await self.durable(f"mode change {change.from_mode.value} -> SHADOW", self._writer(change))
        await self._record(change)

    def _writer(self, change: ModeChange) -> Callable[[], Awaitable[None]]:
        async def write() -> None:
            await self._write(change)

        return write

    async def _write(self, change: ModeChange) -> None:
        await self.require_store().record_mode_change(
            change.from_mode,
            change.to_mode,
            change.who,
            change.reason,
            change.ts_ms,
            change.limits_json,
        )

    async def _record(self, change: ModeChange) -> None:
        """The change is written (or queued): the session wears it, audits and says it."""
        self.latest.mode = change.to_mode
        self.latest.touch()
        await self.audit(
            "mode_change",
            change.who,
            f"{change.from_mode.value} -> {change.to_mode.value}",
            change.reason,
            change.limits_json,
        )
        level = "warning" if change.to_mode is Mode.LIVE_SMALL else "info"
        self.event(
            level,
            f"mode {change.from_mode.value} -> {change.to_mode.value} "
            f"by {change.who}: {change.reason}",
        )

    async def note_forced_shadow(self) -> None:
        """Every start is SHADOW; if the last session ended in LIVE-SMALL, say so and audit it."""
        store = self.require_store()
        changes = await store.mode_changes(limit=1)
        if changes and changes[0].to_mode == Mode.LIVE_SMALL.value:
            reason = "restart: every start is SHADOW"
            await store.record_mode_change(
                Mode.LIVE_SMALL, Mode.SHADOW, "system", reason, self.clock()
            )
            await self.audit("mode_change", "system", "live_small -> shadow", reason)
            self.event("warning", "the last session ended in LIVE-SMALL; this one starts in SHADOW")

    async def restore_risk_state(self, open_positions: list[PositionState]) -> None:
        """A restart must not reset the LIVE-SMALL cooldown or today's loss stop: rebuild both
        from the live trades on record (closed trades' net P&L by exit time, last live entry)."""
        closed = await self.require_store().closed_trades(limit=1000, mode=Mode.LIVE_SMALL)
        for trade in sorted(closed, key=lambda t: t.exit_ts_ms or 0):
            if trade.exit_ts_ms is not None:
                self.risk.record_realized(trade.realized_pnl - trade.fees, trade.exit_ts_ms)
        entries = [t.entry_ts_ms for t in closed]
        entries += [p.opened_ms for p in open_positions if p.mode is Mode.LIVE_SMALL]
        if entries:
            self.risk.record_entry(max(entries))

"""The trader's actions on a position: close, close part, move the stop, trail, stop on chain.

Each one checks that the cockpit manages the position, applies the engine's manual rules
(engine/manual.py: never a stop through the mark, loosening only when confirmed), writes an audit
row and the log line, and goes through the router like every other order. A refusal is audited
and logged here, once, and raised as `OrderRejected` for the UI to show.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import NoReturn, Protocol

from cockpit.domain import ExitReason, MoveStop, PositionState, Tick
from cockpit.engine.manual import ManualRefused, apply_manual_stop, apply_trail_mult, close_size
from cockpit.execution.book import PositionBook
from cockpit.execution.errors import OrderRejected
from cockpit.execution.router import Router
from cockpit.execution.venues import Venues


class Audit(Protocol):
    def __call__(
        self,
        kind: str,
        who: str,
        action: str,
        reason: str,
        detail_json: str | None = None,
        *,
        trade_id: int | None = None,
    ) -> Awaitable[None]: ...


class Commands:
    """Manual commands on open positions (the entry ticket is in `cockpit.execution.entry`)."""

    def __init__(
        self,
        book: PositionBook,
        router: Router,
        venues: Venues,
        last_tick: dict[str, Tick],
        audit: Audit,
        event: Callable[[str, str], None],
        clock: Callable[[], int],
    ) -> None:
        self.book = book
        self.router = router
        self.venues = venues
        self.last_tick = last_tick
        self.audit = audit
        self.event = event
        self.clock = clock
        # Why this cockpit acts on nothing any more (another one holds its account), or None.
        self.stood_down: Callable[[], str | None] = lambda: None

    def managed(self, trade_id: int) -> PositionState:
        """The open position a manual command is for, if this session manages it."""
        handed_over = self.stood_down()
        if handed_over is not None:
            raise OrderRejected(handed_over)
        pos = self.book.find(trade_id)
        if pos is None:
            raise OrderRejected(f"no open position #{trade_id}")
        if self.venues.route(pos) is None:
            raise OrderRejected(
                f"#{trade_id} is on {pos.venue}, which is not connected: it is listed, not managed"
            )
        blocked = self.venues.blocked(pos)
        if blocked is not None:
            raise OrderRejected(f"#{trade_id}: {blocked}; resolve it on the venue first")
        return pos

    def mark_price(self, pos: PositionState) -> float:
        """The price manual rules are checked against: the newest tick, else the last seen."""
        tick = self.last_tick.get(pos.symbol)
        if tick is not None:
            return tick.price
        if pos.last_price is not None:
            return pos.last_price
        raise OrderRejected(f"no price for {pos.symbol} yet; wait for the feed")

    async def close_now(self, trade_id: int, who: str = "user") -> None:
        """Close what is left of a position now, at market, reduce-only."""
        pos = self.managed(trade_id)
        self._refuse_while_exit_pending(pos)
        await self.audit(
            "manual_action",
            who,
            f"close #{trade_id} now",
            "market close, reduce-only",
            trade_id=trade_id,
        )
        await self._close(pos, pos.size, who)

    async def close_part(
        self, trade_id: int, percent: float, who: str = "user", why: str = ""
    ) -> None:
        """Close `percent` % of what is left now, at market, reduce-only (100: all of it)."""
        pos = self.managed(trade_id)
        self._refuse_while_exit_pending(pos)
        try:
            size = close_size(pos, percent, min_order_size=self.venues.min_order_size(pos))
        except ManualRefused as exc:
            await self._refuse(pos, who, f"close {percent:g} % of #{trade_id}", exc)
        detail = json.dumps({"percent": percent, "size": size, "size_before": pos.size})
        await self.audit(
            "manual_action",
            who,
            f"close {percent:g} % of #{trade_id} now ({size:.6g} of {pos.size:.6g})",
            why or "market close, reduce-only",
            detail,
            trade_id=trade_id,
        )
        await self._close(pos, size, who)

    async def _close(self, pos: PositionState, size: float, who: str) -> None:
        route = self.venues.route(pos)
        assert route is not None  # managed() checked it
        await self.router.close(
            route.venue, route.mode, pos, size, ExitReason.MANUAL_CLOSE.value, who
        )

    async def move_stop(
        self,
        trade_id: int,
        new_stop: float,
        *,
        confirm_loosen: bool = False,
        who: str = "user",
        why: str = "",
    ) -> MoveStop:
        """Set a position's stop by hand; audited, logged and written at once."""
        pos = self.managed(trade_id)
        mark = self.mark_price(pos)
        try:
            move = apply_manual_stop(pos, new_stop, mark, confirm_loosen=confirm_loosen)
        except ManualRefused as exc:
            await self._refuse(pos, who, f"move stop of #{trade_id} to {new_stop:g}", exc)
        reason = f"{move.reason}: {why}" if why else move.reason
        await self.router.record_stop_move(
            pos, MoveStop(move.old, move.new, move.role, reason), who, self.clock()
        )
        detail = {
            "from": move.old,
            "to": move.new,
            "mark": mark,
            "loosened": "loosen" in move.reason,
            "trail_paused": pos.trail_paused,
        }
        await self.audit(
            "manual_action",
            who,
            f"move stop of #{trade_id} {move.old:.4f} -> {move.new:.4f}",
            reason,
            json.dumps(detail),
            trade_id=trade_id,
        )
        await self._persist(pos)
        keeper = self.venues.keeper_of(pos)
        if keeper is not None:
            keeper.stop_changed(pos)
        if pos.trail_paused:
            self.event("stop", f"#{trade_id} trailing paused by the manual stop")
        return move

    async def set_trail_mult(
        self, trade_id: int, mult: float, who: str = "user", why: str = ""
    ) -> None:
        """Change the runner's trailing multiple (k x ATR) and resume a paused trail."""
        pos = self.managed(trade_id)
        try:
            old, new = apply_trail_mult(pos, mult)
        except ManualRefused as exc:
            await self._refuse(pos, who, f"trailing multiple of #{trade_id} to {mult:g}", exc)
        old_text = "none" if old is None else f"{old:g}"
        await self.audit(
            "manual_action",
            who,
            f"trailing multiple of #{trade_id} {old_text} -> {new:g} x ATR",
            why or "trail changed by hand; the engine applies it only where it tightens",
            json.dumps({"from": old, "to": new, "atr": pos.plan.atr}),
            trade_id=trade_id,
        )
        await self._persist(pos)
        self.event("stop", f"#{trade_id} trailing {old_text} -> {new:g} x ATR by {who}")

    async def put_stop_on_chain(self, trade_id: int, who: str = "user") -> None:
        """Put the venue's stop where the engine's stop is, now (after a start-up difference
        was shown, or while the chain is behind). Audited; only on a venue with on-chain stops."""
        pos = self.managed(trade_id)
        keeper = self.venues.keeper_of(pos)
        if keeper is None:
            raise OrderRejected(f"#{trade_id} is on {pos.venue}: it has no on-chain stop")
        await self.audit(
            "manual_action",
            who,
            f"put the on-chain stop of #{trade_id} at {pos.stop:.4f}",
            "trader asked to bring the venue's stop in step with the engine's",
            trade_id=trade_id,
        )
        keeper.put_in_step(trade_id)
        await keeper.sync_stops()

    async def _persist(self, pos: PositionState) -> None:
        store = self.router.require_store()
        store.update_position(pos)
        await self.router.durable.write(f"position #{pos.trade_id}", store.flush)

    def _refuse_while_exit_pending(self, pos: PositionState) -> None:
        keeper = self.venues.keeper_of(pos)
        if keeper is not None and keeper.exit_pending(pos.trade_id):
            raise OrderRejected(
                f"an exit of #{pos.trade_id} is placed on {pos.venue} and not confirmed yet; "
                "wait for it (a second exit could close more than you meant)"
            )

    async def _refuse(self, pos: PositionState, who: str, action: str, exc: Exception) -> NoReturn:
        await self.audit("refusal", who, action, str(exc), trade_id=pos.trade_id)
        self.event("error", f"refused: {exc}")
        raise OrderRejected(str(exc)) from exc

"""The keys that act on positions: the order ticket (`l`, `s`) and the management of the selected
position (`c` close, `e` stop, `r` part, `t` trail, `o` stop back on chain).

Each asks the trader in a dialog, then calls the session's command in an "orders" worker; a
refusal is said once in the event log and as a toast. All trading logic stays in the session.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from textual.app import App

from cockpit.config import POLICY_NAMES
from cockpit.domain import Mode, PositionState, Side
from cockpit.engine.manual import StopInput, effective_trail_mult
from cockpit.execution.errors import EntryPending, OrderRejected
from cockpit.runner_preview import (
    Preview,
    close_preview,
    stop_preview,
    trail_preview,
    trail_refusal,
)
from cockpit.screens.dashboard import DashboardScreen
from widgets.confirm import ConfirmDialog
from widgets.order_ticket import OrderTicket, TicketRequest
from widgets.runner_dialogs import (
    AmountRequest,
    ClosePartDialog,
    MoveStopDialog,
    StopRequest,
    TrailDialog,
)

if TYPE_CHECKING:
    from cockpit.session import Session


class PositionKeys:
    """The ticket and the runner dialogs, and the session commands they end in."""

    def __init__(self, app: App[None], session: Callable[[], Session | None]) -> None:
        self._app = app
        self._session = session

    def _orders(self, job: Coroutine[Any, Any, None]) -> None:
        self._app.run_worker(job, group="orders", exclusive=False)

    def open_ticket(self, side: str) -> None:
        session = self._session()
        if session is None:
            return
        settings = session.settings
        mode_label = "SHADOW (paper)" if session.latest.mode is Mode.SHADOW else "LIVE-SMALL"
        ticket = OrderTicket(
            session.symbols,
            side=Side(side),
            notional=settings.default_notional_usdt,
            leverage=settings.default_leverage,
            mode_label=mode_label,
            policies=POLICY_NAMES,
            policy=settings.exits.default_policy,
            ab_note=session.ab.ticket_note(session.clock()),
        )

        def on_ticket(request: TicketRequest | None) -> None:
            if request is not None:
                self._orders(self._submit_open(session, request))

        self._app.push_screen(ticket, on_ticket)

    async def _submit_open(self, session: Session, request: TicketRequest) -> None:
        since = session.latest.event_seq
        try:
            await session.open_position(
                request.symbol,
                request.side,
                request.notional,
                request.leverage,
                policy=request.policy,
                quality_score=request.quality_score,
                direction_bias=request.direction_bias,
            )
        except EntryPending as exc:  # placed, not refused: the session logged it as a warning
            self._app.notify(str(exc), title="Entry placed, not confirmed yet", severity="warning")
        except OrderRejected as exc:
            self.refused(session, exc, "Order refused", since)

    def close_selected(self) -> None:
        session = self._session()
        screen = self._app.screen
        if session is None or not isinstance(screen, DashboardScreen):
            return
        pos = screen.selected_position()
        if pos is None or pos.trade_id is None:
            self._app.notify("No open position selected", severity="warning")
            return
        trade_id = pos.trade_id
        mark = session.latest.last_tick.get(pos.symbol)
        mark_text = f"{mark.price:.4f}" if mark else "unknown"
        dialog = ConfirmDialog(
            f"Close #{trade_id} now?",
            f"Market close of {pos.size:.4f} {pos.symbol} ({pos.side.value}), reduce-only, "
            f"at about {mark_text}. The exit reason is recorded as manual_close.",
            confirm_label="Close now",
        )

        def on_answer(confirmed: bool | None) -> None:
            if confirmed:
                self.submit_close(trade_id)

        self._app.push_screen(dialog, on_answer)

    async def _command(
        self,
        session: Session,
        title: str,
        command: Callable[..., Coroutine[Any, Any, object]],
        *args: object,
        **kwargs: object,
    ) -> None:
        """One session command; a refusal is told (`refused`)."""
        since = session.latest.event_seq
        try:
            await command(*args, **kwargs)
        except OrderRejected as exc:
            self.refused(session, exc, title, since)

    def refused(self, session: Session, exc: OrderRejected, title: str, since: int) -> None:
        """Tell the trader about a refused command: once in the event log, and as a toast.

        The session logs (and audits) the refusals it decides: a stale price, a plan or risk
        refusal, a manual rule, the broker's no. Those are not logged again here. One it raised
        without logging (no price yet, no such position, a bad notional) is logged here, so
        every refusal is in the log exactly once. `since` is the event sequence number before
        the command was asked.
        """
        text = str(exc)
        logged = any(e.seq > since and text in e.text for e in session.latest.events)
        if not logged:
            session.event("error", f"{title.lower()}: {text}")
        self._app.notify(text, title=title, severity="error")

    # ------------------------------------------------------------- runner management
    def _selected_managed(self) -> tuple[Session, PositionState, int, float] | None:
        """The selected position, its id and mark, if a manual action can apply to it."""
        session = self._session()
        screen = self._app.screen
        if session is None or not isinstance(screen, DashboardScreen):
            return None
        pos = screen.selected_position()
        if pos is None or pos.trade_id is None:
            self._app.notify("No open position selected", severity="warning")
            return None
        since = session.latest.event_seq
        try:
            session.managed(pos.trade_id)
            mark = session.mark_price(pos)
        except OrderRejected as exc:
            self.refused(session, exc, "Not possible", since)
            return None
        return session, pos, pos.trade_id, mark

    def move_stop(self) -> None:
        selected = self._selected_managed()
        if selected is None:
            return
        session, pos, trade_id, mark = selected

        def preview(how: StopInput, raw: str) -> Preview:
            return stop_preview(pos, how, raw, session.mark_price(pos))

        def on_answer(answer: object) -> None:
            if isinstance(answer, StopRequest):
                self.submit_stop(trade_id, answer)

        self._app.push_screen(MoveStopDialog(pos, mark, preview), on_answer)

    def close_part(self) -> None:
        selected = self._selected_managed()
        if selected is None:
            return
        session, pos, trade_id, mark = selected

        def on_answer(answer: object) -> None:
            if isinstance(answer, AmountRequest):
                self.submit_close_part(trade_id, answer)

        minimum = session.min_order_size(pos)
        dialog = ClosePartDialog(
            pos,
            mark,
            lambda raw: close_preview(pos, raw, session.mark_price(pos), min_order_size=minimum),
        )
        self._app.push_screen(dialog, on_answer)

    def trail(self) -> None:
        selected = self._selected_managed()
        if selected is None:
            return
        session, pos, trade_id, mark = selected
        refusal = trail_refusal(pos)
        if refusal is not None:
            session.event("error", f"trailing multiple refused: {refusal}")
            self._app.notify(refusal, title="No trailing for this position", severity="error")
            return

        def on_answer(answer: object) -> None:
            if isinstance(answer, AmountRequest):
                self.submit_trail(trade_id, answer)

        dialog = TrailDialog(
            pos, mark, lambda raw: trail_preview(pos, raw), effective_trail_mult(pos)
        )
        self._app.push_screen(dialog, on_answer)

    def stop_on_chain(self) -> None:
        """Put the venue's stop where the engine's stop is (after a difference was shown)."""
        selected = self._selected_managed()
        if selected is not None:
            self._submit("Not possible", "put_stop_on_chain", selected[2])

    # ------------------------------------------------------------- the commands, as workers
    def submit_close(self, trade_id: int) -> None:
        self._submit("Close refused", "close_position", trade_id)

    def submit_stop(self, trade_id: int, request: StopRequest) -> None:
        self._submit(
            "Stop refused",
            "move_stop",
            trade_id,
            request.price,
            confirm_loosen=request.confirm_loosen,
            why=request.why,
        )

    def submit_close_part(self, trade_id: int, request: AmountRequest) -> None:
        self._submit("Close refused", "close_part", trade_id, request.value, why=request.why)

    def submit_trail(self, trade_id: int, request: AmountRequest) -> None:
        self._submit("Trailing refused", "set_trail_mult", trade_id, request.value, why=request.why)

    def _submit(self, title: str, command: str, *args: object, **kwargs: object) -> None:
        """The session's `command` in an "orders" worker; a refusal is told (`refused`)."""
        session = self._session()
        if session is not None:
            self._orders(self._command(session, title, getattr(session, command), *args, **kwargs))

"""The Textual application: starts the session, shows the dashboard, turns keys into commands."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import cast

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen

from cockpit.config import POLICY_NAMES
from cockpit.domain import Mode, PositionState, Side
from cockpit.engine.manual import StopInput, effective_trail_mult
from cockpit.replay_controls import Controllable, faster, slower, speed_text, step_bar
from cockpit.risk import ModeRefused
from cockpit.runner_preview import (
    Preview,
    close_preview,
    stop_preview,
    trail_preview,
    trail_refusal,
)
from cockpit.screens.analytics import AnalyticsScreen
from cockpit.screens.audit import AuditScreen
from cockpit.screens.dashboard import DashboardScreen
from cockpit.screens.help import HelpScreen, key_rows
from cockpit.screens.keymap import binding_ids, check_keymap
from cockpit.screens.trade_detail import TradeDetailScreen
from cockpit.session import EntryPending, OrderRejected, Session
from widgets.confirm import ConfirmDialog
from widgets.live_confirm import LiveConfirmDialog
from widgets.order_ticket import OrderTicket, TicketRequest
from widgets.runner_dialogs import (
    AmountRequest,
    ClosePartDialog,
    MoveStopDialog,
    StopRequest,
    TrailDialog,
)
from widgets.signal_dialog import SignalDialog


def stylesheet_path() -> Path:
    """cockpit.tcss sits at the repo top in a checkout and inside the package in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "cockpit.tcss", here.parent / "cockpit.tcss"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("cockpit.tcss not found next to the cockpit package")


ALERT_SEVERITY: dict[str, SeverityLevel] = {
    "info": "information",
    "warning": "warning",
    "error": "error",
}


class CockpitApp(App[None]):
    """Renders one `Session`. All trading logic lives in the session; this only asks it."""

    CSS_PATH = stylesheet_path()
    TITLE = "Cockpit"
    # Every binding has an id: `[keymap]` in the config remaps it (cockpit/screens/keymap.py).
    BINDINGS = [
        Binding("l", "open_ticket('long')", "Long", id="long"),
        Binding("s", "open_ticket('short')", "Short", id="short"),
        Binding("c", "close_selected", "Close", id="close"),
        Binding("e", "move_stop", "Stop", id="move_stop"),
        Binding("r", "close_part", "Part", id="close_part"),
        Binding("t", "trail", "Trail", id="trail"),
        Binding("o", "stop_on_chain", "Stop on chain", id="stop_on_chain"),
        Binding("p", "toggle_pause", "Pause", id="pause_feed"),
        Binding("plus", "replay_faster", "Faster", id="replay_faster", show=False),
        Binding("minus", "replay_slower", "Slower", id="replay_slower", show=False),
        Binding("full_stop", "replay_step", "Step a bar", id="replay_step", show=False),
        # crowded footer: listed by ? and the palette
        Binding("P", "toggle_entries", "Pause entries", id="pause_entries", show=False),
        Binding("m", "toggle_mode", "Mode", id="mode"),
        Binding("a", "show_audit", "Audit", id="audit"),
        Binding("g", "show_analytics", "Gates", id="analytics"),
        Binding("question_mark", "show_keys", "Keys", id="keys", show=False),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    # Actions about the dashboard's positions or that open a screen from it: on the audit or
    # analytics screen their keys do nothing (and leave the footer), so `l` cannot open a
    # ticket on top of the analytics tables.
    DASHBOARD_ACTIONS = frozenset(
        {
            "open_ticket",
            "close_selected",
            "move_stop",
            "close_part",
            "trail",
            "stop_on_chain",
            "toggle_mode",
            "show_audit",
            "show_analytics",
        }
    )

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._started = False
        self._alert_seq = 0  # the last alert notified
        self._signal_shown: int | None = None  # the waiting signal on screen (ask mode)
        # A bad [keymap] stops the start with one line (ValueError -> exit 2 in cli.py).
        self.set_keymap(check_keymap(session.settings.keymap, binding_ids(BOUND_CLASSES)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_on_chain" and self.session.venue is None:
            return False  # no venue with on-chain stops this session: not in the footer
        return action not in self.DASHBOARD_ACTIONS or isinstance(self.screen, DashboardScreen)

    async def on_mount(self) -> None:
        # The dashboard is up first (the trader sees the cockpit at once), then the session
        # opens the database, restores positions and starts the feed behind it.
        await self.push_screen(DashboardScreen(self.session, self.session.settings.ui_refresh_hz))
        try:
            await self.session.start()
        except Exception as exc:
            self.exit(return_code=2, message=f"cockpit could not start: {exc}")
            return
        self._started = True
        self.set_interval(1.0 / self.session.settings.ui_refresh_hz, self._outside_news)

    async def on_unmount(self) -> None:
        if self._started:
            await self.session.stop()

    def _fatal_error(self) -> None:
        """A crash is printed as Textual does it, but without each frame's local variables.

        Textual shows them by default, and driftpy keeps the wallet's solders Keypair (whose
        repr is the whole secret key) in the locals of its send path: a crash there would print
        the key on the terminal (issue 13 item 8; tests/ui/test_crash_hides_locals.py).
        """
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        self._exit_renderables.append(
            Segments(self.console.render(traceback, self.console.options))
        )
        self._close_messages_no_wait()

    # ------------------------------------------------------------- commands
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title == "Keys":  # Textual's key panel: ours lists ids, closes on Escape
                command = SystemCommand(
                    "Keys", "Every key of this screen (?)", self.action_show_keys
                )
            yield command
        yield SystemCommand("Open long", "Order ticket for a long position", self._ticket_long)
        yield SystemCommand("Open short", "Order ticket for a short position", self._ticket_short)
        yield SystemCommand(
            "Close selected position", "Market close, reduce-only", self.action_close_selected
        )
        yield SystemCommand(
            "Move stop of selected position",
            "To a price, a % from entry, or lock a share of the move",
            self.action_move_stop,
        )
        yield SystemCommand(
            "Close part of selected position",
            "Close N % now (100 = the runner)",
            self.action_close_part,
        )
        yield SystemCommand(
            "Trailing multiple of selected position", "k x ATR behind the peak", self.action_trail
        )
        yield SystemCommand(
            "Pause / resume feed", "Replay and demo feeds only", self.action_toggle_pause
        )
        yield SystemCommand(
            "Pause / resume entries (P)",
            "No new entries from any source; open positions are still managed",
            self.action_toggle_entries,
        )
        yield SystemCommand(
            "Analytics and decision gates",
            "Gates with every check, metrics, equity and drawdown, P&L attribution",
            self.action_show_analytics,
        )

    def _ticket_long(self) -> None:
        self.action_open_ticket("long")

    def _ticket_short(self) -> None:
        self.action_open_ticket("short")

    def action_open_ticket(self, side: str) -> None:
        settings = self.session.settings
        mode_label = "SHADOW (paper)" if self.session.latest.mode is Mode.SHADOW else "LIVE-SMALL"
        ticket = OrderTicket(
            self.session.symbols,
            side=Side(side),
            notional=settings.default_notional_usdt,
            leverage=settings.default_leverage,
            mode_label=mode_label,
            policies=POLICY_NAMES,
            policy=settings.exits.default_policy,
            ab_note=self.session.ab.ticket_note(self.session.clock()),
        )
        self.push_screen(ticket, self._on_ticket)

    def _on_ticket(self, request: TicketRequest | None) -> None:
        if request is not None:
            self._submit_open(request)

    @work(exclusive=False, group="orders")
    async def _submit_open(self, request: TicketRequest) -> None:
        since = self.session.latest.event_seq
        try:
            await self.session.open_position(
                request.symbol,
                request.side,
                request.notional,
                request.leverage,
                policy=request.policy,
                quality_score=request.quality_score,
                direction_bias=request.direction_bias,
            )
        except EntryPending as exc:  # placed, not refused: the session logged it as a warning
            self.notify(str(exc), title="Entry placed, not confirmed yet", severity="warning")
        except OrderRejected as exc:
            self._refused(exc, "Order refused", since)

    def action_close_selected(self) -> None:
        screen = self.screen
        if not isinstance(screen, DashboardScreen):
            return
        pos = screen.selected_position()
        if pos is None or pos.trade_id is None:
            self.notify("No open position selected", severity="warning")
            return
        trade_id = pos.trade_id
        mark = self.session.latest.last_tick.get(pos.symbol)
        mark_text = f"{mark.price:.4f}" if mark else "unknown"
        dialog = ConfirmDialog(
            f"Close #{trade_id} now?",
            f"Market close of {pos.size:.4f} {pos.symbol} ({pos.side.value}), reduce-only, "
            f"at about {mark_text}. The exit reason is recorded as manual_close.",
            confirm_label="Close now",
        )

        def on_answer(confirmed: bool | None) -> None:
            if confirmed:
                self._submit_close(trade_id)

        self.push_screen(dialog, on_answer)

    @work(exclusive=False, group="orders")
    async def _submit_close(self, trade_id: int) -> None:
        since = self.session.latest.event_seq
        try:
            await self.session.close_position(trade_id)
        except OrderRejected as exc:
            self._refused(exc, "Close refused", since)

    def _refused(self, exc: OrderRejected, title: str, since: int) -> None:
        """Tell the trader about a refused command: once in the event log, and as a toast.

        The session logs (and audits) the refusals it decides: a stale price, a plan or risk
        refusal, a manual rule, the broker's no. Those are not logged again here. One it raised
        without logging (no price yet, no such position, a bad notional) is logged here, so
        every refusal is in the log exactly once. `since` is the event sequence number before
        the command was asked.
        """
        text = str(exc)
        logged = any(e.seq > since and text in e.text for e in self.session.latest.events)
        if not logged:
            self.session.event("error", f"{title.lower()}: {text}")
        self.notify(text, title=title, severity="error")

    # ------------------------------------------------------------- runner management
    def _selected_managed(self) -> tuple[PositionState, int, float] | None:
        """The selected position, its id and mark, if a manual action can apply to it."""
        screen = self.screen
        if not isinstance(screen, DashboardScreen):
            return None
        pos = screen.selected_position()
        if pos is None or pos.trade_id is None:
            self.notify("No open position selected", severity="warning")
            return None
        since = self.session.latest.event_seq
        try:
            self.session.managed(pos.trade_id)
            mark = self.session.mark_price(pos)
        except OrderRejected as exc:
            self._refused(exc, "Not possible", since)
            return None
        return pos, pos.trade_id, mark

    def action_move_stop(self) -> None:
        selected = self._selected_managed()
        if selected is None:
            return
        pos, trade_id, mark = selected

        def preview(how: StopInput, raw: str) -> Preview:
            return stop_preview(pos, how, raw, self.session.mark_price(pos))

        def on_answer(answer: object) -> None:
            if isinstance(answer, StopRequest):
                self._submit_stop(trade_id, answer)

        self.push_screen(MoveStopDialog(pos, mark, preview), on_answer)

    @work(exclusive=False, group="orders")
    async def _submit_stop(self, trade_id: int, request: StopRequest) -> None:
        since = self.session.latest.event_seq
        try:
            await self.session.move_stop(
                trade_id, request.price, confirm_loosen=request.confirm_loosen, why=request.why
            )
        except OrderRejected as exc:
            self._refused(exc, "Stop refused", since)

    def action_close_part(self) -> None:
        selected = self._selected_managed()
        if selected is None:
            return
        pos, trade_id, mark = selected

        def on_answer(answer: object) -> None:
            if isinstance(answer, AmountRequest):
                self._submit_close_part(trade_id, answer)

        minimum = self.session.min_order_size(pos)
        dialog = ClosePartDialog(
            pos,
            mark,
            lambda raw: close_preview(
                pos, raw, self.session.mark_price(pos), min_order_size=minimum
            ),
        )
        self.push_screen(dialog, on_answer)

    @work(exclusive=False, group="orders")
    async def _submit_close_part(self, trade_id: int, request: AmountRequest) -> None:
        since = self.session.latest.event_seq
        try:
            await self.session.close_part(trade_id, request.value, why=request.why)
        except OrderRejected as exc:
            self._refused(exc, "Close refused", since)

    def action_trail(self) -> None:
        selected = self._selected_managed()
        if selected is None:
            return
        pos, trade_id, mark = selected
        refusal = trail_refusal(pos)
        if refusal is not None:
            self.session.event("error", f"trailing multiple refused: {refusal}")
            self.notify(refusal, title="No trailing for this position", severity="error")
            return

        def on_answer(answer: object) -> None:
            if isinstance(answer, AmountRequest):
                self._submit_trail(trade_id, answer)

        dialog = TrailDialog(
            pos, mark, lambda raw: trail_preview(pos, raw), effective_trail_mult(pos)
        )
        self.push_screen(dialog, on_answer)

    @work(exclusive=False, group="orders")
    async def _submit_trail(self, trade_id: int, request: AmountRequest) -> None:
        since = self.session.latest.event_seq
        try:
            await self.session.set_trail_mult(trade_id, request.value, why=request.why)
        except OrderRejected as exc:
            self._refused(exc, "Trailing refused", since)

    def action_stop_on_chain(self) -> None:
        """Put the venue's stop where the engine's stop is (after a difference was shown)."""
        selected = self._selected_managed()
        if selected is not None:
            self._submit_stop_on_chain(selected[1])

    @work(exclusive=False, group="orders")
    async def _submit_stop_on_chain(self, trade_id: int) -> None:
        since = self.session.latest.event_seq
        try:
            await self.session.put_stop_on_chain(trade_id)
        except OrderRejected as exc:
            self._refused(exc, "Not possible", since)

    async def action_quit(self) -> None:
        """Quit, unless rows the database has not taken yet would be lost: then ask first."""
        unwritten = self.session.unwritten()
        if not unwritten:
            self.exit()
            return
        dialog = ConfirmDialog(
            "Quit and lose unwritten rows?",
            f"{unwritten} row(s) (fills, stop moves, audit) are held in memory because the "
            f"database is failing: {self.session.latest.db_failing or 'not writing'}. They are "
            "retried until written; quitting now loses them. Fix the database (disk space, a "
            "lock) and wait for 'database writes again', or quit anyway.",
            confirm_label="Quit anyway",
        )

        def on_answer(confirmed: bool | None) -> None:
            if confirmed:
                self.exit()

        self.push_screen(dialog, on_answer)

    # ------------------------------------------------------------- modes
    def action_toggle_mode(self) -> None:
        """LIVE-SMALL -> SHADOW is one key; SHADOW -> LIVE-SMALL needs the typed confirmation."""
        if self.session.latest.mode is Mode.LIVE_SMALL:
            self._leave_live()
            return
        reason = self.session.live_precondition()
        if reason is not None:
            self._refuse_live(reason)
            return
        broker = self.session.live_broker
        dialog = LiveConfirmDialog(
            self.session.settings.risk, broker.venue if broker else "none", self.session.wallet
        )
        self.push_screen(dialog, self._on_live_answer)

    def _on_live_answer(self, confirmed: bool | None) -> None:
        if confirmed:
            self._enter_live()

    @work(exclusive=True, group="mode")
    async def _enter_live(self) -> None:
        try:
            await self.session.enter_live("LIVE", who="user")
        except ModeRefused as exc:
            self.notify(str(exc), title="LIVE-SMALL refused", severity="error")
        self._show_mode()

    @work(exclusive=True, group="mode")
    async def _leave_live(self) -> None:
        await self.session.leave_live(who="user", reason="trader pressed m")
        self._show_mode()

    @work(exclusive=True, group="mode")
    async def _refuse_live(self, reason: str) -> None:
        await self.session.audit("refusal", "user", "enter LIVE-SMALL", reason)
        self.session.event("error", f"LIVE-SMALL refused: {reason}")
        self.notify(reason, title="LIVE-SMALL refused", severity="error")

    def _show_mode(self) -> None:
        """The whole app wears the mode: a CSS class the stylesheet colours unmistakably."""
        self.set_class(self.session.latest.mode is Mode.LIVE_SMALL, "-live-mode")

    def action_show_audit(self) -> None:
        if isinstance(self.screen, DashboardScreen):
            self.push_screen(AuditScreen(self.session))

    def action_show_analytics(self) -> None:
        if isinstance(self.screen, DashboardScreen):
            self.push_screen(AnalyticsScreen(self.session))

    def action_show_keys(self) -> None:
        screen = self.screen
        if not isinstance(screen, HelpScreen):
            title = "dashboard" if isinstance(screen, DashboardScreen) else type(screen).__name__
            self.push_screen(HelpScreen(key_rows(screen), title))

    def action_toggle_pause(self) -> None:
        feed = self.session.feed
        pause = getattr(feed, "pause", None)
        resume = getattr(feed, "resume", None)
        if pause is None or resume is None:
            self.notify("This feed is live and cannot be paused", severity="warning")
            return
        if getattr(feed, "paused", False):
            resume()
            self.session.event("info", "feed resumed")
        else:
            pause()
            self.session.event("info", "feed paused (p resumes)")

    def _controllable(self) -> Controllable | None:
        feed = self.session.feed
        if all(hasattr(feed, name) for name in ("set_speed", "step", "step_ticks")):
            return cast("Controllable", feed)
        self.notify("This feed is live: its speed is the market's", severity="warning")
        return None

    def action_replay_faster(self) -> None:
        feed = self._controllable()
        if feed is not None:
            self.session.event("info", f"replay speed {speed_text(faster(feed))}")

    def action_replay_slower(self) -> None:
        feed = self._controllable()
        if feed is not None:
            self.session.event("info", f"replay speed {speed_text(slower(feed))}")

    def action_replay_step(self) -> None:
        feed = self._controllable()
        if feed is None:
            return
        if not feed.paused:
            self.notify("Pause the feed first (p), then step one bar at a time", severity="warning")
            return
        self.run_worker(step_bar(feed), group="replay-step", exclusive=True)

    # ------------------------------------------------------------- pause, signals, alerts
    def action_toggle_entries(self) -> None:
        """P: no new entries from any source (open positions are still managed), or allow them."""
        self._toggle_entries()

    @work(exclusive=True, group="pause")
    async def _toggle_entries(self) -> None:
        if self.session.latest.entries_paused is None:
            await self.session.pause_entries("user", "trader pressed P")
        else:
            await self.session.resume_entries("user", "trader pressed P")

    def _outside_news(self) -> None:
        """New alerts become notifications (and the bell); a waiting signal becomes a dialog."""
        alerts = self.session.alerts
        for note in alerts.notes:
            if note.seq > self._alert_seq:
                severity = ALERT_SEVERITY.get(note.level, "warning")
                self.notify(note.text, title=f"Alert: {note.rule}", severity=severity)
                if alerts.config.bell:
                    self.bell()
        self._alert_seq = alerts.seq
        waiting = self.session.signals.waiting
        if self._signal_shown is not None or not waiting:
            return
        if not isinstance(self.screen, DashboardScreen):
            return  # shown when the trader is back on the dashboard, never over another dialog
        first = next(iter(waiting.values()))
        self._signal_shown = first.signal_id
        mode = "SHADOW (paper)" if self.session.latest.mode is Mode.SHADOW else "LIVE-SMALL"

        def on_answer(enter: bool | None) -> None:
            self._answer_signal(first.signal_id, bool(enter))

        self.push_screen(SignalDialog(first.signal_id, first.text, mode), on_answer)

    @work(exclusive=False, group="orders")
    async def _answer_signal(self, signal_id: int, enter: bool) -> None:
        try:
            if enter:
                outcome = await self.session.signals.confirm(signal_id)
                refused = "refused" in outcome or "expired" in outcome or "failed" in outcome
                self.notify(outcome, severity="error" if refused else "information")
            else:
                await self.session.signals.skip(signal_id)
        finally:
            self._signal_shown = None


# Every class whose bindings `[keymap]` may remap.
BOUND_CLASSES: tuple[type[DOMNode], ...] = (
    CockpitApp,
    DashboardScreen,
    TradeDetailScreen,
    AuditScreen,
    AnalyticsScreen,
    HelpScreen,
    OrderTicket,
    ConfirmDialog,
    LiveConfirmDialog,
    MoveStopDialog,
    ClosePartDialog,
    TrailDialog,
    SignalDialog,
)

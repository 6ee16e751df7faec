"""The Textual application: starts the session, shows the dashboard, turns keys into commands."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from cockpit.domain import Mode, Side
from cockpit.risk import ModeRefused
from cockpit.screens.audit import AuditScreen
from cockpit.screens.dashboard import DashboardScreen
from cockpit.session import OrderRejected, Session
from widgets.confirm import ConfirmDialog
from widgets.live_confirm import LiveConfirmDialog
from widgets.order_ticket import OrderTicket, TicketRequest


def stylesheet_path() -> Path:
    """cockpit.tcss sits at the repo top in a checkout and inside the package in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "cockpit.tcss", here.parent / "cockpit.tcss"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("cockpit.tcss not found next to the cockpit package")


class CockpitApp(App[None]):
    """Renders one `Session`. All trading logic lives in the session; this only asks it."""

    CSS_PATH = stylesheet_path()
    TITLE = "Cockpit"
    BINDINGS = [
        Binding("l", "open_ticket('long')", "Long"),
        Binding("s", "open_ticket('short')", "Short"),
        Binding("c", "close_selected", "Close"),
        Binding("p", "toggle_pause", "Pause feed"),
        Binding("m", "toggle_mode", "Mode"),
        Binding("a", "show_audit", "Audit"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._started = False

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

    async def on_unmount(self) -> None:
        if self._started:
            await self.session.stop()

    # ------------------------------------------------------------- commands
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Open long", "Order ticket for a long position", self._ticket_long)
        yield SystemCommand("Open short", "Order ticket for a short position", self._ticket_short)
        yield SystemCommand(
            "Close selected position", "Market close, reduce-only", self.action_close_selected
        )
        yield SystemCommand(
            "Pause / resume feed", "Replay and demo feeds only", self.action_toggle_pause
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
        )
        self.push_screen(ticket, self._on_ticket)

    def _on_ticket(self, request: TicketRequest | None) -> None:
        if request is not None:
            self._submit_open(request)

    @work(exclusive=False, group="orders")
    async def _submit_open(self, request: TicketRequest) -> None:
        try:
            await self.session.open_position(
                request.symbol, request.side, request.notional, request.leverage
            )
        except OrderRejected as exc:
            self.session.event("error", f"order refused: {exc}")
            self.notify(str(exc), title="Order refused", severity="error")

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
        try:
            await self.session.close_position(trade_id)
        except OrderRejected as exc:
            self.notify(str(exc), title="Close refused", severity="error")

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

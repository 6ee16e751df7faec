"""The Textual application: shows the dashboard at once, starts the session behind it, turns keys
into commands.

Split by job: `starter` builds and starts the session after the first frame, `position_keys`
the ticket and runner dialogs, `feed_keys` the demo and replay feed's keys, `outside_news`
alerts and waiting signals. This module binds the keys and owns the screens.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from cockpit.app.feed_keys import FeedKeys
from cockpit.app.position_keys import PositionKeys
from cockpit.app.starter import Starter
from cockpit.domain import Mode
from cockpit.risk import ModeRefused
from cockpit.screens.analytics import AnalyticsScreen
from cockpit.screens.audit import AuditScreen
from cockpit.screens.dashboard import DashboardScreen
from cockpit.screens.help import HelpScreen, key_rows
from cockpit.screens.keymap import binding_ids, check_keymap
from cockpit.screens.trade_detail import TradeDetailScreen
from cockpit.starting import SessionStart
from widgets.confirm import ConfirmDialog
from widgets.live_confirm import LiveConfirmDialog
from widgets.order_ticket import OrderTicket
from widgets.runner_dialogs import ClosePartDialog, MoveStopDialog, TrailDialog
from widgets.signal_dialog import SignalDialog

if TYPE_CHECKING:  # the session (SQLAlchemy, numpy, ...) is built after the first frame
    from cockpit.session import Session

__all__ = ["BOUND_CLASSES", "CockpitApp", "stylesheet_path"]


def stylesheet_path() -> Path:
    """cockpit.tcss sits at the repo top in a checkout and inside the package in a wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "cockpit.tcss", package.parent / "cockpit.tcss"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("cockpit.tcss not found next to the cockpit package")


class CockpitApp(App[None]):
    """Renders one session. All trading logic lives in the session; this only asks it.

    Given a `SessionStart` (the command line), the dashboard is drawn first and the session is
    built and started after that frame (`Starter`); given a built `Session` (tests, tools), it
    is started before the first frame, as the cockpit always did.
    """

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
    # Actions that ask the session: shown but disabled until it runs (quit and ? always work).
    SESSION_ACTIONS = DASHBOARD_ACTIONS | {
        "toggle_pause",
        "replay_faster",
        "replay_slower",
        "replay_step",
        "toggle_entries",
    }

    def __init__(self, session: Session | SessionStart) -> None:
        super().__init__()
        if isinstance(session, SessionStart):
            self.start = session
            self._session: Session | None = None
        else:
            self.start = SessionStart(session.settings, session.symbols, lambda: session)
            self._session = session
        self.starter = Starter(self)
        self.positions = PositionKeys(self, self.running_session)
        self.feed_keys = FeedKeys(self, self.running_session)
        # A bad [keymap] stops the start with one line (ValueError -> exit 2 in cli.py).
        self.set_keymap(check_keymap(self.start.settings.keymap, binding_ids(BOUND_CLASSES)))

    @property
    def session(self) -> Session:
        """The session. Before the app runs, asking for it builds it now (a test or a tool that
        wants it first); while the app builds it after the first frame, it is not there yet."""
        if self._session is None:
            if self.is_running:
                raise RuntimeError("the session is still being built (the cockpit is starting)")
            self._session = self.start.build()
        return self._session

    def running_session(self) -> Session | None:
        """The session once it runs; None (and a word to the trader) while it starts."""
        if self._session is None or not self.starter.started:
            self.notify("The cockpit is still starting: one moment", severity="warning")
            return None
        return self._session

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        session = self._session if self.starter.started else None
        if action == "stop_on_chain" and (session is None or session.venue is None):
            return False  # no venue with on-chain stops this session: not in the footer
        if session is None and action in self.SESSION_ACTIONS:
            return None  # shown, greyed, until the session runs
        return action not in self.DASHBOARD_ACTIONS or isinstance(self.screen, DashboardScreen)

    async def on_mount(self) -> None:
        await self.starter.mount()

    def on_ready(self) -> None:
        """The first frame is on the screen: now the session is built and started."""
        self.starter.after_first_frame()

    async def on_unmount(self) -> None:
        await self.starter.stop()

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

    # ------------------------------------------------------------- positions (position_keys)
    def action_open_ticket(self, side: str) -> None:
        self.positions.open_ticket(side)

    def action_close_selected(self) -> None:
        self.positions.close_selected()

    def action_move_stop(self) -> None:
        self.positions.move_stop()

    def action_close_part(self) -> None:
        self.positions.close_part()

    def action_trail(self) -> None:
        self.positions.trail()

    def action_stop_on_chain(self) -> None:
        self.positions.stop_on_chain()

    async def action_quit(self) -> None:
        """Quit, unless rows the database has not taken yet would be lost: then ask first."""
        session = self._session
        unwritten = session.unwritten() if session is not None else 0
        if session is None or not unwritten:
            self.exit()
            return
        dialog = ConfirmDialog(
            "Quit and lose unwritten rows?",
            f"{unwritten} row(s) (fills, stop moves, audit) are held in memory because the "
            f"database is failing: {session.latest.db_failing or 'not writing'}. They are "
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
        session = self.running_session()
        if session is None:
            return
        if session.latest.mode is Mode.LIVE_SMALL:
            self.leave_live()
            return
        reason = session.live_precondition()
        if reason is not None:
            self.run_worker(self._refuse_live(session, reason), group="mode", exclusive=True)
            return
        broker = session.live_broker
        dialog = LiveConfirmDialog(
            session.settings.risk, broker.venue if broker else "none", session.wallet
        )

        def on_answer(confirmed: bool | None) -> None:
            if confirmed:
                self.enter_live()

        self.push_screen(dialog, on_answer)

    def enter_live(self) -> None:
        """Into LIVE-SMALL (the typed confirmation was given), in the "mode" worker."""
        session = self.running_session()
        if session is not None:
            self.run_worker(self._enter_live(session), group="mode", exclusive=True)

    def leave_live(self) -> None:
        session = self.running_session()
        if session is not None:
            self.run_worker(self._leave_live(session), group="mode", exclusive=True)

    async def _enter_live(self, session: Session) -> None:
        try:
            await session.enter_live("LIVE", who="user")
        except ModeRefused as exc:
            self.notify(str(exc), title="LIVE-SMALL refused", severity="error")
        self._show_mode(session)

    async def _leave_live(self, session: Session) -> None:
        await session.leave_live(who="user", reason="trader pressed m")
        self._show_mode(session)

    async def _refuse_live(self, session: Session, reason: str) -> None:
        await session.audit("refusal", "user", "enter LIVE-SMALL", reason)
        session.event("error", f"LIVE-SMALL refused: {reason}")
        self.notify(reason, title="LIVE-SMALL refused", severity="error")

    def _show_mode(self, session: Session) -> None:
        """The whole app wears the mode: a CSS class the stylesheet colours unmistakably."""
        self.set_class(session.latest.mode is Mode.LIVE_SMALL, "-live-mode")

    # ------------------------------------------------------------- screens
    def action_show_audit(self) -> None:
        session = self.running_session()
        if session is not None and isinstance(self.screen, DashboardScreen):
            self.push_screen(AuditScreen(session))

    def action_show_analytics(self) -> None:
        session = self.running_session()
        if session is not None and isinstance(self.screen, DashboardScreen):
            self.push_screen(AnalyticsScreen(session))

    def action_show_keys(self) -> None:
        screen = self.screen
        if not isinstance(screen, HelpScreen):
            title = "dashboard" if isinstance(screen, DashboardScreen) else type(screen).__name__
            self.push_screen(HelpScreen(key_rows(screen), title))

    # ------------------------------------------------------------- feed (feed_keys)
    def action_toggle_pause(self) -> None:
        self.feed_keys.toggle_pause()

    def action_replay_faster(self) -> None:
        self.feed_keys.faster()

    def action_replay_slower(self) -> None:
        self.feed_keys.slower()

    def action_replay_step(self) -> None:
        self.feed_keys.step()

    # ------------------------------------------------------------- pause entries
    def action_toggle_entries(self) -> None:
        """P: no new entries from any source (open positions are still managed), or allow them."""
        session = self.running_session()
        if session is not None:
            self.run_worker(self._toggle_entries(session), group="pause", exclusive=True)

    async def _toggle_entries(self, session: Session) -> None:
        if session.latest.entries_paused is None:
            await session.pause_entries("user", "trader pressed P")
        else:
            await session.resume_entries("user", "trader pressed P")


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

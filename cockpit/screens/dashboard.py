"""The dashboard: header, positions, chart, history, decision gates, event log; redrawn when
the session changes, at most `ui_refresh_hz` frames a second, and once a second when idle."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from cockpit import memory
from cockpit.domain import PositionState
from cockpit.pnl_summary import pnl_summary
from cockpit.replay_summary import ReplayResult
from cockpit.screens.replay_result import ReplayResultScreen
from cockpit.screens.trade_detail import TradeDetailScreen
from cockpit.starting import StartingView
from widgets.event_log import EventLog
from widgets.gate_panel import GatePanel
from widgets.header_bar import HeaderBar
from widgets.history_table import HistoryTable
from widgets.pnl_strip import PnlStrip
from widgets.positions_table import PositionsTable
from widgets.price_chart import PriceChart
from widgets.watchlist import Watchlist

if TYPE_CHECKING:  # built after the first frame (cockpit/starting.py): SQLAlchemy, numpy, ...
    from cockpit.session import Session
    from cockpit.watch_rows import WatchRow

# With nothing changing, the screen is still redrawn this often: the clock, a feed going quiet.
IDLE_REFRESH_S = 1.0
CHART_POINTS = 600
# The price chart follows a stream of ticks at most this often (a new selection shows at once):
# a frame of the chart costs as much as the rest of the screen, and 600 prices move by less
# than a dot between two frames of 33 ms.
CHART_EVERY_S = 0.2


def last_points(history: Sequence[tuple[int, float]], n: int) -> tuple[tuple[int, float], ...]:
    """The newest `n` of a deque without copying all of it."""
    start = max(0, len(history) - n)
    return tuple(itertools.islice(history, start, None))


class DashboardScreen(Screen[None]):
    """Redraws from `session.latest` (written by the session) when it says it changed.

    A change asks for a frame; changes that come while one is due join it, so a burst of 1,000
    ticks a second costs at most `refresh_hz` frames, and a single tick shows within one frame
    time instead of waiting for a poll. The ticks' processing never waits for drawing."""

    # Classes the stylesheet lays the dashboard out by (cockpit.tcss): 100x30 is the smallest
    # terminal it is made for, 220x60 the largest it was checked at.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-medium"), (55, "-tall")]
    # Enter on a table row opens the trade's detail (the focused table posts RowSelected); this
    # binding is the same action under a key [keymap] can change, listed by `?`.
    # `f` opens a finished replay's result again (it opens by itself when the data ends).
    BINDINGS = [
        Binding("enter", "open_detail", "Detail", id="detail", show=False),
        Binding("f", "show_replay_result", "Replay result", id="replay_result", show=False),
    ]

    def __init__(self, session: Session | StartingView, refresh_hz: float) -> None:
        super().__init__()
        # A StartingView until the app has built and started the session (`attach`).
        self.session: Session | StartingView = session
        self._frame_s = 1.0 / refresh_hz
        self._history_version = -1
        self._frame_due = False
        self._last_frame = 0.0
        self._shown_result: ReplayResult | None = None
        self._chart_at = -CHART_EVERY_S
        self._chart_for: tuple[str, int | None] | None = None
        self._chart_late = False

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield PnlStrip(id="pnl-strip")
        yield PositionsTable(id="positions")
        with Horizontal(id="middle"):
            yield PriceChart(id="chart")
            with Vertical(id="journal-column"):
                yield Watchlist(self._watch_rows, id="watchlist")
                yield HistoryTable(id="history")
                yield GatePanel(id="gates")
        yield EventLog(id="events", wrap=True, markup=False, max_lines=1000)
        yield Footer()

    def _watch_rows(self) -> list[WatchRow]:
        """The session's symbols for the watchlist (none while it starts)."""
        if isinstance(self.session, StartingView):
            return []
        return self.session.watchlist.rows()

    def on_mount(self) -> None:
        self.query_one("#positions").border_title = "Open positions"
        self.query_one("#chart").border_title = "Price"
        self.query_one("#history").border_title = "Closed trades"
        self.query_one("#gates").border_title = "Decision gates (g: detail)"
        self.query_one("#events").border_title = "Events"
        self.refresh_view()
        self.session.latest.waker = self._changed
        self.set_interval(IDLE_REFRESH_S, self._draw)

    def on_unmount(self) -> None:
        if self.session.latest.waker == self._changed:
            self.session.latest.waker = None

    def attach(self, session: Session) -> None:
        """Show `session` from now on instead of the starting view (on the event loop: the
        session's changes wake this screen from here on)."""
        if self.session.latest.waker == self._changed:
            self.session.latest.waker = None
        self.session = session
        self._history_version = -1
        session.latest.waker = self._changed
        self._changed()

    def _changed(self) -> None:
        """The session changed something: one frame, now or when the last one is a frame
        time old (called per tick: returns at once when a frame is already due)."""
        if self._frame_due:
            return
        self._frame_due = True
        wait = self._last_frame + self._frame_s - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self._draw)
        else:
            self.call_next(self._draw)

    def _draw(self) -> None:
        self._frame_due = False
        self._last_frame = time.monotonic()
        if not self.is_attached:
            return
        try:
            self.refresh_view(chart_every_s=CHART_EVERY_S)
        except NoMatches:  # a frame asked for while the screen is being taken down
            return

    def _chart_catch_up(self) -> None:
        """A frame for the chart that was held back (so the last prices of a burst show)."""
        self._chart_late = False
        self._changed()

    @property
    def primary_symbol(self) -> str:
        return self.session.symbols[0]

    def selected_position(self) -> PositionState | None:
        trade_id = self.query_one(PositionsTable).selected_trade_id
        return next((p for p in self.session.latest.positions if p.trade_id == trade_id), None)

    def action_open_detail(self) -> None:
        focused = self.focused
        if isinstance(focused, HistoryTable):
            self.open_detail(focused.selected_trade_id)
        else:
            self.open_detail(self.query_one(PositionsTable).selected_trade_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if isinstance(event.data_table, HistoryTable | PositionsTable):
            self.open_detail(event.data_table.selected_trade_id)

    def open_detail(self, trade_id: int | None) -> None:
        if trade_id is None:
            self.notify("No trade selected", severity="warning")
            return
        if isinstance(self.session, StartingView):
            return  # no trade can be selected before the session runs
        self.app.push_screen(TradeDetailScreen(self.session, trade_id))

    def refresh_view(self, chart_every_s: float = 0.0) -> None:
        """Shows the session's latest state; widgets whose content did not change are not
        touched, and the chart is held back when it was drawn less than `chart_every_s` ago
        for the same position (a frame for it is then asked for when it is due)."""
        latest = self.session.latest
        symbol = self.primary_symbol
        marks = {s: t.price for s, t in latest.last_tick.items()}
        with self.app.batch_update():
            self.query_one(HeaderBar).show(
                latest.mode,
                symbol,
                latest.last_tick.get(symbol),
                self.session.feed_status,
                self.session.clock(),
                latest.db_failing,
                latest.entries_paused,
                latest.account_lock,
            )
            self.query_one(PositionsTable).sync(
                latest.positions, marks, self.session.venue_alerts()
            )
            self.query_one(PnlStrip).show(
                pnl_summary(latest.positions, marks, latest.closed_trades, self.session.clock())
            )
            selected = self.selected_position()
            chart_symbol = selected.symbol if selected is not None else symbol
            chart_for = (chart_symbol, selected.trade_id if selected else None)
            wait = self._chart_at + chart_every_s - time.monotonic()
            if chart_for != self._chart_for or wait <= 0:
                self._chart_for, self._chart_at = chart_for, time.monotonic()
                self.query_one(PriceChart).show(
                    chart_symbol,
                    last_points(latest.price_history.get(chart_symbol, ()), CHART_POINTS),
                    selected,
                    self.session.venue_note(selected.trade_id) if selected else None,
                )
            elif not self._chart_late:
                self._chart_late = True
                self.set_timer(wait, self._chart_catch_up)
            self.query_one(EventLog).add_events(
                (e.seq, e.ts_ms, e.level, e.text) for e in latest.events
            )
            if latest.history_version != self._history_version:
                self.query_one(HistoryTable).show(latest.closed_trades)
                if latest.analytics is not None or latest.analytics_stale is not None:
                    gates = None if latest.analytics is None else latest.analytics.gates
                    self.query_one(GatePanel).show(gates, latest.analytics_stale)
                    self._settle_memory()
                self._history_version = latest.history_version
        self._show_new_replay_result(latest.replay_result)

    def _settle_memory(self) -> None:
        """Once the session is up (its journal read), and again a little later (what the first
        frames loaded): what exists then lives as long as the cockpit, so the garbage collector
        stops walking it (cockpit/memory.py: full collections inside frames were the worst
        tick-to-screen latencies)."""
        if not memory.POLICY.settles and memory.POLICY.settle():
            self.set_timer(memory.SETTLE_AGAIN_S, memory.POLICY.settle)

    def _show_new_replay_result(self, result: ReplayResult | None) -> None:
        """A run that just finished opens its result once, over the dashboard (not over a
        dialog or another screen the trader is in: then when they come back)."""
        if result is None or result is self._shown_result or self.app.screen is not self:
            return
        self._shown_result = result
        self.app.push_screen(ReplayResultScreen(result))

    def action_show_replay_result(self) -> None:
        result = self.session.latest.replay_result
        if result is None:
            self.notify("No replay has finished in this session", severity="warning")
            return
        self._shown_result = result
        self.app.push_screen(ReplayResultScreen(result))

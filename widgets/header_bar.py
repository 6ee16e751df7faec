"""Top line: mode badge, symbol and price, feed status (and a failing database), clock."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from cockpit.domain import FeedState, FeedStatus, Mode, Tick
from widgets.formatting import fmt_price
from widgets.mode_badge import ModeBadge
from widgets.quiet import update_if_changed

FEED_STYLES = {
    FeedState.CONNECTED: "green",
    FeedState.STALE: "yellow",
    FeedState.RECONNECTING: "yellow",
    FeedState.DOWN: "bold red",
    FeedState.STARTING: "cyan",
}


def feed_text(status: FeedStatus) -> Text:
    """'feed: connected (simulated 1x)' coloured by state; stale shows its age."""
    label = status.state.value
    if status.state is FeedState.STALE and status.age_s is not None:
        label = f"stale {status.age_s:.0f}s"
    text = Text("feed: ")
    text.append(label, style=FEED_STYLES[status.state])
    if status.detail:
        text.append(f" ({status.detail})", style="dim")
    if status.simulated:
        text.append(" SIMULATED", style="bold magenta")
    return text


DB_FAILING = "DATABASE NOT WRITING"


ENTRIES_PAUSED = "ENTRIES PAUSED"
ACCOUNT_LOCK_LOST = "ACCOUNT LOCK LOST"


def status_text(
    status: FeedStatus,
    db_failing: str | None,
    entries_paused: str | None = None,
    account_lock: str | None = None,
) -> Text:
    """The feed's state, and in white on red when the database is not taking writes (what it
    could not write is kept in memory and retried; the event log says what) or the account's
    lock is lost (no entries; the event log says who holds it, if anyone); black on yellow
    while entries are paused (P)."""
    text = feed_text(status)
    if account_lock is not None:
        text.append("  ")
        text.append(f" {ACCOUNT_LOCK_LOST} ", style="bold white on red")
    if db_failing is not None:
        text.append("  ")
        text.append(f" {DB_FAILING} ", style="bold white on red")
    if entries_paused is not None:
        text.append("  ")
        text.append(f" {ENTRIES_PAUSED} ", style="bold black on yellow")
    return text


def clock_text(now_ms: int, *, with_date: bool = False) -> str:
    """The session's time. A replay runs on its data's time, from any day: it shows the date."""
    stamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC" if with_date else "%H:%M:%S UTC")


class HeaderBar(Horizontal):
    """One line across the top; updated by the dashboard's refresh timer."""

    _price_cells = 0
    """The widest the symbol and price have been: they are padded to it."""

    def compose(self) -> ComposeResult:
        yield ModeBadge(id="mode-badge")
        yield Static(id="header-price")
        yield Static(id="header-feed")
        yield Static(id="header-clock")

    def show(
        self,
        mode: Mode,
        symbol: str,
        tick: Tick | None,
        status: FeedStatus,
        now_ms: int,
        db_failing: str | None = None,
        entries_paused: str | None = None,
        account_lock: str | None = None,
    ) -> None:
        self.query_one(ModeBadge).mode = mode
        price = Text(f"{symbol} ", style="bold")
        price.append_text(fmt_price(tick.price if tick else None))
        # Never narrower than it has been: a price losing a digit (99.99 after 100.01) would
        # otherwise lay the whole screen out again, and repaint every widget, for one cell.
        self._price_cells = max(self._price_cells, price.cell_len)
        price.pad_right(self._price_cells - price.cell_len)
        # Only what changed is redrawn (the clock's second, a new price, a feed change).
        update_if_changed(self.query_one("#header-price", Static), price)
        update_if_changed(
            self.query_one("#header-feed", Static),
            status_text(status, db_failing, entries_paused, account_lock),
        )
        update_if_changed(
            self.query_one("#header-clock", Static),
            clock_text(now_ms, with_date=status.simulated),
        )

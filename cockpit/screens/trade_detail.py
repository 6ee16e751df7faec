"""One trade in full (Enter on a position or a closed trade): the plan frozen at entry, every
order, fill, stop move and audit row in time order, and the price over the trade's window with
the entry, the stop's history, the targets and the exits drawn on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from cockpit.domain import OrderSide, Side
from widgets.braille_chart import BrailleChart, ChartSpec, Level, Marker, Series
from widgets.formatting import fmt_money, price_text

if TYPE_CHECKING:  # the app imports this screen for its first frame: no SQLAlchemy yet
    from cockpit.session import Session
    from cockpit.trade_detail import TradeDetail

KIND_STYLES = {"order": "cyan", "fill": "green", "stop": "magenta", "audit": "yellow"}


def stamp(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%m-%d %H:%M:%S")


def title_text(d: TradeDetail) -> Text:
    t = d.trade
    text = Text(f"#{t.id} {t.symbol} ", style="bold")
    text.append(t.side.value.upper(), style="green" if t.side is Side.LONG else "red")
    text.append(f"  {t.status.value}  {t.mode.value} on {t.venue}  {d.leverage:g}x  ")
    text.append(f"entry {price_text(t.entry_price)} at {stamp(t.entry_ts_ms)}")
    if t.exit_price is not None and t.exit_ts_ms is not None:
        text.append(f"  exit {price_text(t.exit_price)} at {stamp(t.exit_ts_ms)}")
        text.append(f" ({t.exit_reason})")
    text.append("  net ")
    text.append_text(fmt_money(t.realized_pnl - t.fees))
    text.append(f"  MFE {t.mfe_pct:+.2f}%  MAE {t.mae_pct:+.2f}%", style="dim")
    return text


def chart_spec(d: TradeDetail) -> ChartSpec:
    plan = d.plan
    levels = [Level(plan.entry, "entry", "bold"), Level(plan.stop_loss, "SL", "red")]
    levels.append(Level(plan.tp1_price, "TP1", "green"))
    if plan.tp2_price is not None:
        levels.append(Level(plan.tp2_price, "TP2", "green"))
    markers = []
    for fill in d.fills:
        opening = fill.reason == "entry"
        glyph = ("▲" if fill.side is OrderSide.BUY else "▼") if opening else "✕"
        markers.append(
            Marker(fill.ts_ms, fill.price, glyph, "bold green" if opening else "bold yellow")
        )
    return ChartSpec(
        series=(Series(d.stop_steps, "red", step=True), Series(d.prices)),
        levels=tuple(levels),
        markers=tuple(markers),
        t0_ms=d.t0_ms,
        t1_ms=d.t1_ms,
        empty_text="no prices recorded for this trade's window",
    )


class TradeDetailScreen(Screen[None]):
    """Loads the trade from the database when opened (Escape returns, Enter again reloads)."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="detail.back")]

    def __init__(self, session: Session, trade_id: int) -> None:
        super().__init__()
        self.session = session
        self.trade_id = trade_id
        self.detail: TradeDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"#{self.trade_id}: loading ...", id="detail-title")
        with Horizontal(id="detail-top"):
            yield Static(id="detail-plan")
            yield BrailleChart(id="detail-chart")
        yield DataTable(id="detail-ledger", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="detail-timeline", cursor_type="row", zebra_stripes=True)
        yield Footer()

    async def on_mount(self) -> None:
        from cockpit.trade_detail import LEDGER_COLUMNS  # SQLAlchemy: once the session runs

        self.query_one("#detail-plan").border_title = "Plan (frozen at entry)"
        self.query_one("#detail-chart").border_title = "Price"
        self.query_one("#detail-timeline").border_title = "Orders, fills, stop moves, audit"
        self.query_one(
            "#detail-ledger"
        ).border_title = "Counterfactual ledger: each policy on this trade's candles (gross)"
        ledger: DataTable[Text] = self.query_one("#detail-ledger", DataTable)
        for label in LEDGER_COLUMNS:
            ledger.add_column(label, key=label)
        table: DataTable[Text] = self.query_one("#detail-timeline", DataTable)
        for label in ("Time (UTC)", "Kind", "What"):
            table.add_column(label, key=label)
        from cockpit.trade_detail import load_trade_detail  # opened once the session runs

        position = self.session.find_position(self.trade_id)
        try:
            detail = await load_trade_detail(
                self.session.require_store(),
                self.trade_id,
                now_ms=self.session.clock(),
                position=position,
                ticks=self._ticks(position.symbol if position is not None else None),
                ledger_keys=self.session.ledger.keys,
            )
        except Exception as exc:  # the database may be failing: say so, and stay open
            self.query_one("#detail-title", Static).update(
                Text(f"#{self.trade_id}: could not read the trade: {exc}", style="bold red")
            )
            return
        if detail is None:
            self.query_one("#detail-title", Static).update(
                Text(f"#{self.trade_id}: no such trade in the database", style="bold red")
            )
            return
        self.show(detail)

    def _ticks(self, symbol: str | None) -> tuple[tuple[int, float], ...]:
        """The session's recent ticks of the trade's symbol (a closed trade's from the list)."""
        latest = self.session.latest
        if symbol is None:
            trade = next((t for t in latest.closed_trades if t.id == self.trade_id), None)
            symbol = trade.symbol if trade is not None else None
        return tuple(latest.price_history.get(symbol, ())) if symbol is not None else ()

    def show(self, detail: TradeDetail) -> None:
        from cockpit.trade_detail import ledger_lines, plan_lines

        self.detail = detail
        self.query_one("#detail-title", Static).update(title_text(detail))
        plan = Text()
        for label, value in plan_lines(detail.plan):
            plan.append(f"{label:<15}", style="dim")
            plan.append(f"{value}\n")
        plan.append(f"{'stop now':<15}", style="dim")
        plan.append(f"{price_text(detail.stop_now)}\n", style="red")
        plan.append(f"prices: {detail.price_source}", style="dim")
        self.query_one("#detail-plan", Static).update(plan)
        self.query_one(BrailleChart).show(chart_spec(detail))
        ledger: DataTable[Text] = self.query_one("#detail-ledger", DataTable)
        ledger.clear()
        for line in ledger_lines(detail):
            ledger.add_row(*(_ledger_cell(i, v) for i, v in enumerate(line)))
        table: DataTable[Text] = self.query_one("#detail-timeline", DataTable)
        table.clear()
        for row in detail.timeline:
            table.add_row(
                Text(stamp(row.ts_ms)),
                Text(row.kind, style=KIND_STYLES.get(row.kind, "")),
                Text(row.text),
            )


def _ledger_cell(column: int, value: str) -> Text:
    """Numbers right-aligned and coloured by sign; the words as they are."""
    if column < 2 or not value or value == "-":
        return Text(value, style="dim" if value == "-" else "")
    style = "green" if value.startswith("+") else "red" if value.startswith("-") else ""
    return Text(value.rjust(12), style=style)

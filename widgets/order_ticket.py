"""The order ticket: a small modal to open a paper position; it validates every field first.

Validation is a pure function (`validate_ticket`) so the rules are testable without a
screen, and the modal shows the first problem in words a trader understands instead of
silently refusing.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select, Static

from cockpit.domain import Side

MAX_TICKET_LEVERAGE = 20.0
MAX_TICKET_NOTIONAL = 1_000_000.0


@dataclass(frozen=True, slots=True)
class TicketRequest:
    """A validated order ticket."""

    symbol: str
    side: Side
    notional: float
    leverage: float
    policy: str = "fixed"
    quality_score: float | None = None
    direction_bias: bool = False


class TicketError(ValueError):
    """The ticket's input is not valid; `field` names the input to focus."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _number(field: str, label: str, raw: str, example: str) -> float:
    text = raw.strip().replace(",", "")
    if not text:
        raise TicketError(field, f"{label} is empty: enter a number, e.g. {example}")
    try:
        value = float(text)
    except ValueError:
        raise TicketError(
            field, f"{label} '{raw.strip()}' is not a number (e.g. {example})"
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise TicketError(field, f"{label} must be a finite number")
    return value


def validate_ticket(
    symbol: str,
    side: Side | None,
    notional_raw: str,
    leverage_raw: str,
    symbols: list[str],
    *,
    policy: str = "fixed",
    quality_raw: str = "",
    direction_bias: bool = False,
) -> TicketRequest:
    """Turn raw ticket input into a request or raise TicketError saying what is wrong.

    The quality score is optional (stored with the trade for the gates when given) except
    under `quality_tiers`, which sizes the exits by it. Whether the score reaches a tier is the
    policy's decision, made by the session with the reason shown (not duplicated here).
    """
    symbol = symbol.strip()
    if symbol not in symbols:
        raise TicketError(
            "symbol", f"unknown symbol '{symbol}': this session trades {', '.join(symbols)}"
        )
    if side is None:
        raise TicketError("side", "choose a side: long or short")
    notional = _number("notional", "notional", notional_raw, "25")
    if notional <= 0:
        raise TicketError("notional", "notional must be above 0 USDT")
    if notional > MAX_TICKET_NOTIONAL:
        raise TicketError(
            "notional", f"notional above {MAX_TICKET_NOTIONAL:,.0f} USDT is not accepted"
        )
    leverage = _number("leverage", "leverage", leverage_raw, "2")
    if not 1.0 <= leverage <= MAX_TICKET_LEVERAGE:
        raise TicketError("leverage", f"leverage must be between 1x and {MAX_TICKET_LEVERAGE:g}x")
    quality: float | None = None
    if quality_raw.strip():
        quality = _number("quality", "quality score", quality_raw, "85")
        if not 0.0 <= quality <= 100.0:
            raise TicketError("quality", "quality score must be between 0 and 100")
    elif policy == "quality_tiers":
        raise TicketError("quality", "quality_tiers needs the signal's quality score (0-100)")
    return TicketRequest(symbol, side, notional, leverage, policy, quality, direction_bias)


class OrderTicket(ModalScreen[TicketRequest | None]):
    """Symbol, side, notional, leverage; Enter or Open submits, Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ticket.cancel")]

    def __init__(
        self,
        symbols: list[str],
        side: Side | None = None,
        notional: float = 25.0,
        leverage: float = 2.0,
        mode_label: str = "SHADOW (paper)",
        policies: tuple[str, ...] = ("fixed",),
        policy: str = "fixed",
        ab_note: str | None = None,
    ) -> None:
        super().__init__()
        self._ab_note = ab_note  # the A/B group this entry gets, when a test runs
        self._policies = policies
        self._policy = policy if policy in policies else policies[0]
        self._symbols = symbols
        self._side = side
        self._notional = notional
        self._leverage = leverage
        self._mode_label = mode_label

    def compose(self) -> ComposeResult:
        with Vertical(id="ticket"):
            yield Static(f"Open position · {self._mode_label}", id="ticket-title")
            if self._ab_note is not None:
                yield Static(self._ab_note, id="ticket-ab")
            with Grid(id="ticket-grid"):
                yield Label("Symbol")
                # A choice among the session's symbols: nothing to mistype.
                yield Select(
                    [(name, name) for name in self._symbols],
                    value=self._symbols[0],
                    allow_blank=False,
                    id="symbol",
                )
                yield Label("Side")
                with RadioSet(id="side"):
                    yield RadioButton("Long", value=self._side is Side.LONG, id="side-long")
                    yield RadioButton("Short", value=self._side is Side.SHORT, id="side-short")
                yield Label("Notional USDT")
                yield Input(f"{self._notional:g}", id="notional")
                yield Label("Leverage x")
                yield Input(f"{self._leverage:g}", id="leverage")
                yield Label("Exit policy")
                yield Select(
                    [(name, name) for name in self._policies],
                    value=self._policy,
                    allow_blank=False,
                    id="policy",
                )
                yield Label("Quality score")
                yield Input("", placeholder="0-100, needed by quality_tiers", id="quality")
                yield Label("Direction bias")
                yield Checkbox("wider targets for this side", id="bias")
            yield Static("", id="ticket-error")
            with Horizontal(id="ticket-buttons"):
                yield Button("Open", variant="primary", id="submit")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#notional", Input).focus()

    def _side_value(self) -> Side | None:
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is None:
            return None
        return Side.LONG if pressed.id == "side-long" else Side.SHORT

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def submit(self) -> None:
        try:
            request = validate_ticket(
                str(self.query_one("#symbol", Select).value),
                self._side_value(),
                self.query_one("#notional", Input).value,
                self.query_one("#leverage", Input).value,
                self._symbols,
                policy=str(self.query_one("#policy", Select).value),
                quality_raw=self.query_one("#quality", Input).value,
                direction_bias=self.query_one("#bias", Checkbox).value,
            )
        except TicketError as exc:
            self.query_one("#ticket-error", Static).update(f"✗ {exc}")
            self.query_one(f"#{exc.field}").focus()
            return
        self.dismiss(request)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

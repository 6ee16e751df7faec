"""The LIVE-SMALL confirmation: real orders only after the trader types the exact word LIVE.

No y/n shortcut exists on purpose: a reflexive key press must never send real money orders.
The Confirm button stays disabled until the field holds exactly `LIVE`; Escape cancels.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from cockpit.config import RiskLimits

LIVE_WORD = "LIVE"


def short_address(address: str | None) -> str:
    """A public address shortened for display (first 4 and last 4); keys are never shown."""
    if not address:
        return "none"
    return address if len(address) <= 10 else f"{address[:4]}…{address[-4:]}"


def limits_text(limits: RiskLimits) -> Text:
    daily = (
        "off"
        if limits.daily_loss_limit_usdt is None
        else f"{limits.daily_loss_limit_usdt:g} USDT per UTC day"
    )
    text = Text()
    for label, value in (
        ("max notional per position", f"{limits.max_notional_usdt:g} USDT"),
        ("max open positions", f"{limits.max_open_positions}"),
        ("max leverage", f"{limits.max_leverage:g}x"),
        ("entry cooldown", f"{limits.entry_cooldown_s:g} s"),
        ("daily loss limit", daily),
    ):
        text.append(f"  {label:<28}", style="dim")
        text.append(f"{value}\n", style="bold")
    return text


class LiveConfirmDialog(ModalScreen[bool]):
    """Shows venue, wallet and limits; confirms only on the exact typed word."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="live_confirm.cancel")]

    def __init__(self, limits: RiskLimits, venue: str, wallet: str | None) -> None:
        super().__init__()
        self._limits = limits
        self._venue = venue
        self._wallet = wallet

    def compose(self) -> ComposeResult:
        with Vertical(id="live-dialog"):
            yield Static("Switch to LIVE-SMALL: real orders", id="live-title")
            yield Static(
                f"venue {self._venue} · wallet {short_address(self._wallet)}", id="live-venue"
            )
            yield Static(limits_text(self._limits), id="live-limits")
            yield Static(
                f"Type {LIVE_WORD} to confirm. Exits and stops are never blocked; "
                "leaving LIVE-SMALL is one key.",
                id="live-explain",
            )
            yield Input(placeholder=LIVE_WORD, id="live-typed")
            yield Static("", id="live-hint")
            with Horizontal(id="live-buttons"):
                yield Button("Confirm", variant="error", id="live-confirm", disabled=True)
                yield Button("Cancel", id="live-cancel")

    def on_mount(self) -> None:
        self.query_one("#live-typed", Input).focus()

    @on(Input.Changed, "#live-typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#live-confirm", Button).disabled = event.value != LIVE_WORD

    @on(Input.Submitted, "#live-typed")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value == LIVE_WORD:
            self.dismiss(True)
        else:
            hint = f"type exactly {LIVE_WORD} (capitals, no spaces)"
            self.query_one("#live-hint", Static).update(hint)

    @on(Button.Pressed, "#live-confirm")
    def _confirm(self) -> None:
        if self.query_one("#live-typed", Input).value == LIVE_WORD:
            self.dismiss(True)

    @on(Button.Pressed, "#live-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

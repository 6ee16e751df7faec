"""Choose the P2 win condition's baseline: a kind and a value, as `cockpit report --baseline`
takes them. Returns "kind:value", "" to clear the choice, None when cancelled."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from cockpit.analytics.baseline import KINDS, parse_baseline

HINTS = {
    "date": "trades entered before this day (YYYY-MM-DD, UTC) vs from then on",
    "phase": "a finished roadmap phase (1-6) vs every phase after it",
    "group": "A/B group NAME vs the other groups",
    "policy": "exit policy NAME (e.g. fixed) vs every other policy",
}


class BaselineDialog(ModalScreen[str | None]):
    """Kind, value, Apply; Clear goes back to analytics.baseline_end; Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="baseline.cancel")]

    def __init__(self, current: str = "") -> None:
        super().__init__()
        kind, _, value = current.partition(":")
        self._kind = kind if kind in KINDS else "phase"
        self._value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static("Baseline for the P2 win condition", id="confirm-title")
            yield Select([(k, k) for k in KINDS], value=self._kind, allow_blank=False, id="kind")
            yield Input(self._value, placeholder=HINTS[self._kind], id="value")
            yield Static(HINTS[self._kind], id="baseline-hint")
            yield Static("", id="ticket-error")
            with Horizontal(id="confirm-buttons"):
                yield Button("Apply", variant="primary", id="baseline-apply")
                yield Button("Clear", id="baseline-clear")
                yield Button("Cancel", id="baseline-cancel")

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()

    @on(Select.Changed, "#kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        hint = HINTS.get(str(event.value), "")
        self.query_one("#baseline-hint", Static).update(hint)
        self.query_one("#value", Input).placeholder = hint

    @on(Input.Submitted)
    @on(Button.Pressed, "#baseline-apply")
    def apply(self) -> None:
        kind = str(self.query_one("#kind", Select).value)
        text = f"{kind}:{self.query_one('#value', Input).value.strip()}"
        try:
            parse_baseline(text)
        except ValueError as exc:
            self.query_one("#ticket-error", Static).update(
                f"✗ {str(exc).replace('--baseline ', '')}"
            )
            return
        self.dismiss(text)

    @on(Button.Pressed, "#baseline-clear")
    def clear(self) -> None:
        self.dismiss("")

    @on(Button.Pressed, "#baseline-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

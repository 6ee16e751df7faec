"""A signal waiting for the trader (webhook `ask` mode): Enter enters it, Escape skips it.

The entry button has the focus, so Enter means "enter this signal" and nothing else on the
screen can take the key; the entry itself still goes through every check of the ticket.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class SignalDialog(ModalScreen[bool]):
    """Dismissed with True (enter it) or False (skip it)."""

    BINDINGS = [Binding("escape", "skip", "Skip", id="signal.skip")]

    def __init__(self, signal_id: int, text: str, mode_label: str) -> None:
        super().__init__()
        self.signal_id = signal_id
        self._text = text
        self._mode_label = mode_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(f"Signal #{self.signal_id} waits ({self._mode_label})", id="confirm-title")
            yield Static(self._text, id="confirm-body")
            with Horizontal(id="confirm-buttons"):
                yield Button("Enter it (Enter)", variant="primary", id="signal-enter")
                yield Button("Skip (Esc)", id="signal-skip")

    def on_mount(self) -> None:
        self.query_one("#signal-enter", Button).focus()

    @on(Button.Pressed, "#signal-enter")
    def enter_it(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#signal-skip")
    def action_skip(self) -> None:
        self.dismiss(False)

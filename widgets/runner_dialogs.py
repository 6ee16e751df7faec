"""Modal dialogs for the trader's hands on a runner: move the stop, close a share, trailing.

Each dialog shows the position, re-validates as the trader types (the preview line says what
would happen or why not) and keeps its confirm button disabled while the input is refused. The
rules are not here: the app passes a preview function built on `engine.manual`, the same rules
the session enforces, so what the dialog accepts is what the session does.

A stop that loosens takes a second, separate step: the first confirm only turns the dialog into
a warning with its own "Loosen stop" button (no key shortcut), Back returns to editing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from cockpit.domain import PositionState
from cockpit.engine.manual import StopInput
from cockpit.runner_preview import Preview


@dataclass(frozen=True, slots=True)
class StopRequest:
    """A confirmed manual stop: `confirm_loosen` is True only after the second step."""

    price: float
    confirm_loosen: bool
    why: str


@dataclass(frozen=True, slots=True)
class AmountRequest:
    """A confirmed percentage (close N %) or multiple (trailing), with the trader's note."""

    value: float
    why: str


def position_line(pos: PositionState, mark: float) -> str:
    """Who the dialog is about: side, size, entry, mark, stop and its role."""
    return (
        f"#{pos.trade_id} {pos.side.value} {pos.size:.6g} {pos.symbol} · entry {pos.entry:.4f}"
        f" · mark {mark:.4f} ({pos.move_pct(mark):+.2f}%) · stop {pos.stop:.4f}"
        f" ({pos.stop_role.value.replace('_', ' ')})"
    )


class _RunnerDialog(ModalScreen[object]):
    """Shared frame: title, position line, inputs, preview line, note, buttons."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, title: str, pos: PositionState, mark: float, confirm_label: str) -> None:
        super().__init__()
        self._title = title
        self._pos = pos
        self._mark = mark
        self._confirm_label = confirm_label
        self._preview = Preview(None, "")

    def compose_inputs(self) -> ComposeResult:
        yield from ()

    def compose(self) -> ComposeResult:
        with Vertical(classes="runner-dialog"):
            yield Static(self._title, classes="runner-title")
            yield Static(position_line(self._pos, self._mark), classes="runner-position")
            yield from self.compose_inputs()
            yield Static("", id="preview", classes="runner-preview")
            yield Input(placeholder="why (optional, goes into the audit log)", id="why")
            with Horizontal(classes="runner-buttons"):
                yield Button(
                    self._confirm_label, variant="primary", id="runner-confirm", disabled=True
                )
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#amount", Input).focus()
        self.refresh_preview()

    def compute_preview(self, raw: str) -> Preview:
        raise NotImplementedError

    def refresh_preview(self) -> None:
        self._preview = self.compute_preview(self.query_one("#amount", Input).value)
        line = self.query_one("#preview", Static)
        line.update(self._preview.text)
        line.set_class(self._preview.value is None, "-refused")
        line.set_class(self._preview.loosens, "-loosens")
        self.query_one("#runner-confirm", Button).disabled = self._preview.value is None

    @on(Input.Changed, "#amount")
    def _amount_changed(self) -> None:
        self.refresh_preview()

    @property
    def why(self) -> str:
        return self.query_one("#why", Input).value.strip()

    @on(Input.Submitted)
    @on(Button.Pressed, "#runner-confirm")
    def submit(self) -> None:
        self.refresh_preview()
        if self._preview.value is None:
            self.query_one("#amount", Input).focus()
            return
        self.accept(self._preview)

    def accept(self, preview: Preview) -> None:
        assert preview.value is not None
        self.dismiss(AmountRequest(preview.value, self.why))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class MoveStopDialog(_RunnerDialog):
    """Move the stop: to a price, to a % from entry, or lock a share of the move."""

    MODES = (
        (StopInput.PRICE, "Price"),
        (StopInput.FROM_ENTRY, "% from entry"),
        (StopInput.LOCK_MOVE, "Lock % of move"),
    )

    def __init__(
        self,
        pos: PositionState,
        mark: float,
        preview: Callable[[StopInput, str], Preview],
    ) -> None:
        super().__init__("Move stop", pos, mark, "Move stop")
        self._preview_fn = preview
        self._how = StopInput.PRICE
        self._confirming = False

    def compose_inputs(self) -> ComposeResult:
        with RadioSet(id="how"):
            for how, label in self.MODES:
                yield RadioButton(label, value=how is StopInput.PRICE, id=f"how-{how.value}")
        yield Input(f"{self._pos.stop:.4f}", id="amount")
        with Vertical(id="loosen-step", classes="-hidden"):
            yield Static("", id="loosen-text")
            with Horizontal(classes="runner-buttons"):
                yield Button("Loosen stop", variant="error", id="loosen")
                yield Button("Back", id="back")

    @on(RadioSet.Changed, "#how")
    def _how_changed(self, event: RadioSet.Changed) -> None:
        pressed = event.pressed.id or ""
        self._how = StopInput(pressed.removeprefix("how-"))
        amount = self.query_one("#amount", Input)
        amount.value = ""
        amount.placeholder = {
            StopInput.PRICE: "stop price",
            StopInput.FROM_ENTRY: "% from entry, e.g. -1 or 0.5",
            StopInput.LOCK_MOVE: "% of the move to lock, e.g. 50",
        }[self._how]
        amount.focus()
        self.refresh_preview()

    def compute_preview(self, raw: str) -> Preview:
        return self._preview_fn(self._how, raw)

    def accept(self, preview: Preview) -> None:
        assert preview.value is not None
        if not preview.loosens:
            self.dismiss(StopRequest(preview.value, False, self.why))
            return
        # Second step: the same screen, now only a warning and its own explicit button.
        self._confirming = True
        self.query_one("#loosen-text", Static).update(preview.text.removeprefix("⚠ "))
        self.query_one("#loosen-step").remove_class("-hidden")
        self.query_one("#preview").add_class("-hidden")
        for widget_id in ("#runner-confirm", "#amount", "#how"):
            self.query_one(widget_id).disabled = True
        self.query_one("#back", Button).focus()

    @on(Button.Pressed, "#loosen")
    def _loosen(self) -> None:
        if self._confirming and self._preview.value is not None and self._preview.loosens:
            self.dismiss(StopRequest(self._preview.value, True, self.why))

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self._confirming = False
        self.query_one("#loosen-step").add_class("-hidden")
        self.query_one("#preview").remove_class("-hidden")
        for widget_id in ("#amount", "#how"):
            self.query_one(widget_id).disabled = False
        self.query_one("#amount", Input).focus()
        self.refresh_preview()


class ClosePartDialog(_RunnerDialog):
    """Close N % of what is left now (100 closes the runner)."""

    def __init__(
        self,
        pos: PositionState,
        mark: float,
        preview: Callable[[str], Preview],
        percent: float = 100.0,
    ) -> None:
        super().__init__("Close part of the position now", pos, mark, "Close")
        self._preview_fn = preview
        self._percent = percent

    def compose_inputs(self) -> ComposeResult:
        with Horizontal(classes="runner-quick"):
            for pct in (25, 50, 100):
                yield Button(f"{pct}%", id=f"pct-{pct}", classes="quick")
        yield Input(f"{self._percent:g}", id="amount", placeholder="% of what is left")

    @on(Button.Pressed, ".quick")
    def _quick(self, event: Button.Pressed) -> None:
        self.query_one("#amount", Input).value = (event.button.id or "").removeprefix("pct-")

    def compute_preview(self, raw: str) -> Preview:
        return self._preview_fn(raw)


class TrailDialog(_RunnerDialog):
    """Change the runner's trailing multiple (k x ATR); resumes a paused trail."""

    def __init__(
        self,
        pos: PositionState,
        mark: float,
        preview: Callable[[str], Preview],
        current: float | None,
    ) -> None:
        super().__init__("Trailing stop multiple", pos, mark, "Set trail")
        self._preview_fn = preview
        self._current = current

    def compose_inputs(self) -> ComposeResult:
        state = (
            "paused"
            if self._pos.trail_paused
            else ("active" if self._pos.trailing_active else "not started")
        )
        current = "none" if self._current is None else f"{self._current:g}"
        peak = "-" if self._pos.peak is None else f"{self._pos.peak:.4f}"
        yield Static(
            f"trail {state} · multiple {current} x ATR {self._pos.plan.atr or 0:.4g} · peak {peak}",
            classes="runner-position",
        )
        yield Input(current if self._current is not None else "", id="amount")

    def compute_preview(self, raw: str) -> Preview:
        return self._preview_fn(raw)

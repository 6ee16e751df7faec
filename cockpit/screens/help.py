"""`?`: every key of the screen it was opened on, with what it does and its id for `[keymap]`.

The list is read from the screen's active bindings at the moment `?` is pressed, so it shows the
keys as remapped by the config and only the ones that act there (a dashboard key does nothing on
the analytics screen and is not listed there)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


@dataclass(frozen=True, slots=True)
class KeyRow:
    key: str
    description: str
    binding_id: str
    where: str


def key_rows(screen: Screen[object]) -> list[KeyRow]:
    """One row per active binding of `screen` with a description or an id; ours first."""
    app = screen.app
    by_action: dict[tuple[str, str], KeyRow] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not (binding.description or binding.id):
            continue
        node = active.node
        where = "app" if node is app else ("screen" if node is screen else type(node).__name__)
        shown = app.get_key_display(Binding(key, binding.action, key_display=binding.key_display))
        slot = (where, binding.action)
        row = by_action.get(slot)
        if row is not None:  # several keys for one action: "escape, g"
            keys = f"{row.key}, {shown}"
            by_action[slot] = KeyRow(
                keys, row.description, row.binding_id or binding.id or "", where
            )
            continue
        description = binding.description or binding.tooltip or binding.action
        by_action[slot] = KeyRow(shown, description, binding.id or "", where)
    # Ours (with an id) first, in the order the footer shows them; then Textual's own keys.
    return sorted(by_action.values(), key=lambda r: r.binding_id == "")


class HelpScreen(ModalScreen[None]):
    """Read-only; Escape or `?` closes it."""

    BINDINGS = [Binding("escape,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, rows: list[KeyRow], title: str) -> None:
        super().__init__()
        self._rows = rows
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(
                Text.assemble(
                    (f"Keys: {self._title}", "bold"),
                    ('   remap any id in [keymap] of the config, e.g. long = "n"', "dim"),
                ),
                id="help-title",
            )
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one("#help-table", DataTable)
        for label in ("Key", "Action", "Id ([keymap])"):
            table.add_column(Text(label), key=label)
        for row in self._rows:
            table.add_row(
                Text(row.key, style="bold"), Text(row.description), Text(row.binding_id, "dim")
            )

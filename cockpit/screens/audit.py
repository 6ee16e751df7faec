"""The audit view: every mode change, refusal, confirmation and manual action, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

if TYPE_CHECKING:
    from cockpit.session import Session

KIND_STYLES = {"refusal": "bold red", "mode_change": "yellow", "confirmation": "magenta"}


class AuditScreen(Screen[None]):
    """Read-only: loads the audit rows from the database each time it is opened."""

    BINDINGS = [Binding("escape,a", "app.pop_screen", "Back", id="audit.back")]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        yield Static(
            "Audit: mode changes, refusals, confirmations, manual actions", id="audit-title"
        )
        yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    async def on_mount(self) -> None:
        table: DataTable[Text] = self.query_one("#audit-table", DataTable)
        for label in ("Time (UTC)", "Kind", "Who", "Action", "Reason"):
            table.add_column(label, key=label)
        for row in await self.session.recent_audit():
            stamp = datetime.fromtimestamp(row.ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
            table.add_row(
                Text(stamp),
                Text(row.kind, style=KIND_STYLES.get(row.kind, "")),
                Text(row.who),
                Text(row.action),
                Text(row.reason),
            )

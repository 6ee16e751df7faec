"""Update a widget only when what it shows changes: a redraw of an unchanged widget is waste."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def update_if_changed(static: Static, content: Text | str) -> bool:
    """`static.update(content)` unless it already shows exactly that; True if it updated."""
    if getattr(static, "_quiet_shown", None) == content:
        return False
    static._quiet_shown = content  # type: ignore[attr-defined]
    static.update(content)
    return True

"""The mode badge: SHADOW or LIVE-SMALL, impossible to misread."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from cockpit.domain import Mode

MODE_LABELS = {Mode.SHADOW: " SHADOW ", Mode.LIVE_SMALL: " LIVE-SMALL "}


class ModeBadge(Static):
    """Shows the current mode; its CSS class follows the mode so the stylesheet can colour it."""

    mode: reactive[Mode] = reactive(Mode.SHADOW)

    def watch_mode(self, mode: Mode) -> None:
        self.update(MODE_LABELS[mode])
        self.set_class(mode is Mode.LIVE_SMALL, "-live")
        self.set_class(mode is Mode.SHADOW, "-shadow")

"""A gate's state, on its own: the dashboard's gate panel draws it in its first frame, before
numpy (which the rest of the analytics need) is loaded (issue 14 item 3)."""

from __future__ import annotations

from enum import StrEnum


class GateState(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NEED_DATA = "need_data"

    @property
    def label(self) -> str:
        """The word shown next to the colour, so the state never depends on colour alone."""
        return {"pass": "PASS", "fail": "FAIL", "need_data": "NEED"}[self.value]

"""The P2 win condition's baseline, chosen on the analytics screen (issue 18 item 3's "a
baseline the trader chooses in the screen").

A choice is what `cockpit report --baseline` takes (date:YYYY-MM-DD, phase:N, group:NAME,
policy:NAME; cockpit/analytics/baseline.py). It is checked against the phases the journal has
(a phase that has not started or still runs cannot be a baseline), remembered in `settings`
(so a restart and `cockpit report` use it too), audited with who chose it, and the analytics
are recomputed with it. Clearing it goes back to `analytics.baseline_end`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from cockpit.analytics.baseline import BaselineChoice, parse_baseline, split
from cockpit.execution.events import LatestState
from cockpit.history import History
from state.baseline_setting import choice_text, remember_baseline, remembered_baseline
from state.store import Store


class BaselineChooser:
    """Loads the remembered baseline at start; `choose` sets a new one."""

    def __init__(
        self,
        history: History,
        latest: LatestState,
        store: Callable[[], Store],
        audit: Callable[[str, str, str, str], Awaitable[None]],
        event: Callable[[str, str], None],
    ) -> None:
        self._history = history
        self._latest = latest
        self._store = store
        self._audit = audit
        self._event = event

    async def load(self) -> None:
        """Before the first analytics run: the baseline chosen in an earlier session."""
        self._history.baseline = await remembered_baseline(self._store())

    async def choose(self, text: str, who: str = "ui") -> str | None:
        """Set the baseline from `text` ("" clears it); None when done, else why not (said
        in the event log, nothing written)."""
        try:
            choice = parse_baseline(text) if text.strip() else None
            if choice is not None:
                self._check(choice)
        except ValueError as exc:
            why = str(exc).replace("--baseline ", "baseline ")
            self._event("warning", f"baseline not changed: {why}")
            return why
        await remember_baseline(self._store(), choice)
        shown = choice_text(choice) or "analytics.baseline_end (cleared)"
        await self._audit(
            "baseline", who, f"choose baseline {shown}", "the P2 win condition's baseline"
        )
        self._event("info", f"baseline for the P2 win condition: {shown}")
        self._history.baseline = choice
        await self._history.reload()
        return None

    def _check(self, choice: BaselineChoice) -> None:
        """The checks `split` makes that depend on the journal's phases, made now."""
        snapshot = self._latest.analytics
        if choice.kind == "phase":
            split([], choice, snapshot.phases if snapshot is not None else ())

"""What arrives from outside the venue, shown to the trader: new alerts become notifications
(and the bell), a signal waiting for an answer (webhook `ask` mode) becomes a dialog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App
from textual.notifications import SeverityLevel

from cockpit.domain import Mode
from cockpit.screens.dashboard import DashboardScreen
from widgets.signal_dialog import SignalDialog

if TYPE_CHECKING:
    from cockpit.session import Session

ALERT_SEVERITY: dict[str, SeverityLevel] = {
    "info": "information",
    "warning": "warning",
    "error": "error",
}


class OutsideNews:
    """Polled by the app a few times a second once the session runs."""

    def __init__(self, app: App[None], session: Session) -> None:
        self._app = app
        self._session = session
        self._alert_seq = 0  # the last alert notified
        self._signal_shown: int | None = None  # the waiting signal on screen (ask mode)

    def poll(self) -> None:
        app = self._app
        alerts = self._session.alerts
        for note in alerts.notes:
            if note.seq > self._alert_seq:
                severity = ALERT_SEVERITY.get(note.level, "warning")
                app.notify(note.text, title=f"Alert: {note.rule}", severity=severity)
                if alerts.config.bell:
                    app.bell()
        self._alert_seq = alerts.seq
        waiting = self._session.signals.waiting
        if self._signal_shown is not None or not waiting:
            return
        if not isinstance(app.screen, DashboardScreen):
            return  # shown when the trader is back on the dashboard, never over another dialog
        first = next(iter(waiting.values()))
        self._signal_shown = first.signal_id
        mode = "SHADOW (paper)" if self._session.latest.mode is Mode.SHADOW else "LIVE-SMALL"

        def on_answer(enter: bool | None) -> None:
            app.run_worker(
                self._answer_signal(first.signal_id, bool(enter)), group="orders", exclusive=False
            )

        app.push_screen(SignalDialog(first.signal_id, first.text, mode), on_answer)

    async def _answer_signal(self, signal_id: int, enter: bool) -> None:
        signals = self._session.signals
        try:
            if enter:
                outcome = await signals.confirm(signal_id)
                refused = "refused" in outcome or "expired" in outcome or "failed" in outcome
                self._app.notify(outcome, severity="error" if refused else "information")
            else:
                await signals.skip(signal_id)
        finally:
            self._signal_shown = None

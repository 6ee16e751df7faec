"""The alert center: one call raises an alert; it is shown, kept, and sent where configured.

`fire(rule, subject, level, text)` is synchronous and cheap (called from the tick path's
hooks): it checks the rule is in force and the (rule, subject) cooldown, appends a note the UI
turns into a notification, writes a line to the event log, and leaves the database row and the
Telegram delivery to a task. A row that cannot be written is logged; the notification was
shown all the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from cockpit.alerts.telegram import TelegramSender
from cockpit.config_outside import AlertsConfig
from state import signal_rows
from state.store import Store

log = logging.getLogger(__name__)

ALERT_HISTORY_LEN = 200


@dataclass(frozen=True, slots=True)
class AlertNote:
    """One alert for the UI; `seq` lets it notify each one once."""

    seq: int
    ts_ms: int
    rule: str
    level: str  # info, warning or error (Textual's information / warning / error)
    text: str


class AlertCenter:
    def __init__(
        self,
        config: AlertsConfig,
        store: Callable[[], Store | None],
        event: Callable[[str, str], None],
        clock: Callable[[], int],
        sender: TelegramSender | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._event = event
        self._clock = clock
        self.sender = sender
        self.notes: deque[AlertNote] = deque(maxlen=ALERT_HISTORY_LEN)
        self.seq = 0
        self._last_fired: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def fire(self, rule: str, subject: str, level: str, text: str) -> bool:
        """Raise an alert; False when the rule is off or (rule, subject) is cooling down."""
        if rule not in self.config.rules:
            return False
        now = self._clock()
        last = self._last_fired.get((rule, subject))
        if last is not None and now - last < self.config.cooldown_s * 1000:
            return False
        self._last_fired[(rule, subject)] = now
        self.seq += 1
        self.notes.append(AlertNote(self.seq, now, rule, level, text))
        self._event("alert", f"ALERT {text}")
        task = asyncio.get_running_loop().create_task(self._keep(rule, level, text, now))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _keep(self, rule: str, level: str, text: str, ts_ms: int) -> None:
        alert_id: int | None = None
        store = self._store()
        if store is not None and not store.closed:
            try:
                alert_id = await signal_rows.add_rule_alert(store, rule, level, text, ts_ms)
            except Exception as exc:
                log.warning("alert not stored: %s", exc)
        if self.sender is not None:
            delivery = await self.sender.send(f"Cockpit: {text}")
            if delivery != "sent":
                self._event("error", f"alert not delivered to Telegram: {delivery}")
            store = self._store()
            if alert_id is not None and store is not None and not store.closed:
                try:
                    await signal_rows.set_alert_delivery(store, alert_id, delivery)
                except Exception as exc:
                    log.warning("alert delivery not stored: %s", exc)

    async def settled(self) -> None:
        """Wait until every alert raised so far is stored and delivered (or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self.sender is not None:
            await self.sender.close()

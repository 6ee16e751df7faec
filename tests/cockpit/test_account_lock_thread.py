"""A lock report from the lock's own thread wakes the screen without breaking the cockpit.

The PostgreSQL account lock watches its connection on a thread of its own and reports changes
to the session's event loop. The report ends in `LatestState.touch()`, whose waker is the
dashboard's redraw request: it may start a Textual timer. A timer started in a context without
the running app fails when it fires (Textual looks the app up there), so a lost lock once made
a closing cockpit exit with a LookupError instead of 0. Here the report comes from a real
thread and the waker starts a real timer in a real app: the timer must fire.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.app import App

from cockpit.execution.account_lock import AccountLockGuard
from cockpit.execution.events import LatestState
from state.advisory_lock import LockState, LockStatus
from tests.waiting import pilot_until


class ThreadedLock:
    """A lock whose changes are reported from another thread, as `AdvisoryLock`'s are."""

    account = "paper:desk"

    def __init__(self) -> None:
        self.status = LockStatus(LockState.HELD)
        self.listeners: list[Callable[[LockStatus], None]] = []

    def watch(self, listener: Callable[[LockStatus], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def kick(self) -> None:
        pass

    async def check(self) -> LockStatus:
        return self.status

    def lose_from_thread(self) -> None:
        self.status = LockStatus(LockState.LOST, "connection cut")
        reporter = threading.Thread(
            target=lambda: [heard(self.status) for heard in list(self.listeners)]
        )
        reporter.start()
        reporter.join()


class GuardedApp(App[None]):
    """A guard started by the app (as the session starts it after the first frame) whose
    changes wake the app the way the dashboard is woken: with a timer."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = ThreadedLock()
        self.latest = LatestState()
        self.events: list[str] = []
        self.redraws = 0

        async def audit(*_: object, **__: object) -> None:
            return None

        self.guard = AccountLockGuard(self.latest, audit, lambda _, text: self.events.append(text))
        self.guard.lock = self.lock
        self.latest.waker = lambda: self.set_timer(0.001, self.redrawn)

    def redrawn(self) -> None:
        self.redraws += 1

    def on_mount(self) -> None:
        self.guard.start()


async def test_a_lock_lost_on_the_locks_thread_wakes_the_screen() -> None:
    app = GuardedApp()
    async with app.run_test() as pilot:
        app.lock.lose_from_thread()
        await pilot_until(pilot, lambda: app.events, what="the lost lock reported")
        assert "account lock lost" in app.events[0]
        await pilot_until(pilot, lambda: app.redraws > 0, what="the redraw timer fired")
        app.guard.stop()
    assert app.return_code in (None, 0)

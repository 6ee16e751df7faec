"""Writes that must not be lost: kept in memory and written again until the database has them.

An order's intent row is written before it is sent, and a failed intent write means the order is
not sent. What comes back from a venue is different: a fill has happened whether or not the
database takes it. So a fill (and the stop moves it causes) whose write fails is kept here, in the
order it happened, and retried with backoff until it is durable; the position in memory already
shows it, the trader sees that the database is failing, and later writes queue behind the failed
one so they reach the database in the order they happened (an exit price is averaged over the
fills already stored, a close after a lost fill would be wrong).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.backoff import Backoff
from state.errors import StoreClosedError

log = logging.getLogger(__name__)

Write = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class _Pending:
    what: str
    write: Write


class DurableWrites:
    """A FIFO of writes that failed, drained in the background until each one is committed."""

    def __init__(
        self,
        event: Callable[[str, str], None],
        on_failing: Callable[[str | None], None],
        *,
        initial_s: float = 0.5,
        max_s: float = 10.0,
    ) -> None:
        self._event = event
        self._on_failing = on_failing
        self._queue: deque[_Pending] = deque()
        self._backoff = Backoff(initial_s, max_s, jitter=0.0)
        self._task: asyncio.Task[None] | None = None
        # One retry at a time: the background drain and a caller's retry_now must never both
        # write the queue's head (a slow write, as on a networked database just back, would be
        # written twice: a fill stored twice).
        self._retrying = asyncio.Lock()

    @property
    def pending(self) -> int:
        """Writes held in memory only: quitting now would lose them."""
        return len(self._queue)

    async def write(self, what: str, write: Write) -> bool:
        """Write now if nothing is waiting, else queue behind what is; True once committed."""
        if self._queue:
            self._queue.append(_Pending(what, write))
            return False
        try:
            await write()
        except StoreClosedError:
            raise
        except Exception as exc:
            self._queue.append(_Pending(what, write))
            self._failing(what, exc)
            return False
        return True

    def _failing(self, what: str, exc: Exception) -> None:
        log.error("database write failed (%s): %s", what, exc)
        text = f"database write failed ({what}): {exc}"
        self._on_failing(text)
        self._event(
            "error",
            f"{text}; kept in memory and retried until it is written (do not quit the cockpit)",
        )
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="durable")

    async def _drain(self) -> None:
        while self._queue:
            await asyncio.sleep(self._backoff.next_delay())
            await self.retry_now()
        self._backoff.reset()

    async def retry_now(self) -> bool:
        """Write what is waiting, in order, until one fails; True when nothing is left."""
        async with self._retrying:
            if not self._queue:
                return True  # written meanwhile by the retry this one waited for
            while self._queue:
                head = self._queue[0]
                try:
                    await head.write()
                except StoreClosedError:
                    return False
                except Exception as exc:
                    log.warning("database write still failing (%s): %s", head.what, exc)
                    self._on_failing(f"database write failing ({head.what}): {exc}")
                    return False
                self._queue.popleft()
        self._on_failing(None)
        self._event("info", "database writes again: everything kept in memory is written")
        return True

    async def close(self) -> None:
        """Last try at shutdown; whatever still fails is logged with what it was.

        The drain is cancelled only between two writes: a write in flight is committed by the
        store's writer whatever happens to its caller, so cancelling it and writing the held
        row again below would store it twice."""
        if self._task is not None:
            async with self._retrying:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._queue and not await self.retry_now():
            lost = ", ".join(p.what for p in self._queue)
            log.error("not written at shutdown (the database kept failing): %s", lost)

"""The single writer: one coroutine that owns every write transaction.

Why one writer: SQLite allows one writer at a time, and serialising writes in-process (instead of
letting tasks contend for the file lock) gives a total order of commits that matches the order the
session made its decisions in. Each job runs in its own session and transaction; its outcome goes to
the caller's future only after the commit, so "await returned" means "durable". A failing job rolls
back and hands its exception to its caller; the writer itself keeps running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from state.errors import StoreClosedError

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]


@dataclass(slots=True)
class _Job(Generic[T]):
    work: Work[T]
    future: asyncio.Future[T] | None  # None: fire and forget, failures are only logged


class _Stop:
    """Queue sentinel: every job queued before it still runs."""


_STOP: Final = _Stop()


class SingleWriter:
    """Runs write jobs one at a time, in submission order, on the loop it was started on."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], name: str = "state-writer"):
        self._sessions = sessions
        self._name = name
        self._queue: asyncio.Queue[_Job[Any] | _Stop] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    @property
    def accepting(self) -> bool:
        return self._task is not None and not self._task.done() and not self._stopping

    async def submit(self, work: Work[T]) -> T:
        """Queue `work` and wait until its transaction committed; its error is raised here.

        If the caller is cancelled while waiting, the job still runs: a fill or an intent that
        was decided must not depend on whether someone is still listening.
        """
        self._require_accepting()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(work, future))
        return await future

    def submit_nowait(self, work: Work[Any]) -> None:
        """Queue `work` without waiting (throttled snapshot flushes); failures are logged."""
        self._require_accepting()
        self._queue.put_nowait(_Job(work, None))

    async def stop(self) -> None:
        """Finish every queued job, then end the writer task. Safe to call more than once."""
        self._stopping = True
        task = self._task
        if task is None or task.done():
            return
        self._queue.put_nowait(_STOP)
        await asyncio.shield(task)

    def _require_accepting(self) -> None:
        if not self.accepting:
            raise StoreClosedError("the store is closed")

    async def _run(self) -> None:
        try:
            while True:
                job = await self._queue.get()
                if isinstance(job, _Stop):
                    return
                await self._execute(job)
        finally:
            self._fail_queued(StoreClosedError("the store writer stopped"))

    async def _execute(self, job: _Job[Any]) -> None:
        try:
            async with self._sessions() as session:
                result = await job.work(session)
                await session.commit()
        except asyncio.CancelledError:
            _settle_error(job, StoreClosedError("the store writer was cancelled"))
            raise
        except Exception as exc:  # a failed job must never end the writer
            _settle_error(job, exc)
            return
        if job.future is not None and not job.future.done():
            job.future.set_result(result)

    def _fail_queued(self, error: StoreClosedError) -> None:
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if isinstance(job, _Job):
                _settle_error(job, error)


def _settle_error(job: _Job[Any], error: BaseException) -> None:
    if job.future is not None and not job.future.done():
        job.future.set_exception(error)
    else:
        log.error("store write failed with nobody waiting for it", exc_info=error)

"""DurableWrites.close never cancels a held row's retry while it is being written: the store's
writer commits it whatever happens to the caller, and the last try at shutdown wrote it again.
Seen as a flaky tests/ui/test_db_faults_ui.py (three audit rows for two closes) when the quit
came just as the background drain retried the row."""

from __future__ import annotations

import asyncio

from cockpit.execution.durable import DurableWrites


async def test_a_shutdown_during_a_retry_writes_the_held_row_once() -> None:
    committed: list[str] = []
    started = asyncio.Event()
    gate = asyncio.Event()
    healthy = False

    async def commit() -> None:
        await gate.wait()
        committed.append("audit row")

    async def write() -> None:
        if not healthy:
            raise OSError("disk I/O error")
        started.set()
        # the store's writer task commits it even when the caller is cancelled meanwhile
        await asyncio.shield(asyncio.ensure_future(commit()))

    durable = DurableWrites(lambda *_: None, lambda _: None, initial_s=0.001, max_s=0.001)
    assert await durable.write("audit: close #1 now", write) is False
    healthy = True
    await asyncio.wait_for(started.wait(), 60)  # the background drain is writing it now
    closing = asyncio.create_task(durable.close())
    for _ in range(20):  # close() runs up to where it waits (scheduling, not time)
        await asyncio.sleep(0)
    gate.set()
    await closing
    for _ in range(20):
        await asyncio.sleep(0)
    assert committed == ["audit row"]
    assert durable.pending == 0

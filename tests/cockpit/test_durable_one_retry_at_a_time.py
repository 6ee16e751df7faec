"""DurableWrites: the background drain and a caller's `retry_now` never write the same held row
twice. Seen on PostgreSQL just back from an outage (tests/cockpit/test_session_postgres_down.py):
the first write after a restart is slow (a new connection), a second retry started meanwhile
wrote the same stop move again."""

from __future__ import annotations

import asyncio

from cockpit.execution.durable import DurableWrites


async def test_two_retries_at_once_write_the_held_row_once() -> None:
    written: list[str] = []
    events: list[tuple[str, str]] = []
    gate = asyncio.Event()
    healthy = False

    async def write() -> None:
        if not healthy:
            raise OSError("connection refused")
        await gate.wait()  # a slow write: a reconnect to a server just back
        written.append("stop move")

    # a long backoff: the background drain stays asleep, the two callers race on their own
    durable = DurableWrites(
        lambda level, text: events.append((level, text)),
        lambda _: None,
        initial_s=3600.0,
        max_s=3600.0,
    )
    assert await durable.write("stop move of #1", write) is False
    healthy = True
    first = asyncio.create_task(durable.retry_now())
    second = asyncio.create_task(durable.retry_now())
    for _ in range(20):  # let both retries run up to where they wait (scheduling, not time)
        await asyncio.sleep(0)
    gate.set()
    assert await first and await second
    assert written == ["stop move"]
    again = [t for level, t in events if "database writes again" in t]
    assert len(again) == 1
    await durable.close()

"""A process killed with SIGKILL mid-run loses nothing it was told was committed."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from cockpit.domain import Mode
from state.records import OrderStatus
from state.store import Store
from tests.state.factories import T0, exit_order, fill_for, raw_connect

REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys

    from cockpit.domain import Mode
    from state.store import Store
    from tests.state.factories import exit_order, open_trade


    async def main(url: str) -> None:
        store = await Store.open(url, flush_interval_s=3600.0)
        position = await open_trade(store, "ck-crash-in")
        order = exit_order("ck-crash-out", position, position.size, "manual_close")
        order_id = await store.record_order_intent(order, mode=Mode.SHADOW, venue="paper")
        position.mfe_pct = 9.9
        store.update_position(position)  # throttled: not committed, allowed to be lost
        print("trade", position.trade_id, order_id, flush=True)

        enough = asyncio.Event()

        async def hammer() -> None:
            for i in range(10**9):
                await store.record_alert("info", f"alert {i}", i)
                print("ack", i, flush=True)
                if i == 20:
                    enough.set()

        asyncio.get_running_loop().create_task(hammer())
        # a stream of writes committed (a count, not a time: a loaded machine is slow), and
        # the next one is in flight when the kill lands
        await enough.wait()
        os.kill(os.getpid(), signal.SIGKILL)


    asyncio.run(main(sys.argv[1]))
    """
)


async def test_sigkill_mid_run_keeps_every_committed_row(db_path: Path, db_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, db_url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # a ceiling: the child imports the whole stack
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    lines = result.stdout.split("\n")
    _, trade_id, order_id = lines[0].split()
    acks = [int(line.split()[1]) for line in lines if line.startswith("ack ")]
    assert len(acks) > 10, "the child should have committed a stream of writes"
    assert Path(f"{db_path}-wal").exists()  # the commits live in the WAL, not yet checkpointed

    conn = raw_connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in conn.execute("SELECT ts_ms FROM alerts")}
    finally:
        conn.close()
    assert set(acks) <= stored  # every acknowledged write survived

    store = await Store.open(db_url)
    try:
        [position] = await store.open_positions()
        assert position.trade_id == int(trade_id)
        assert position.mfe_pct == 0.0  # the unflushed snapshot is the documented loss
        entry, intent = await store.orders_for(position.trade_id)
        assert (entry.client_order_id, entry.status) == ("ck-crash-in", OrderStatus.FILLED)
        assert (intent.client_order_id, intent.id) == ("ck-crash-out", int(order_id))
        assert intent.status is OrderStatus.INTENT
        assert intent.mode is Mode.SHADOW

        # The restarted process can finish the trade from the intent row it finds.
        order = exit_order("ck-crash-out", position, position.size, "manual_close")
        position.size, position.closed = 0.0, True
        await store.record_exit_fill(intent.id, fill_for(order, 151.0, T0 + 1), position)
        assert await store.open_positions() == []
        assert [t.id for t in await store.closed_trades()] == [int(trade_id)]
    finally:
        await store.close()

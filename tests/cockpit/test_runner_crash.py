"""The cockpit killed with SIGKILL while it manages a trailing runner, then started again.

The child is the real Textual app (headless) on a scripted feed: it opens a high-quality-tier
long through the session, the price runs through TP1 and TP2 and the runner starts trailing; the
child prints the runner's stop and peak and waits. The parent kills it with SIGKILL (no
shutdown, no final flush), reads the database, starts a new cockpit on it and checks that the
same runner goes on being managed from the same stop and peak.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.ui.harness import app_factory

REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys

    from cockpit.domain import Side
    from tests.ui.harness import app_factory

    PATH = [100.0, 101.0, 104.0, 106.0, 108.0, 110.0, 112.5, 111.0]


    async def main(url: str) -> None:
        app, feed = app_factory(url, atr_bars=True)(PATH)
        async with app.run_test(headless=True, size=(150, 45)) as pilot:
            session = app.session
            await feed.step(1)
            pos = await session.open_position(
                "SOL-PERP", Side.LONG, 30.0, 2.0, policy="quality_tiers", quality_score=90.0
            )
            await feed.step(len(PATH) - 1)
            # The throttled state (the peak) on disk now, not after "long enough" for the
            # 50 ms snapshot timer (a loaded machine may not have run it); the stop moves
            # were written at once.
            await session.store.flush()
            print(json.dumps({"trade_id": pos.trade_id, "stop": pos.stop, "peak": pos.peak,
                              "size": pos.size, "trailing": pos.trailing_active}), flush=True)
            await asyncio.sleep(600)


    asyncio.run(main(sys.argv[1]))
    """
)


def test_sigkill_mid_runner_then_restart_continues_the_same_runner(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    url = f"sqlite+aiosqlite:///{db}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TERM": "dumb"},
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise AssertionError(f"child printed nothing: {child.communicate(timeout=10)[1]}")
        state = json.loads(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    # The runner as the child last saw it: TP1 and TP2 filled, trailing at 2.5 x ATR 2 = 5
    # behind the peak 112.5.
    assert state["trailing"] and state["peak"] == 112.5
    assert state["stop"] == pytest.approx(107.5)
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT status, stop_price, stop_role, peak, trailing_active, size FROM trades"
        ).fetchone()
    assert row == ("open", state["stop"], "trailing_stop", 112.5, 1, pytest.approx(state["size"]))

    asyncio.run(_restart_and_continue(url, state))


async def _restart_and_continue(url: str, state: dict[str, float]) -> None:
    app, feed = app_factory(url, atr_bars=True)([111.5, 114.0, 112.0, 108.9])
    async with app.run_test(headless=True, size=(150, 45)) as pilot:
        [pos] = app.session.latest.positions
        assert pos.trade_id == state["trade_id"]
        assert (pos.stop, pos.peak, pos.size) == (
            state["stop"],
            112.5,
            pytest.approx(state["size"]),
        )
        assert pos.trailing_active and pos.tp1_filled and pos.tp2_filled
        await feed.step(1)  # 111.5: below the peak, nothing moves
        assert pos.stop == state["stop"]
        await feed.step(1)  # 114: new peak, trail 109
        assert pos.peak == 114.0 and pos.stop == pytest.approx(109.0)
        await feed.step(2)  # 108.9 goes through the trail: the runner exits
        await pilot.pause()
        assert pos.closed
    with sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///")) as conn:
        assert conn.execute("SELECT status, exit_reason FROM trades").fetchone() == (
            "closed",
            "trailing_stop",
        )
        reasons = [r[0] for r in conn.execute("SELECT reason FROM fills ORDER BY id")]
    assert reasons == ["entry", "tp1", "tp2", "trailing_stop"]

"""Does a trade close freeze the cockpit, and how long do the analytics take on a long journal?

    uv run python bench/analytics.py [--sizes 1000,10000,100000] [--candles both|yes|no]

For each size a journal is generated into a throwaway SQLite file (closed trades every 5 minutes
on SOL-PERP, quality scores, MFE; "with candles" adds a 1m candle history over the whole span plus
the last after-exit window). Printed per journal, each beside a baseline measured in the same run
on the same file, the old way (the whole journal through the async ORM on the event loop, the
after-exit join in SQL), and their ratio:

- stall ms: the longest the event loop went without running a 5 ms heartbeat timer, from one
  more trade closing to the analytics showing it (History.reload + settled, as the session does
  after a close; the reader already warm from the start-up load). Goal <= 20 ms at 100k.
  "idle" is the same heartbeat over an idle loop for as long: the machine's own noise floor;
  "thread" over a worker thread running plain Python for as long: the least any work in a
  thread costs the loop on this machine (GIL hand-over every 5 ms, and a free core).
- refresh s: the whole analytics refresh after that close (wall time), and a cold first load.
- loop cpu: CPU ms the event loop's own thread spent during that close (everything that runs
  on the loop per close: the last 50 trades for the table, starting and awaiting the refresh).
- report s: `cockpit report --out FILE` in this process (wall, and its CPU s) vs the old
  report's read. Goal <= 3 s. `--profile` prints the top functions of the largest report.

Figures, never asserts: the machine is shared; compare the ratio, which both sides share.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.analytics.report import render_markdown  # noqa: E402
from cockpit.cli import main as cockpit_main  # noqa: E402
from cockpit.config import Settings  # noqa: E402
from cockpit.execution.events import LatestState  # noqa: E402
from cockpit.history import History  # noqa: E402
from state.journal import analytics_snapshot, journal_reader_for, reader_snapshot  # noqa: E402
from state.models import Trade  # noqa: E402
from state.store import Store  # noqa: E402

T0 = 1_735_689_600_000  # 2025-01-01
STEP_MS = 5 * 60_000
MINUTE = 60_000
DAY = 24 * 60 * MINUTE
PROFILE_LINES = 14


def trade_row(i: int, rng: random.Random) -> dict[str, Any]:
    entry_ts = T0 + i * STEP_MS
    entry = 100.0 + rng.uniform(-10, 10)
    side = "long" if rng.random() < 0.5 else "short"
    move = rng.gauss(0.1, 1.0)
    exit_price = entry * (1 + (move if side == "long" else -move) / 100)
    size = 1.0
    pnl = (exit_price - entry) * size * (1 if side == "long" else -1)
    return {
        "account": "default",
        "symbol": "SOL-PERP",
        "side": side,
        "mode": "shadow",
        "venue": "paper",
        "status": "closed",
        "entry_price": entry,
        "entry_ts_ms": entry_ts,
        "initial_size": size,
        "size": 0.0,
        "leverage": 1.0,
        "policy": "fixed",
        "plan_json": '{"tp2_price": %.4f}' % (entry * 1.02),
        "stop_price": entry * 0.99,
        "stop_role": "stop_loss",
        "tp1_filled": False,
        "tp2_filled": False,
        "trailing_active": False,
        "breakeven_done": False,
        "profit_lock_done": False,
        "trail_paused": False,
        "ambiguous_bars": 0,
        "mfe_pct": abs(move) + rng.random(),
        "mae_pct": rng.random(),
        "mfe_quote": 1.0,
        "mae_quote": 1.0,
        "realized_pnl": pnl,
        "fees": 0.02,
        "exit_price": exit_price,
        "exit_ts_ms": entry_ts + 4 * MINUTE,
        "exit_reason": rng.choice(["tp1", "tp2", "stop", "trailing"]),
        "quality_score": rng.uniform(40, 95),
        "atr": rng.uniform(0.5, 2.0),
        "adx": rng.uniform(10, 40),
        "rsi": rng.uniform(20, 80),
        "volume_ratio": rng.uniform(0.5, 2),
        "price_position": rng.uniform(0, 1),
        "confidence": rng.uniform(0.4, 0.9),
        "regime": rng.choice(["trend", "range"]),
        "timeframe": "5m",
        "updated_at_ms": entry_ts + 4 * MINUTE,
    }


def insert_trades(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    names = list(rows[0])
    sql = f"INSERT INTO trades ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    conn.executemany(sql, [tuple(r[n] for n in names) for r in rows])
    conn.commit()


def make_journal(path: Path, trades: int, candles: bool) -> None:
    async def migrate() -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{path}")
        await store.close()

    asyncio.run(migrate())
    rng = random.Random(trades)
    missing = {c.name for c in Trade.__table__.columns if not c.nullable} - {"id"}
    first = trade_row(0, rng)
    assert missing <= set(first), missing - set(first)
    conn = sqlite3.connect(path)
    try:
        insert_trades(conn, [first] + [trade_row(i, rng) for i in range(1, trades)])
        if candles:
            end = T0 + trades * STEP_MS + DAY
            price = 100.0
            bars = []
            for ts in range(T0, end, MINUTE):
                price += rng.gauss(0, 0.05)
                bars.append(
                    ("SOL-PERP", "1m", ts, price, price + 0.1, price - 0.1, price, 1, "feed")
                )
            conn.executemany(
                "INSERT INTO candles (symbol, timeframe, ts_ms, open, high, low, close, volume, "
                "source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                bars,
            )
            conn.commit()
    finally:
        conn.close()


def close_one_more(path: Path, n: int) -> None:
    """One more trade closes (written as the cockpit's writer would have, before the reload)."""
    conn = sqlite3.connect(path)
    try:
        insert_trades(conn, [trade_row(n, random.Random(-n))])
    finally:
        conn.close()


async def heartbeat_stall(work: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """(longest loop stall in ms, wall time of `work` in s) with a 5 ms timer beating."""
    beat = 0.005
    worst = 0.0
    running = True

    async def beater() -> None:
        nonlocal worst
        last = time.perf_counter()
        while running:
            await asyncio.sleep(beat)
            now = time.perf_counter()
            worst = max(worst, now - last - beat)
            last = now

    task = asyncio.create_task(beater())
    await asyncio.sleep(beat * 2)
    worst = 0.0
    start = time.perf_counter()
    await work()
    took = time.perf_counter() - start
    running = False
    await task
    return worst * 1000, took


async def close_stall(path: Path, n: int, *, incremental: bool) -> tuple[float, float, float]:
    """(stall ms, refresh s, CPU ms the event loop's own thread spent) for one more close."""
    settings = Settings(db_url=f"sqlite+aiosqlite:///{path}")
    store = await Store.open(settings.db_url)
    try:
        history = History(settings, LatestState(), lambda: store, lambda lvl, t: None)
        if not incremental:  # the old way: every close re-reads through the ORM
            history._reader = None
            history._journal_read = True  # (else the first run makes the reader after all)
        await history.reload()  # the start-up load
        await history.settled()
        await asyncio.to_thread(close_one_more, path, n)

        async def on_close() -> None:
            await history.reload()
            await history.settled()

        stall, took = await heartbeat_stall(on_close)
        # one more close without the heartbeat (whose own timers cost the loop CPU): the CPU
        # this thread, the loop's, spends on a close; the refresh itself runs in another
        await asyncio.to_thread(close_one_more, path, n + 10_000_000)
        loop_cpu = time.thread_time()
        await on_close()
        loop_cpu = time.thread_time() - loop_cpu
        await history.stop()
        return stall, took, loop_cpu * 1000
    finally:
        await store.close()


async def idle_stall(seconds: float) -> float:
    """The machine's own noise: the longest late beat while the loop does nothing at all."""
    stall, _ = await heartbeat_stall(lambda: asyncio.sleep(seconds))
    return stall


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def thread_floor(seconds: float) -> float:
    """The least any worker thread costs the loop: a thread running plain Python for as long
    (the loop waits for the GIL at each switch interval, and for a core on a loaded machine)."""
    stall, _ = await heartbeat_stall(lambda: asyncio.to_thread(_busy, seconds))
    return stall


def cold_refresh(path: Path) -> float:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{path}")
    reader = journal_reader_for(settings)
    assert reader is not None
    start = time.perf_counter()
    reader_snapshot(reader, settings)
    return time.perf_counter() - start


async def old_refresh(path: Path) -> float:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{path}")
    store = await Store.open(settings.db_url)
    try:
        start = time.perf_counter()
        await analytics_snapshot(store, settings)
        return time.perf_counter() - start
    finally:
        await store.close()


def report_time(path: Path, out: Path, profile: bool = False) -> tuple[float, float]:
    """(wall s, CPU s) of `cockpit report --out FILE` in this process; with `profile`, the
    report runs once more under cProfile and its top functions are printed."""
    argv = ["--db", f"sqlite+aiosqlite:///{path}", "report", "--out", str(out)]
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        code = cockpit_main(argv)
    assert code == 0, code
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    if profile:
        profiler = cProfile.Profile()
        with contextlib.redirect_stdout(io.StringIO()):
            profiler.runcall(cockpit_main, argv)
        print_profile(profiler, f"cockpit report, {path.name}")
    return took, cpu


def print_profile(profiler: cProfile.Profile, what: str) -> None:
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(PROFILE_LINES)
    lines = [line for line in text.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print(f"-- profile of {what} (by own time; wall clock, inflated by the profiler)")
    print("\n".join(lines[start : start + PROFILE_LINES + 1]), flush=True)


async def old_report(path: Path, out: Path) -> float:
    """The report as it was: open (and migrate) the store, read through the ORM, render."""
    start = time.perf_counter()
    settings = Settings(db_url=f"sqlite+aiosqlite:///{path}")
    store = await Store.open(settings.db_url)
    try:
        snapshot = await analytics_snapshot(store, settings)
    finally:
        await store.close()
    out.write_text(render_markdown(snapshot, source=str(path), generated_ms=0))
    return time.perf_counter() - start


def ratio(new: float, old: float) -> str:
    return f"{new / old:.3f}" if old > 0 else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--candles", choices=("both", "yes", "no"), default="both")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the report at the largest size"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with_candles = {"both": (False, True), "yes": (True,), "no": (False,)}[args.candles]
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    print(
        f"{'trades':>7} {'1m bars':>7} | {'stall ms new':>12} {'old':>8} {'new/old':>7} "
        f"{'idle':>5} {'thread':>6} {'loop cpu':>8} | "
        f"{'refresh s new':>13} {'cold':>6} {'old':>6} {'new/old':>7} | "
        f"{'report s new':>12} {'cpu':>5} {'old':>6} {'new/old':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        # one untimed report first: the analytics modules load once, not inside the first figure
        warm = Path(tmp) / "warm.db"
        make_journal(warm, 50, False)
        report_time(warm, Path(tmp) / "warm.md")
        asyncio.run(old_report(warm, Path(tmp) / "warm-old.md"))
        for size in sizes:
            for candles in with_candles:
                path = Path(tmp) / f"j{size}{'c' if candles else ''}.db"
                make_journal(path, size, candles)
                conn = sqlite3.connect(path)
                bars = conn.execute("SELECT COUNT(*) FROM candles").fetchone()[0]
                conn.close()
                stall_new, refresh_new, loop_cpu = asyncio.run(
                    close_stall(path, size, incremental=True)
                )
                idle = asyncio.run(idle_stall(max(refresh_new, 0.2)))
                floor = asyncio.run(thread_floor(max(refresh_new, 0.2)))
                stall_old, _, _ = asyncio.run(close_stall(path, size + 1, incremental=False))
                cold = cold_refresh(path)
                refresh_old = asyncio.run(old_refresh(path))
                profile = args.profile and size == max(sizes) and candles == with_candles[-1]
                report_new, report_cpu = report_time(path, Path(tmp) / "r.md", profile)
                report_old = asyncio.run(old_report(path, Path(tmp) / "r-old.md"))
                print(
                    f"{size:>7} {bars:>7} | {stall_new:>12.1f} {stall_old:>8.1f} "
                    f"{ratio(stall_new, stall_old):>7} {idle:>5.1f} {floor:>6.1f} "
                    f"{loop_cpu:>8.1f} | "
                    f"{refresh_new:>13.3f} {cold:>6.2f} "
                    f"{refresh_old:>6.2f} {ratio(refresh_new, refresh_old):>7} | "
                    f"{report_new:>12.2f} {report_cpu:>5.2f} {report_old:>6.2f} "
                    f"{ratio(report_new, report_old):>7}",
                    flush=True,
                )
                path.unlink()
    print("goal: stall <= 20 ms and report <= 3 s at 100k trades")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

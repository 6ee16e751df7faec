"""How long from a tick's arrival to the positions table showing it, in the real app?

    uv run python bench/ui_latency.py [--seconds 10] [--rate 1000] [--positions 10]

The real `CockpitApp` runs headless (Textual's test driver composes and renders every frame;
the bench also turns each frame into terminal bytes, which headless Textual skips, and drops
them) on a real session: a real SQLite store in a temp
dir, the paper broker, `--positions` open longs on as many symbols (the venues hold one position
per market) under a wide `fixed` plan, so nothing fires and every tick is the quiet path. A driver
task feeds `--rate` ticks per second in total, round-robin over the symbols, straight into
`Session.on_tick` on a fixed schedule (no feed pacing in between).

For every tick the arrival time is noted; a tick counts as shown at the first frame drawn
after a positions-table update that included its symbol's newest price (the update's
marks are the latest ticks, so one update shows every tick of that symbol that arrived before
it). Printed: p50 and p99 of arrival-to-frame in ms, table updates and frames per second, and the
process CPU in % of one core over the run.

Two baselines are measured in the same run, on the same ticks: a session without any UI (the
engine's own CPU: the ratio is the UI's cost on top of it), and the same app drawing as it did
before issue 14's frame work (`--baseline full`, the default): every Static update lays the
screen out, DataTable renders every cell after any write, the chart goes through a Rich Text on
every frame. Ratios are current / baseline. `--baseline none` skips it.

Where the time goes, for the current run's streaming window (bench/instruments.py): the garbage
collector's pauses per generation, a 5 ms heartbeat's lateness on the same loop, and with
`--profile` the event loop's callbacks by cost and a cProfile (which slows the run). The runs
start after the memory policy's second settle (cockpit/memory.py). The machine's own noise is
measured in the same run: an idle loop's heartbeat before and after, and a job of the UI's own
duty cycle (its CPU per frame, every frame time), whose p99 delay sets the floor p99 is read
against (frame time + frame CPU + that delay).

The last line reads `tick_to_screen p50_ms=X p99_ms=Y cpu_pct=Z`. The goals (issue 14: p99 <=
50 ms, CPU < 25 % of a core) are printed to read, never asserted; the machine is shared, so the
load average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import resource
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import instruments
from rich.text import Text
from textual._compositor import CompositorUpdate
from textual.widget import Widget
from textual.widgets import DataTable

import cockpit.screens.dashboard as dashboard
import widgets.quiet as quiet
from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit import memory
from cockpit.app import CockpitApp
from cockpit.config import FixedPolicyConfig, Settings
from cockpit.domain import Side, Tick
from cockpit.session import Session
from widgets.braille_chart import BrailleChart, draw
from widgets.cell_table import CellTable
from widgets.positions_table import PositionsTable

P0 = 100.0
DEFAULT_GC = gc.get_threshold()
NOTIONAL = 25.0
START_MS = 1_750_000_000_000
GOAL_P99_MS = 50.0
GOAL_CPU_PCT = 25.0
WIDE = FixedPolicyConfig(
    stop_loss_pct=50.0,
    breakeven_trigger_pct=20.0,
    profit_lock_trigger_pct=30.0,
    profit_lock_pct=10.0,
    tp1_pct=40.0,
    tp2_pct=80.0,
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def names(n: int) -> list[str]:
    return [f"M{i}-PERP" for i in range(n)]


def build_session(db: Path, symbols: list[str]) -> Session:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}", policy=WIDE)
    # The feed only has to exist: paused on a tick it never releases. Every tick the session
    # sees comes from the driver below.
    feed = ReplayFeed(
        {s: iter([Tick(s, START_MS, P0)]) for s in symbols},
        speed=None,
        simulated=True,
        label="bench",
        paused=True,
        start_ms=START_MS,
    )
    return Session(settings, feed, PaperBroker(settings.paper), symbols)


async def open_positions(session: Session, symbols: list[str]) -> None:
    for s in symbols:
        await session.on_tick(Tick(s, START_MS, P0))
        await session.open_position(s, Side.LONG, NOTIONAL, 1.0, who="bench")


class Probe:
    """Arrival times per symbol -> shown at the first frame after a table update."""

    def __init__(self) -> None:
        self.pending: dict[str, deque[float]] = {}
        self.synced: list[float] = []
        self.latencies_ms: list[float] = []
        self.updates = 0
        self.frames = 0

    def arrived(self, symbol: str) -> None:
        self.pending.setdefault(symbol, deque()).append(time.perf_counter())

    def table_updated(self) -> None:
        self.updates += 1
        for queue in self.pending.values():
            self.synced.extend(queue)
            queue.clear()

    def frame(self) -> None:
        self.frames += 1
        if self.synced:
            now = time.perf_counter()
            self.latencies_ms.extend((now - t) * 1000 for t in self.synced)
            self.synced.clear()


async def drive(
    session: Session, symbols: list[str], rate: float, seconds: float, probe: Probe | None
) -> int:
    """Feed `rate` ticks/s round-robin for `seconds`, on a schedule (late ticks catch up)."""
    total = int(rate * seconds)
    gap = 1.0 / rate
    start = time.perf_counter()
    for i in range(total):
        due = start + i * gap
        delay = due - time.perf_counter()
        if delay > 0.001:
            await asyncio.sleep(delay)
        symbol = symbols[i % len(symbols)]
        # a quiet walk within 0.1 % of P0: never near a level of the wide plan
        price = P0 * (1 + 0.001 * ((i * 7919) % 2001 - 1000) / 1000)
        if probe is not None:
            probe.arrived(symbol)
        await session.on_tick(Tick(symbol, START_MS + 1 + i, price))
    return total


def full_redraw() -> dict[tuple[object, str], object]:
    """Make the app draw as it did before the frame work (undone by `restore`)."""

    def chart_text(self: BrailleChart) -> Text:
        self.draws += 1
        return draw(self.spec, *self.content_size)

    saved: dict[tuple[object, str], object] = {}
    for owner, name, value in (
        (quiet, "needs_layout", lambda *_: True),
        (CellTable, "_render_cell", DataTable._render_cell),
        (CellTable, "_render_line_in_row", DataTable._render_line_in_row),
        (BrailleChart, "render_line", Widget.render_line),
        (BrailleChart, "render_lines", Widget.render_lines),
        (BrailleChart, "render", chart_text),
        (dashboard, "CHART_EVERY_S", 0.0),
    ):
        saved[(owner, name)] = getattr(owner, name)
        setattr(owner, name, value)
    return saved


def restore(saved: dict[tuple[object, str], object]) -> None:
    for (owner, name), value in saved.items():
        setattr(owner, name, value)


class Seen:
    """What the instruments saw in the streaming window of a run with the UI."""

    def __init__(self, profile: bool) -> None:
        self.gc = instruments.GcPauses()
        self.loop_late: list[float] = []
        self.callbacks = instruments.LoopCallbacks() if profile else None
        self.profile = instruments.Profile() if profile else None


async def streamed(
    session: Session, symbols: list[str], args: argparse.Namespace, probe: Probe, seen: Seen
) -> None:
    """The driver, with the GC watched, a heartbeat on the same loop (how late the loop answers
    while it draws), and, with --profile, the loop's callbacks and cProfile."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(seen.gc.on())
        if seen.callbacks is not None:
            stack.enter_context(seen.callbacks.on())
        if seen.profile is not None:
            stack.enter_context(seen.profile.on())
        beat = asyncio.create_task(instruments.heartbeat(args.seconds))
        await drive(session, symbols, args.rate, args.seconds, probe)
        seen.loop_late = await beat


async def with_ui(
    db: Path, args: argparse.Namespace, *, full: bool = False, seen: Seen | None = None
) -> tuple[Probe, float, float]:
    seen = seen or Seen(profile=False)
    # Each run starts as a fresh process would: nothing frozen, the policy not applied yet.
    gc.unfreeze()
    gc.set_threshold(*DEFAULT_GC)
    memory.POLICY = memory.MemoryPolicy()
    symbols = names(args.positions)
    session = build_session(db, symbols)
    app = CockpitApp(session)
    probe = Probe()
    original_sync = PositionsTable.sync

    def sync(self: PositionsTable, *a: Any, **k: Any) -> None:
        original_sync(self, *a, **k)
        probe.table_updated()

    PositionsTable.sync = sync  # type: ignore[method-assign]
    saved = full_redraw() if full else {}
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await open_positions(session, symbols)
            await pilot.pause(0.5)
            # A cockpit runs for hours: measure it settled (cockpit/memory.py: its second
            # settle, a one-time full collection, comes SETTLE_AGAIN_S after the journal loads).
            while memory.POLICY.settles < memory.MAX_SETTLES:
                await pilot.pause(0.1)
            original_display = app._display

            def display(screen: Any, renderable: Any) -> None:
                original_display(screen, renderable)
                if isinstance(renderable, CompositorUpdate):
                    # Headless, Textual skips turning the frame into terminal bytes: do it
                    # here, so the frame costs what it costs in a terminal.
                    renderable.render_segments(app.console)
                    probe.frame()

            app._display = display  # type: ignore[method-assign]
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            await streamed(session, symbols, args, probe, seen)
            await pilot.pause(0.5)  # the last ticks reach the screen
            cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - t0
    finally:
        PositionsTable.sync = original_sync  # type: ignore[method-assign]
        restore(saved)
    return probe, cpu, wall


async def without_ui(db: Path, args: argparse.Namespace) -> tuple[float, float]:
    symbols = names(args.positions)
    session = build_session(db, symbols)
    await session.start()
    try:
        await open_positions(session, symbols)
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        await drive(session, symbols, args.rate, args.seconds, None)
        await asyncio.sleep(0.5)
        return cpu_seconds() - cpu0, time.perf_counter() - t0
    finally:
        await session.stop()


percentile = instruments.percentile


def figures(probe: Probe, cpu: float, wall: float) -> tuple[float, float, float]:
    """p50 ms, p99 ms, CPU % of a core."""
    return (
        percentile(probe.latencies_ms, 50),
        percentile(probe.latencies_ms, 99),
        100 * cpu / wall,
    )


WIDTHS = (8, 8, 7, 10, 9, 16)


def frame_ms(cpu_pct: float, engine_pct: float, frames_per_s: float) -> float | None:
    """The UI's CPU per frame drawn (what the process spent beyond the engine's run without a
    UI, per frame): unlike the CPU %, it holds when a loaded machine caps the process."""
    if not frames_per_s:
        return None
    return (cpu_pct - engine_pct) / 100 / frames_per_s * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="ticks per second in all")
    parser.add_argument("--positions", type=int, default=10)
    parser.add_argument(
        "--baseline", choices=("full", "none"), default="full", help="also run the old draw path"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print the loop's callbacks and a cProfile"
    )
    parser.add_argument(
        "--noise-seconds", type=float, default=5.0, help="idle-loop heartbeat before the runs"
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    print(f"load average before: {os.getloadavg()}")
    # The machine's own noise, in this process: how late an idle loop's 5 ms sleep wakes up.
    noise = instruments.idle_noise(args.noise_seconds)
    seen = Seen(profile=args.profile)
    with tempfile.TemporaryDirectory() as tmp:
        base_cpu, base_wall = asyncio.run(without_ui(Path(tmp) / "base.db", args))
        old = None
        if args.baseline == "full":
            old = asyncio.run(with_ui(Path(tmp) / "old.db", args, full=True))
        probe, cpu, wall = asyncio.run(with_ui(Path(tmp) / "ui.db", args, seen=seen))
    noise_after = instruments.idle_noise(args.noise_seconds)
    base_pct = 100 * base_cpu / base_wall
    p50, p99, cpu_pct = figures(probe, cpu, wall)
    print(f"load average after: {os.getloadavg()}")
    if seen.profile is not None and seen.callbacks is not None:
        print(seen.profile.text())
        print("where the loop's time went (current UI run):")
        print("\n".join(seen.callbacks.lines(wall)))
    print("garbage collector during the current UI run:")
    print("\n".join(seen.gc.lines(wall)))
    late = seen.loop_late
    print(
        f"loop lateness during the current UI run (5 ms heartbeat): p50 "
        f"{percentile(late, 50):.1f} p99 {percentile(late, 99):.1f} max {max(late):.1f} ms"
    )
    print(f"  frozen by the settles (gc.freeze): {gc.get_freeze_count()} objects")
    for when, (n50, n99, nmax) in (("before", noise), ("after", noise_after)):
        print(
            f"machine noise {when} (idle loop, 5 ms heartbeat, {args.noise_seconds:g} s): "
            f"p50 {n50:.1f} p99 {n99:.1f} max {nmax:.1f} ms"
        )
    print(f"{args.rate:g} ticks/s over {args.positions} positions for {args.seconds:g} s each run")
    Row = tuple[str, float | None, float | None, float, float | None, float | None, float | None]
    rows: list[Row] = [("no UI (engine only)", None, None, base_pct, None, None, None)]
    if old is not None:
        o50, o99, ocpu = figures(*old)
        rows.append(
            (
                "UI, full redraw (baseline)",
                o50,
                o99,
                ocpu,
                old[0].updates / old[2],
                old[0].frames / old[2],
                frame_ms(ocpu, base_pct, old[0].frames / old[2]),
            )
        )
    rate = probe.frames / wall
    rows.append(
        (
            "UI, current",
            p50,
            p99,
            cpu_pct,
            probe.updates / wall,
            rate,
            frame_ms(cpu_pct, base_pct, rate),
        )
    )
    head = ("p50 ms", "p99 ms", "cpu %", "updates/s", "frames/s", "ui cpu ms/frame")
    print(f"{'run':28} " + " ".join(f"{h:>{w}}" for h, w in zip(head, WIDTHS, strict=True)))
    for name, *values in rows:
        pairs = zip(values, WIDTHS, strict=True)
        cells = [f"{v:{w}.1f}" if v is not None else "-".rjust(w) for v, w in pairs]
        print(f"{name:28} " + " ".join(cells))
    if old is not None:
        o50, o99, ocpu = figures(*old)
        ratios = f"p50 {p50 / o50:.2f}, p99 {p99 / o99:.2f}, cpu {cpu_pct / ocpu:.2f}"
        now_f, old_f = rows[-1][-1], rows[-2][-1]
        if now_f is not None and old_f:
            ratios += f", ui cpu per frame {now_f / old_f:.2f}"
        print(f"ratio current/baseline: {ratios}")
    print(
        f"ratio current/no UI cpu: {cpu_pct / base_pct if base_pct else float('nan'):.2f}; "
        f"goals p99 <= {GOAL_P99_MS:g} ms, cpu < {GOAL_CPU_PCT:g} %"
    )
    noise_p99 = max(noise[1], noise_after[1])
    print(
        f"p99 {p99:.1f} ms against the machine's idle noise p99 {noise_p99:.1f} ms (the worse "
        f"of before and after): ratio {p99 / noise_p99 if noise_p99 > 0 else float('nan'):.1f}"
    )
    # The floor on this machine now: a tick waits up to a frame time for its frame, which
    # costs the frame's CPU, delayed by the machine as much as a job of that duty cycle is.
    frame_s = 1 / Settings().ui_refresh_hz
    work = rows[-1][-1] or 0.0
    d50, d99 = instruments.duty_noise(args.noise_seconds, work, frame_s * 1000)
    floor = frame_s * 1000 + work + d99
    print(
        f"machine noise for a job of the UI's duty ({work:.1f} ms CPU every "
        f"{frame_s * 1000:.0f} ms, {args.noise_seconds:g} s): added delay p50 {d50:.1f} p99 "
        f"{d99:.1f} ms; floor for p99 = frame time + frame CPU + that = {floor:.1f} ms; "
        f"p99 / floor {p99 / floor:.2f}"
    )
    print(f"tick_to_screen p50_ms={p50:.1f} p99_ms={p99:.1f} cpu_pct={cpu_pct:.1f}")


if __name__ == "__main__":
    main()

"""What does one tick cost per open position, engine alone vs. the whole runtime?

    uv run python bench/tick_path.py [--ticks N] [--positions 1,10,50] [--repeats K]

For each count N of open paper positions (all long, one per symbol: the venues hold one net
position per market, so N positions means N markets, each ticking) the same quiet price path (a
random walk that stays within +-0.2 % of 100, far from every level of a wide `fixed` plan, so
nothing fires) is run through:

- engine: the bare `cockpit.engine.exits.on_price(pos, price, ts)` over positions built with
  `cockpit.engine.policy.open_position`, a plain double loop: the floor the runtime sits on;
- session path: `Session.on_tick(tick)` of a started `cockpit.session.Session` with a real
  `PaperBroker` and a real SQLite store in a temp dir, the positions opened through
  `Session.open_position` (intent row, paper fill, trade row), every tick of the pass back to
  back, then `store.flush()` (the one UPDATE of every dirty position): what the runtime adds per
  position-tick, the figure the goal is read on;
- full path with loop turns: the same, but the loop yields to the event loop after every step
  (one tick per symbol) so the store's writer runs its throttled snapshot flushes (every
  `state_flush_ms` of wall time) as it does live. With one position that is a loop turn per tick
  (an epoll call, several microseconds): the event loop's cost, shown beside, not the session's.

Figures are microseconds per position-tick (elapsed / (ticks x positions)) in CPU time of the
process (`process_time`: the machine is shared, and wall time on a loaded 2-core machine is mostly
waiting for a core; it includes the SQLite thread's work), and the full path's wall time too; the
median of K timed repeats after one untimed warm-up pass. Engine and paths run back to back in
each repeat and the ratio columns are the median of the per-repeat ratios. The load average is
printed before and after. The goal line is a target to read, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import FixedPolicyConfig, Settings
from cockpit.domain import PositionState, Side, Tick
from cockpit.engine.exits import on_price
from cockpit.engine.policy import fixed_plan, open_position
from cockpit.session import Session

SYMBOL = "SOL-PERP"
P0 = 100.0
BAND = 0.002  # the quiet path stays within +-0.2 % of P0
STEP = 0.0002  # largest move between two ticks (0.02 %)
TICK_GAP_MS = 100
NOTIONAL = 25.0
LEVERAGE = 2.0
GOAL_US = 5.0
GOAL_RATIO = 3.0
# Every level far beyond the quiet band: no stop, target, breakeven or lock can fire.
WIDE = FixedPolicyConfig(
    stop_loss_pct=50.0,
    breakeven_trigger_pct=20.0,
    profit_lock_trigger_pct=30.0,
    profit_lock_pct=10.0,
    tp1_pct=40.0,
    tp2_pct=80.0,
)


def quiet_prices(n: int, seed: int = 7) -> list[float]:
    """A reproducible random walk reflected at the edges of the +-BAND band around P0."""
    rng = random.Random(seed)
    lo, hi = P0 * (1 - BAND), P0 * (1 + BAND)
    p, out = P0, []
    for _ in range(n):
        p += rng.uniform(-STEP, STEP) * P0
        if p > hi:
            p = 2 * hi - p
        elif p < lo:
            p = 2 * lo - p
        out.append(p)
    return out


def symbols(n: int) -> list[str]:
    return [f"M{i}-PERP" for i in range(n)]


def tick_run(prices: list[float], start_ms: int) -> list[Tick]:
    """The path as ticks stamped after `start_ms`: each pass gets later timestamps."""
    return [Tick(SYMBOL, start_ms + TICK_GAP_MS * (i + 1), p) for i, p in enumerate(prices)]


def market_steps(ticks: list[Tick], names: list[str]) -> list[list[Tick]]:
    """Each tick of the path once per market (built before the timed loop)."""
    return [[Tick(name, t.ts_ms, t.price) for name in names] for t in ticks]


def engine_positions(n: int, opened_ms: int) -> list[PositionState]:
    size = NOTIONAL / P0
    return [
        open_position(
            fixed_plan(Side.LONG, P0, size, WIDE),
            symbol=SYMBOL,
            leverage=LEVERAGE,
            opened_ms=opened_ms,
        )
        for _ in range(n)
    ]


def engine_pass(positions: list[PositionState], ticks: list[Tick]) -> tuple[float, int]:
    """CPU seconds for the whole pass and how many calls decided anything (must be 0)."""
    loud = 0
    start = time.process_time()
    for tick in ticks:
        price = tick.price
        ts = tick.ts_ms
        for pos in positions:
            if on_price(pos, price, ts):
                loud += 1
    return time.process_time() - start, loud


async def open_session(db: Path, n: int, first: Tick) -> Session:
    settings = Settings(db_url=f"sqlite+aiosqlite:///{db}", policy=WIDE)
    names = symbols(n)
    # The feed only has to exist: paused on a tick it never releases, so its task stays idle
    # and every tick the session sees comes from the timed loop.
    feed = ReplayFeed(
        {name: iter([Tick(name, first.ts_ms, first.price)]) for name in names},
        speed=None,
        simulated=True,
        label="bench",
        paused=True,
        start_ms=first.ts_ms,
    )
    session = Session(settings, feed, PaperBroker(settings.paper), names)
    await session.start()
    for name in names:
        await session.on_tick(Tick(name, first.ts_ms, first.price))
        await session.open_position(name, Side.LONG, NOTIONAL, LEVERAGE, who="bench")
    return session


async def session_pass(session: Session, steps: list[list[Tick]]) -> float:
    """CPU seconds for every tick back to back, then the flush of every dirty position."""
    store = session.store
    assert store is not None, "the session is not started"
    start = time.process_time()
    for step in steps:
        for tick in step:
            await session.on_tick(tick)
    await store.flush()
    return time.process_time() - start


async def full_pass(session: Session, steps: list[list[Tick]]) -> tuple[float, float]:
    """CPU and wall seconds with a loop turn after every step (flushes run as they fall due)."""
    store = session.store
    assert store is not None, "the session is not started"
    start, wall = time.process_time(), time.perf_counter()
    for step in steps:
        for tick in step:
            await session.on_tick(tick)
        await asyncio.sleep(0)  # let the writer run a due snapshot flush
    await store.flush()
    return time.process_time() - start, time.perf_counter() - wall


def quiet_check(session: Session, n: int) -> None:
    positions = session.latest.positions
    if len(positions) != n or any(p.closed or p.stop != p.plan.stop_loss for p in positions):
        raise SystemExit("the quiet path fired an exit or moved a stop: the figures are void")


Repeat = tuple[float, float, float, float]
"""Seconds of one repeat: engine CPU, session path CPU, full path CPU, full path wall."""


async def measure(n: int, prices: list[float], repeats: int, tmp: Path) -> list[Repeat]:
    """Per-repeat seconds, warm-up pass excluded."""
    clock = int(time.time() * 1000)
    span = TICK_GAP_MS * (len(prices) + 1)
    session = await open_session(tmp / f"bench-{n}.db", n, Tick(SYMBOL, clock, P0))
    engine_pos = engine_positions(n, clock)
    out: list[Repeat] = []
    try:
        for r in range(repeats + 1):  # r == 0 warms up (statement caches, branch paths)
            gc.collect()
            e, loud = engine_pass(engine_pos, tick_run(prices, clock + 2 * r * span))
            if loud:
                raise SystemExit(f"the quiet path made the engine act {loud} times")
            steps = market_steps(tick_run(prices, clock + 2 * r * span), symbols(n))
            gc.collect()
            s = await session_pass(session, steps)
            steps = market_steps(tick_run(prices, clock + (2 * r + 1) * span), symbols(n))
            gc.collect()
            f, fw = await full_pass(session, steps)
            quiet_check(session, n)
            if r:
                out.append((e, s, f, fw))
    finally:
        await session.stop()
    return out


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} CPUs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=2000, help="ticks per pass (default 2000)")
    parser.add_argument("--positions", default="1,10,50", help="comma list (default 1,10,50)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes (default 5)")
    args = parser.parse_args()
    counts = [int(x) for x in args.positions.split(",") if x.strip()]
    if args.ticks < 1 or args.repeats < 1 or not counts or min(counts) < 1:
        parser.error("--ticks, --repeats and every --positions entry must be >= 1")
    # SHADOW flags every entry past the LIVE-SMALL limits with a warning: not news here.
    logging.basicConfig(level=logging.ERROR)

    prices = quiet_prices(args.ticks)
    print(
        f"tick path: {args.ticks} quiet ticks (+-{BAND:.1%}) per pass, median of {args.repeats} "
        f"after a warm-up, one position per symbol, python {sys.version.split()[0]}"
    )
    print(f"load average before: {load()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            runs = asyncio.run(measure(n, prices, args.repeats, Path(tmp)))
            per = 1e6 / (args.ticks * n)

            def us(i: int, runs: list[Repeat] = runs, per: float = per) -> float:
                return statistics.median(run[i] * per for run in runs)

            def ratio(i: int, runs: list[Repeat] = runs) -> float:
                return statistics.median(run[i] / run[0] for run in runs)

            rows.append((n, us(0), us(1), ratio(1), us(2), ratio(2), us(3)))
    print()
    print(
        f"{'positions':>9} {'engine':>8} {'session':>8} {'x engine':>9} {'full+loop':>10} "
        f"{'x engine':>9} {'full wall':>10}  goal (session path)"
    )
    print(f"{'':>9} {'us cpu':>8} {'us cpu':>8} {'':>9} {'us cpu':>10} {'':>9} {'us':>10}")
    for n, engine_us, session_us, session_x, full_us, full_x, wall_us in rows:
        met = session_us <= GOAL_US and session_x <= GOAL_RATIO
        print(
            f"{n:>9} {engine_us:>8.3f} {session_us:>8.3f} {session_x:>8.1f}x {full_us:>10.3f} "
            f"{full_x:>8.1f}x {wall_us:>10.3f}  {'met' if met else 'not met'}"
        )
    print()
    print(
        f"goal: <= {GOAL_US:g} us per position-tick and <= {GOAL_RATIO:g}x the engine "
        "(a target to read, not asserted); us per position-tick"
    )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()

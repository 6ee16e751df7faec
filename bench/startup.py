"""How long from `cockpit demo` to its first frame, and to a live price on it? Goals: first frame
in 0.6 s, a live price within 1 s (issue 14 item 3).

    uv run python bench/startup.py [--runs 5] [--no-live]

Each run starts the real command in a pseudo-terminal (150x44, as a trader's terminal), a fresh
interpreter with bytecode cached, and reads what it draws: the first frame is the first time the
dashboard's "Open positions" panel is on the terminal, the live price the first time the header
shows a price (`SOL-PERP 150.1234`). Times are from the process's start, so they include the
interpreter's own start-up. Then `q` quits it.

Measured the same way in the same runs, interleaved: a bare Textual app that draws one panel
(the baseline: no cockpit can draw sooner than Textual itself), and, unless `--no-live`, the
live cockpit (`cockpit --feed binanceusdm`) against the fake exchange of tests/fakes on
127.0.0.1 (ccxt's import and the exchange's REST and websocket hand-shake come after the first
frame). A warm-up run of each comes first (bytecode, the demo's database). Also printed: what
the settings cost before the first frame (pydantic's import, the model classes, validating a
config with every section), timed in fresh interpreters. Its last line is
`first frame median X s, live price median Y s` (the demo's), after the ratios of both to the
bare Textual app's first frame.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLUMNS, ROWS = 150, 44
FIRST_FRAME = b"Open positions"
ESCAPES = re.compile(
    rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])"
)
CEILING_S = 120.0

EVERY_SECTION = """
[policy]
tp1_pct = 1.4
[atr]
period = 10
[quality_tiers]
tiers = [{ name = "all", min_score = 50, tp1_fraction = 1.0, tp1_atr = 1.0 }]
[direction_bias]
short_mult = 1.1
[exits]
default_policy = "fixed"
[paper]
taker_fee_bps = 4.0
[risk]
max_notional_usdt = 40.0
[demo]
start_price = 140.0
[feed]
symbols = ["SOL/USDT:USDT", "BTC/USDT:USDT"]
[analytics]
starting_equity_usdt = 2000.0
[analytics.gates]
atr_min = 0.4
[webhook]
enabled = false
[alerts]
[keymap]
long = "n"
"""

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static

class Bare(App[None]):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        panel = Static("")
        panel.border_title = "Open positions"
        panel.styles.border = ("round", "white")
        yield panel
        yield Footer()

Bare().run()
"""


# What the settings cost before the first frame (issue 14 item 3 asks whether pydantic's
# validation of the optional sections should move after it): the library's import, the
# settings' model classes (pydantic builds their validators when the classes are made), and
# validating a config with every section set, each timed in a fresh interpreter.
CONFIG_COST = """
import sys, time
t0 = time.perf_counter()
import pydantic, pydantic_settings
t1 = time.perf_counter()
import cockpit.config as config
t2 = time.perf_counter()
config.load_settings(__import__("pathlib").Path(sys.argv[1]))
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def config_cost(env: dict[str, str], config: Path, runs: int) -> str:
    """Medians over `runs` fresh interpreters: pydantic's import, the model classes, one
    validation of every section."""
    rows = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", CONFIG_COST, str(config)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows.append([float(x) for x in out.split()])
    pydantic_s, models_s, validate_s = (statistics.median(col) for col in zip(*rows, strict=True))
    return (
        f"settings before the first frame (median of {runs}): pydantic's import "
        f"{pydantic_s:.3f} s, the settings' model classes {models_s:.3f} s, validating every "
        f"section {validate_s * 1000:.1f} ms"
    )


@dataclass
class Seen:
    first_frame: float | None = None
    live_price: float | None = None


async def watch(argv: list[str], env: dict[str, str], price: re.Pattern[bytes] | None) -> Seen:
    """Run `argv` on a pseudo-terminal; the times from its start to the first frame and to a
    price (None: not waited for). Quits it with `q` (killed if it does not go)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    loop = asyncio.get_running_loop()
    seen = Seen()
    screen = bytearray()
    done = asyncio.Event()
    began = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)

    def readable() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(master)
            done.set()
            return
        now = time.perf_counter() - began
        # what just arrived, with the end of what came before (an escape sequence or the text
        # looked for may be split between two reads), without the escape sequences
        recent = ESCAPES.sub(b"", bytes(screen[-1024:]) + data)
        screen.extend(data)
        if seen.first_frame is None and FIRST_FRAME in recent:
            seen.first_frame = now
        if seen.first_frame is not None and (price is None or price.search(recent)):
            if price is not None and seen.live_price is None:
                seen.live_price = now
            done.set()

    loop.add_reader(master, readable)
    try:
        async with asyncio.timeout(CEILING_S):
            await done.wait()
    except TimeoutError:
        pass
    finally:
        with contextlib.suppress(OSError):
            os.write(master, b"q")
        try:
            async with asyncio.timeout(30):
                while proc.poll() is None:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            proc.kill()
        with contextlib.suppress(ValueError):
            loop.remove_reader(master)
        os.close(master)
        proc.wait()
    tail = ESCAPES.sub(b"", bytes(screen[-3000:]))[-800:].decode(errors="replace")
    if seen.first_frame is None:
        raise RuntimeError(f"{argv[2:]} drew no first frame; the terminal showed: {tail!r}")
    if price is not None and seen.live_price is None:
        print(f"no price from {argv[2:]}; the terminal showed: {tail!r}", file=sys.stderr)
    return seen


class LiveExchange:
    """The fake Binance USD-M of tests/fakes, with a book and a mark price every 100 ms."""

    def __init__(self) -> None:
        from tests.fakes.binance_usdm import FakeBinanceUSDM

        self.fake = FakeBinanceUSDM(history_minutes=300)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveExchange:
        await self.fake.start()
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.fake.stop()

    async def _tick(self) -> None:
        while True:
            await self.fake.book(150.00, 150.04)
            await self.fake.mark_price(150.02)
            await asyncio.sleep(0.1)


def environment(tmp: Path) -> dict[str, str]:
    # A trader's Python caches bytecode; a sandbox may forbid it (PYTHONDONTWRITEBYTECODE),
    # which makes every start compile SQLAlchemy and Textual from source. Measure the normal case.
    # COLUMNS and LINES would override the terminal's size (a test runner sets them).
    unset = ("PYTHONDONTWRITEBYTECODE", "COLUMNS", "LINES")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    return env | {
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
        "COCKPIT_LOG_DIR": str(tmp / "log"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_STATE_HOME": str(tmp / "state"),
    }


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


async def bench(runs: int, live: bool) -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = environment(tmp)
        config = tmp / "empty.toml"
        config.write_text("")
        demo = [
            sys.executable,
            "-m",
            "cockpit.cli",
            "--config",
            str(config),
            "--db",
            f"sqlite+aiosqlite:///{tmp / 'demo.db'}",
            "demo",
            "--seed",
            "1",
        ]
        bare = [sys.executable, "-c", BARE_APP]
        demo_price = re.compile(rb"SOL-PERP \d+\.\d+")
        rows: list[tuple[float, Seen, Seen | None]] = []
        async with contextlib.AsyncExitStack() as stack:
            live_argv: list[str] = []
            live_price = re.compile(rb"SOL/USDT:USDT \d+\.\d+")
            if live:
                exchange = await stack.enter_async_context(LiveExchange())
                live_config = tmp / "live.toml"
                live_config.write_text(
                    f'db_url = "sqlite+aiosqlite:///{tmp / "live.db"}"\n'
                    "[feed]\n"
                    'exchange = "binanceusdm"\n'
                    'symbol = "SOL/USDT:USDT"\n'
                    f'origin = "{exchange.fake.origin}"\n'
                    "backfill_minutes = 10\n"
                )
                live_argv = [sys.executable, "-m", "cockpit.cli", "--config", str(live_config)]
            # warm-up: bytecode, the databases created and migrated
            await watch(bare, env, None)
            await watch(demo, env, demo_price)
            if live:
                await watch(live_argv, env, live_price)
            every_section = tmp / "every.toml"
            every_section.write_text(EVERY_SECTION)
            settings_line = config_cost(env, every_section, runs)
            for _ in range(runs):
                baseline = await watch(bare, env, None)
                cockpit = await watch(demo, env, demo_price)
                on_feed = await watch(live_argv, env, live_price) if live else None
                assert baseline.first_frame is not None
                rows.append((baseline.first_frame, cockpit, on_feed))
    load_after = os.getloadavg()

    print(
        f"`cockpit demo` in a {COLUMNS}x{ROWS} pseudo-terminal, {runs} runs after a warm-up, "
        f"bytecode cached; {os.cpu_count()} cores, load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after"
    )
    header = f"{'run':>4} {'bare Textual':>13} {'demo frame':>11} {'demo price':>11}"
    if live:
        header += f" {'live frame':>11} {'live price':>11}"
    print(header + "   (seconds from the process's start)")
    for i, (base, cockpit, on_feed) in enumerate(rows, 1):
        line = f"{i:>4} {base:>13.3f} {cockpit.first_frame or 0:>11.3f}"
        line += f" {cockpit.live_price or float('nan'):>11.3f}"
        if on_feed is not None:
            line += (
                f" {on_feed.first_frame or 0:>11.3f} {on_feed.live_price or float('nan'):>11.3f}"
            )
        print(line)
    bare_frames = [r[0] for r in rows]
    frames = [r[1].first_frame or 0.0 for r in rows]
    prices = [p for r in rows if (p := r[1].live_price) is not None]
    print(f"bare Textual app, first frame: {spread(bare_frames)}")
    print(f"cockpit demo, first frame:     {spread(frames)}")
    print(f"cockpit demo, live price:      {spread(prices) if prices else 'never shown'}")
    if live:
        live_frames = [r[2].first_frame or 0.0 for r in rows if r[2] is not None]
        live_prices = [p for r in rows if r[2] is not None and (p := r[2].live_price)]
        print(f"live feed (fake exchange), first frame: {spread(live_frames)}")
        print(
            f"live feed (fake exchange), live price:  {spread(live_prices) if live_prices else '-'}"
        )
    print(settings_line)
    ratio = statistics.median(frames) / statistics.median(bare_frames)
    price_ratio = statistics.median(prices) / statistics.median(bare_frames) if prices else 0.0
    print(
        f"ratio to the bare Textual first frame: first frame {ratio:.2f}, live price "
        f"{price_ratio:.2f} (goals: first frame <= 0.6 s, live price <= 1.0 s)"
    )
    price_median = statistics.median(prices) if prices else float("nan")
    frame_median = statistics.median(frames)
    print(f"first frame median {frame_median:.3f} s, live price median {price_median:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-live", action="store_true", help="the demo and the baseline only")
    args = parser.parse_args()
    asyncio.run(bench(args.runs, live=not args.no_live))


if __name__ == "__main__":
    main()

"""How fast is the counterfactual ledger, and does it ever hold up the event loop?

    uv run python bench/ledger.py [--trades 1000] [--every-min 60]

A throwaway SQLite journal gets `--trades` closed longs and shorts on SOL (one every
`--every-min` minutes, fixed plans with an ATR and a quality score) and the 1m candles of the
real SOL perp file (`../shared/data/market/SOLUSDT_binance-usdm-perp_1m_*.csv.gz`; a random walk
where it is absent). Then one ledger pass (`Ledger.refresh`, as the cockpit runs it after a
close) computes every trade under the 3 policies and its own plan on up to 48 h of candles.

Printed, beside a baseline measured in the same run on the same trades:
- trades/s of the pass (reads, kernel in a worker thread, one transaction per batch), and the
  engine's own Python loop (`cockpit.backtest.reference.run_trade`) on a sample of the same
  paths and plans: the ratio;
- the longest the event loop went without running a 5 ms heartbeat during the pass ("stall"),
  and the same heartbeat over an idle loop for as long (the machine's noise floor). The stall is
  mostly the interpreter's full garbage collections (50-120 ms here: numba, scipy and ccxt make
  a large heap, and any thread's allocations trigger them); `--freeze` moves the start-up heap
  out of their reach (`gc.freeze()`), as the cockpit's ledger job now does once its sets are
  built (`cockpit/memory.py`).
Figures, never asserts: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.backtest.ledger import ledger_sets  # noqa: E402
from cockpit.backtest.ledger_job import Ledger  # noqa: E402
from cockpit.backtest.ledger_window import HORIZON_MS, usable_path, window_end_ms  # noqa: E402
from cockpit.backtest.reference import run_trade  # noqa: E402
from cockpit.config import Settings  # noqa: E402
from cockpit.domain import Candle, Side  # noqa: E402
from cockpit.engine.policy import plan_for  # noqa: E402
from state.ledger_rows import path_bars, trade_inputs  # noqa: E402
from state.store import Store  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "market"
MINUTE = 60_000
SYMBOL = "SOL-PERP"


def load_bars(minutes: int) -> list[tuple[int, float, float, float, float]]:
    files = sorted(DATA.glob("SOLUSDT_binance-usdm-perp_1m_*.csv.gz"))
    if files:
        from cockpit.backtest.data import load_market

        m = load_market(files[0])
        print(f"candles: {files[0].name} ({len(m)} bars)")
        return list(
            zip(
                m.ts.tolist(),
                m.open.tolist(),
                m.high.tolist(),
                m.low.tolist(),
                m.close.tolist(),
                strict=True,
            )
        )
    print("candles: a random walk (the real SOL file is absent)")
    rng = random.Random(7)
    t0, price, out = 1_746_316_800_000, 150.0, []
    for i in range(minutes):
        close = price * (1 + rng.gauss(0, 0.0015))
        hi, lo = max(price, close) * 1.0005, min(price, close) * 0.9995
        out.append((t0 + i * MINUTE, price, hi, lo, close))
        price = close
    return out


def build_journal(path: Path, n: int, every_min: int, bars: list[tuple[int, ...]]) -> None:
    """n closed trades, each held 30 minutes, and every bar as the recorder would keep it."""
    settings = Settings()
    rng = random.Random(11)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO candles (symbol, timeframe, ts_ms, open, high, low, close, volume, source) "
        "VALUES (?, '1m', ?, ?, ?, ?, ?, 1.0, 'bench')",
        [(SYMBOL, *b) for b in bars],
    )
    rows = []
    for i in range(n):
        k = 300 + i * every_min
        if k + 31 >= len(bars):
            break
        ts, close = int(bars[k][0]), float(bars[k][4])
        side = Side.LONG if i % 2 == 0 else Side.SHORT
        atr = close * 0.004
        plan = plan_for(
            settings, policy="fixed", symbol=SYMBOL, side=side, entry=close, size=1.0, atr=atr
        )
        exit_price = float(bars[k + 30][4])
        pnl = (exit_price - close) * side.sign
        rows.append(
            (
                SYMBOL, side.value, "shadow", "paper", "closed", close, ts + MINUTE // 2, 1.0,
                0.0, 1.0, "fixed", plan.to_json(), plan.stop_loss, "stop_loss", 0, 0, 0, 0.0,
                0.0, 0.0, 0.0, pnl, 0.0, exit_price, ts + 31 * MINUTE, "manual_close",
                ts + 31 * MINUTE, atr, float(rng.choice((55, 65, 75, 90))),
            )
        )  # fmt: skip
    conn.executemany(
        "INSERT INTO trades (symbol, side, mode, venue, status, entry_price, entry_ts_ms, "
        "initial_size, size, leverage, policy, plan_json, stop_price, stop_role, tp1_filled, "
        "tp2_filled, trailing_active, mfe_pct, mae_pct, mfe_quote, mae_quote, realized_pnl, "
        "fees, exit_price, exit_ts_ms, exit_reason, updated_at_ms, atr, quality_score) "
        "VALUES (" + ", ".join("?" * 29) + ")",
        rows,
    )
    conn.commit()
    conn.close()


async def heartbeat_stall(work: Awaitable[object]) -> tuple[float, float]:
    """(seconds the work took, longest gap in ms between 5 ms heartbeats meanwhile)."""
    worst = 0.0
    done = False

    async def beat() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            worst = max(worst, (now - last) * 1000 - 5.0)
            last = now

    beater = asyncio.create_task(beat())
    t0 = time.perf_counter()
    await work
    took = time.perf_counter() - t0
    done = True
    await beater
    return took, worst


async def engine_rate(store: Store, ids: list[int], bars: list[tuple[int, ...]]) -> float:
    """Trades per second of the engine's own loop on the same paths, 4 plans each."""
    from cockpit.domain import ExitPlan

    trades = await trade_inputs(store, ids)
    by_ts = {int(b[0]): i for i, b in enumerate(bars)}
    t0 = time.perf_counter()
    for trade in trades:
        first = -(-trade.entry_ts_ms // MINUTE) * MINUTE
        k = by_ts[first]
        window = bars[k : k + (window_end_ms(trade) - first) // MINUTE]
        path, _ = usable_path(trade, window)  # type: ignore[arg-type]
        candles = [Candle(SYMBOL, "1m", int(b[0]), *b[1:], 1.0) for b in path]
        plan = ExitPlan.from_json(trade.plan_json)
        for _ in range(4):
            run_trade(plan, candles, first_index=0)
    return len(trades) / (time.perf_counter() - t0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1000)
    parser.add_argument("--every-min", type=int, default=60)
    parser.add_argument(
        "--freeze", action="store_true", help="gc.freeze() the start-up heap before the pass"
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    minutes = args.trades * args.every_min + HORIZON_MS // MINUTE + 400
    bars = load_bars(minutes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.db"
        store = await Store.open(f"sqlite+aiosqlite:///{path}")
        build_journal(path, args.trades, args.every_min, bars)
        ledger = Ledger(Settings(), lambda: store, lambda lvl, t: None, lambda: 0)
        # numba's import and the kernel's cache load out of the way (once per process)
        ledger.sets = await asyncio.to_thread(ledger_sets, Settings())
        (first,) = await trade_inputs(store, [1])
        path = await path_bars(store, SYMBOL, "1m", first.entry_ts_ms, window_end_ms(first))
        await asyncio.to_thread(ledger.compute, [(first, path)], ledger.sets)
        if args.freeze:
            gc.collect()
            gc.freeze()  # what a long-lived process can do after start-up: see the docstring
        took, stall = await heartbeat_stall(ledger.refresh())
        n = ledger.computed_last
        _, idle = await heartbeat_stall(asyncio.sleep(min(took, 10.0)))
        sample = list(range(1, n + 1, max(1, n // 20)))
        engine = await engine_rate(store, sample, bars)
        await store.close()
    rate = n / took if took > 0 else math.inf
    print(f"trades: {n}, 4 sets each, up to {HORIZON_MS // 3_600_000} h of 1m candles per trade")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"ledger: {rate:,.0f} trades/s (engine loop: {engine:,.1f}/s, ratio {rate / engine:,.1f}), "
        f"max loop stall {stall:.1f} ms (idle {idle:.1f} ms)"
    )


if __name__ == "__main__":
    asyncio.run(main())

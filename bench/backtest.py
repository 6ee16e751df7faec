"""How fast is the exit lab's kernel, against the engine's own loop?

    uv run python bench/backtest.py [--trades 5000] [--bars 1440] [--sample 0.01] [--file F]

5,000 trades x 1,440 one-minute bars x 48 parameter sets on the real SOL perp file
(../shared/data/market, the issue's benchmark): entries spread evenly over the file, alternate
sides, scores cycling 90/75/65, each trade running at most `--bars` bars (then end_of_data), a
grid of 48 sets mixing all policies (fixed and atr_scaled: TP1 distance x TP1 fraction x
direction bias; quality_tiers: runner trail x breakeven trigger x bias), candle path.

Figures: trade x parameter-set simulations per second of the kernel in this process, with one
thread and with `--threads` threads (everything `run.simulate_sets` does per file: the sparse
tables, the sets encoded as numbers, plans built and simulated in the compiled loop; the file
load, the ATRs and the one-off numba compile/cache load are outside the timed span, a warm-up
run pays them), the median of `--repeats` runs; the same work with `--workers` spawned
processes, pool start included; the engine's own Python loop
(`cockpit.backtest.reference.run_trade` on `plan_for` plans) on a `--sample` share of the same
(trade, set) pairs, which must give identical fills (checked and printed); the ratio; peak RSS
of this process and its children. Nothing is asserted on time. The goal line is a target to
read. The last line reads `sims/s: N (engine loop: M/s, ratio R, peak RSS X MB)`, N being the
faster of the in-process figures.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.backtest import kernel  # noqa: E402
from cockpit.backtest.data import entry_atrs, load_market, sides  # noqa: E402
from cockpit.backtest.plans import ParamSet, Trades  # noqa: E402
from cockpit.backtest.reference import run_trade  # noqa: E402
from cockpit.backtest.run import simulate_sets, trade_bounds  # noqa: E402
from cockpit.backtest.tables import CANDLES  # noqa: E402
from cockpit.config import FixedPolicyConfig, QualityTier, QualityTiersConfig, Settings  # noqa: E402
from cockpit.domain import Candle, Side  # noqa: E402
from cockpit.engine.policy import PlanRefused, plan_for  # noqa: E402

SOL = (
    ROOT
    / ".."
    / "shared"
    / "data"
    / "market"
    / "SOLUSDT_binance-usdm-perp_1m_2025-05-04_2025-06-24.csv.gz"
)


def grid() -> list[ParamSet]:
    """48 sets: 12 fixed, 12 atr_scaled, 24 quality_tiers."""
    base = Settings()
    sets: list[ParamSet] = []
    for policy in ("fixed", "atr_scaled"):
        for tp1 in (1.0, 1.5, 2.0):
            for frac in (0.5, 0.75):
                for bias in (False, True):
                    fixed = FixedPolicyConfig(
                        **{
                            **base.policy.model_dump(),
                            "tp1_pct": tp1,
                            "tp1_fraction": frac,
                            "tp2_fraction": 0.25,
                        }
                    )
                    sets.append(
                        ParamSet(
                            policy,
                            fixed=fixed,
                            bias=bias,
                            overrides={"tp1_pct": tp1, "tp1_fraction": frac},
                        )
                    )
    for trail in (1.5, 2.0, 2.5, 3.0):
        tiers = QualityTiersConfig(
            tiers=[
                QualityTier(**{**t.model_dump(), "trail_atr": trail})
                for t in base.quality_tiers.tiers
            ]
        )
        for be in (0.3, 0.5, 0.8):
            fixed = FixedPolicyConfig(**{**base.policy.model_dump(), "breakeven_trigger_pct": be})
            for bias in (False, True):
                sets.append(
                    ParamSet(
                        "quality_tiers",
                        fixed=fixed,
                        tiers=tiers,
                        bias=bias,
                        overrides={"trail_atr": trail, "breakeven_trigger_pct": be},
                    )
                )
    return sets


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", type=Path, default=SOL)
    ap.add_argument("--trades", type=int, default=5_000)
    ap.add_argument("--bars", type=int, default=1_440)
    ap.add_argument("--sample", type=float, default=0.01, help="share run by the engine loop")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not args.file.is_file():
        print(f"no candle file at {args.file}: the benchmark needs the real SOL perp data")
        return 1

    market = load_market(args.file)
    sets = grid()
    first = 300  # after 14 closed 15m bars
    span = len(market) - 1 - first
    entries = (first + (np.arange(args.trades) * span) // args.trades).astype(np.int64)
    atr = entry_atrs(market, entries, "15m", 14)
    scores = np.resize(np.array([90.0, 75.0, 65.0]), args.trades)
    trades = Trades(sides("alternate", args.trades), market.close[entries], atr, scores)
    n_sims = args.trades * len(sets)
    kind = CANDLES
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{args.file.name}: {len(market)} bars; {args.trades} trades x {len(sets)} sets "
        f"x <= {args.bars} bars = {n_sims:,} simulations"
    )

    starts, ends = trade_bounds(market, entries, args.bars)

    def one_run(threads: int = 1, workers: int = 1) -> kernel.Results:
        return simulate_sets(
            market, sets, trades, starts, ends, kind=kind, threads=threads, workers=workers
        )

    cpu_rates: list[float] = []

    def timed(label: str, threads: int) -> tuple[float, kernel.Results]:
        one_run(threads)  # compile or load the cache
        times = []
        cpu = []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            out = one_run(threads)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        rate = n_sims / statistics.median(times)
        cpu_rate = n_sims / statistics.median(cpu)
        cpu_rates.append(cpu_rate)
        print(
            f"kernel, {label}: {statistics.median(times) * 1e3:.1f} ms, {rate:,.0f} sims/s "
            f"({cpu_rate:,.0f} per CPU second)"
        )
        return rate, out

    fields = ("fill_bar", "fill_price", "fill_frac", "fill_reason", "n_fills", "pnl_pct")
    kernel_rate, results = timed("1 process, 1 thread", 1)
    if args.threads > 1:
        rate, multi = timed(f"1 process, {args.threads} threads", args.threads)
        same = all(np.array_equal(getattr(multi, f), getattr(results, f)) for f in fields)
        print(f"  {args.threads} threads identical to 1: {'yes' if same else 'NO'}")
        kernel_rate = max(kernel_rate, rate)

    if args.workers > 1:
        t0 = time.perf_counter()
        multi = one_run(workers=args.workers)
        dt = time.perf_counter() - t0
        same = all(np.array_equal(getattr(multi, f), getattr(results, f)) for f in fields)
        print(
            f"kernel, {args.workers} processes (pool start included): {dt * 1e3:.1f} ms, "
            f"{n_sims / dt:,.0f} sims/s, identical: {'yes' if same else 'NO'}"
        )

    # The engine's own loop on a sample of the same (trade, set) pairs.
    rng = np.random.default_rng(1)
    pick = rng.choice(n_sims, size=max(1, int(n_sims * args.sample)), replace=False)
    settings = [
        Settings(policy=ps.fixed, quality_tiers=ps.tiers, atr=ps.atr, direction_bias=ps.bias_cfg)
        for ps in sets
    ]
    candles = [
        Candle(
            market.symbol,
            "1m",
            int(market.ts[j]),
            float(market.open[j]),
            float(market.high[j]),
            float(market.low[j]),
            float(market.close[j]),
            0.0,
        )
        for j in range(len(market))
    ]
    jobs = []
    for r in sorted(pick.tolist()):
        t, s = divmod(r, len(sets))
        i = int(entries[t])
        if math.isnan(atr[t]):
            continue
        try:
            plan = plan_for(
                settings[s],
                policy=sets[s].policy,
                symbol=market.symbol,
                side=Side.LONG if trades.sign[t] > 0 else Side.SHORT,
                entry=float(market.close[i]),
                size=1.0,
                atr=float(atr[t]),
                quality_score=float(scores[t]),
                direction_bias=sets[s].bias,
            )
        except PlanRefused:
            continue
        jobs.append((r, plan, i + 1))
    t0, c0 = time.perf_counter(), time.process_time()
    refs = [
        (r, run_trade(plan, candles[first_i : first_i + args.bars], first_index=first_i))
        for r, plan, first_i in jobs
    ]
    dt = time.perf_counter() - t0
    engine_cpu = len(jobs) / max(time.process_time() - c0, 1e-9)
    engine_rate = len(jobs) / dt if dt > 0 else float("nan")
    same = all(tuple(results.fills(r)) == ref.fills for r, ref in refs)
    print(
        f"engine loop on {len(jobs)} sampled pairs: {dt:.2f} s, {engine_rate:,.0f} sims/s, "
        f"kernel identical: {'yes' if same else 'NO'}"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"per CPU second (load-independent): kernel {cpu_rates[0]:,.0f} sims, engine loop "
        f"{engine_cpu:,.0f} sims, ratio {cpu_rates[0] / engine_cpu:,.0f}"
    )
    print("goal: >= 5,000,000 sims/s and >= 1,000x the engine loop on this 2-core machine")
    ratio = kernel_rate / engine_rate
    print(
        f"sims/s: {kernel_rate:,.0f} (engine loop: {engine_rate:,.0f}/s, ratio {ratio:,.0f}, "
        f"peak RSS {peak_rss_mb():.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

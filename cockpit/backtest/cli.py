"""`cockpit backtest FILE... --policy ... --entries every:N[:OFFSET]`: the exit lab's command.

`add_parser` registers the subcommand on cockpit's parser; `run` executes it. Heavy imports
(numpy work, numba) happen inside `run`, so `cockpit --help` stays fast. Every bad input raises
ValueError (or FileNotFoundError) with one line for the trader, which `cockpit.cli.main` prints
and turns into exit status 2 before anything is computed or written.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from cockpit.backtest.plans import ParamSet
    from cockpit.backtest.run import Run
    from cockpit.config import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `backtest` on cockpit's subcommands."""
    p = sub.add_parser(
        "backtest",
        help="replay exit policies over candle files (docs/backtest.md)",
        description="Every entry of the rule under every policy or grid set, with the "
        "engine's exact exits. P&L in %% of entry notional per trade.",
    )
    p.add_argument("files", type=Path, nargs="*", metavar="FILE", help="candle CSV (.csv/.gz)")
    p.add_argument(
        "--journal",
        action="store_true",
        help="the counterfactual ledger: every closed trade of the journal (--db) under every "
        "policy on its recorded candles, brought up to date and printed",
    )
    p.add_argument("--policy", help="NAME[,NAME...]: fixed, atr_scaled, quality_tiers")
    p.add_argument("--bias", action="store_true", help="direction bias on the --policy sets")
    p.add_argument("--scores", help="quality scores cycled per entry, e.g. 90,75,65,55")
    p.add_argument("--entries", help="every:N[:OFFSET]: entries at the close of bar OFFSET+kN")
    p.add_argument("--sides", default="alternate", choices=("alternate", "long", "short"))
    p.add_argument("--path", default="candles", choices=("candles", "closes"), dest="path_kind")
    p.add_argument("--grid", type=Path, help="TOML grid of parameter sets (docs/backtest.md)")
    p.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads of this process (default 1; not with --workers)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster: tcp://HOST:PORT, or local (needs cockpit[cluster])",
    )
    p.add_argument("--trades", type=Path, help="write one CSV row per trade and set")
    p.add_argument("--out", type=Path, help="write the Markdown report")
    p.add_argument("--symbol", help="the asset's symbol (default: the file name's first part)")
    p.add_argument("--horizon", type=int, help="bars a trade may run; then end_of_data")
    p.add_argument("--optimistic", action="store_true", help="ambiguous bars take the target first")


def parameter_sets(args: argparse.Namespace, settings: Settings) -> list[ParamSet]:
    """The sets from --grid (filtered by --policy if given) or one per --policy name."""
    from cockpit.backtest.grid import load_grid
    from cockpit.backtest.plans import ParamSet
    from cockpit.config import POLICY_NAMES

    names: list[str] = []
    if args.policy:
        names = [n.strip() for n in args.policy.split(",") if n.strip()]
        for name in names:
            if name not in POLICY_NAMES:
                raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICY_NAMES)}")
    if args.grid is not None:
        sets = load_grid(args.grid, settings)
        if names:
            sets = [ps for ps in sets if ps.policy in names]
        if not sets:
            raise ValueError(f"grid {args.grid}: no set of policy {', '.join(names)}")
        return sets
    if not names:
        raise ValueError("backtest needs --policy NAME[,NAME...] or --grid FILE.toml")
    return [
        ParamSet(
            name,
            fixed=settings.policy,
            tiers=settings.quality_tiers,
            atr=settings.atr,
            bias=args.bias,
            bias_cfg=settings.direction_bias,
        )
        for name in names
    ]


def _command_line(args: argparse.Namespace) -> str:
    """The run's own command, for the report's header."""
    parts = ["cockpit", "backtest", *(str(f) for f in args.files)]
    for flag, value in (
        ("--policy", args.policy),
        ("--grid", args.grid),
        ("--scores", args.scores),
        ("--entries", args.entries),
        ("--sides", args.sides),
        ("--path", args.path_kind),
        ("--horizon", args.horizon),
    ):
        if value is not None:
            parts += [flag, str(value)]
    parts += [flag for flag, on in (("--bias", args.bias), ("--optimistic", args.optimistic)) if on]
    return " ".join(shlex.quote(p) for p in parts)


class _Progress:
    """Trades done, simulations per second and time left, on one terminal line."""

    def __init__(self, stream: TextIO, n_sets: int, label: str) -> None:
        self.stream = stream
        self.n_sets = n_sets
        self.label = label
        self.t0 = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        rate = done * self.n_sets / elapsed
        left = (total - done) * self.n_sets / rate if rate > 0 else 0.0
        self.stream.write(
            f"\r{self.label}: {done}/{total} trades, {rate:,.0f} sims/s, {left:.0f} s left  "
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Validate everything, run every file, write the CSV and the report, print a summary."""
    import numpy as np

    from cockpit.backtest import tables
    from cockpit.backtest.data import EntryRule, entry_atrs, load_market, parse_scores, sides
    from cockpit.backtest.plans import Trades
    from cockpit.backtest.report import render_markdown, write_text, write_trades
    from cockpit.backtest.run import backtest
    from cockpit.backtest.stats import set_stats

    if args.journal:
        from cockpit.backtest.journal_cli import run_journal

        if args.files:
            raise ValueError("--journal reads the journal's own candles: give no FILE")
        db = getattr(args, "db", None)
        return run_journal(settings.model_copy(update={"db_url": db}) if db else settings)
    if not args.files:
        raise ValueError("backtest needs FILE... (candle files) or --journal")
    if args.entries is None:
        raise ValueError("backtest needs --entries every:N[:OFFSET]")
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    if args.threads > 1 and args.workers > 1:
        raise ValueError(
            "--threads and --workers: choose one (threads of one process, or processes)"
        )
    if args.scheduler is not None:
        from cockpit.backtest.cluster import require_dask

        if args.workers > 1 or args.threads > 1:
            raise ValueError("--scheduler runs on the cluster's workers: drop --workers/--threads")
        require_dask()
    if args.horizon is not None and args.horizon < 1:
        raise ValueError(f"--horizon must be at least 1 bar, got {args.horizon}")
    sets = parameter_sets(args, settings)
    rule = EntryRule.parse(args.entries)
    scores = parse_scores(args.scores)
    if any(ps.policy == "quality_tiers" for ps in sets) and not scores:
        raise ValueError("quality_tiers needs --scores (e.g. --scores 90,75,65,55)")
    markets = [load_market(path, args.symbol) for path in args.files]
    entries_per_file = [rule.indices(m) for m in markets]  # outside the data: refused here

    runs: list[Run] = []
    for market, entries in zip(markets, entries_per_file, strict=True):
        atr = entry_atrs(market, entries, settings.atr.timeframe, settings.atr.period)
        score = (
            np.resize(np.array(scores), len(entries)) if scores else np.full(len(entries), np.nan)
        )
        trades = Trades(sides(args.sides, len(entries)), market.close[entries], atr, score)
        progress = (
            _Progress(sys.stderr, len(sets), market.path.name) if sys.stderr.isatty() else None
        )
        runs.append(
            backtest(
                market,
                sets,
                entries,
                trades,
                kind=tables.PATH_KINDS[args.path_kind],
                optimistic=args.optimistic,
                horizon=args.horizon,
                workers=args.workers,
                threads=args.threads,
                scheduler=args.scheduler,
                progress=progress,
            )
        )

    fee_bps = settings.paper.taker_fee_bps
    for run_ in runs:
        print(f"{run_.market.path.name}: {len(run_.entries)} entries x {len(sets)} sets")
        for s in range(len(sets)):
            st = set_stats(run_, s, fee_bps)
            avg = "-" if st.avg_pct is None else f"{st.avg_pct:+.3f}%"
            win = "-" if st.win_rate_pct is None else f"{st.win_rate_pct:.1f}%"
            print(
                f"  {st.label:<32} trades {st.trades:>6}  refused {st.refused:>5}  "
                f"win {win:>6}  total {st.total_pct:+.2f}%  avg {avg}"
            )
    if args.trades is not None:
        try:
            with args.trades.open("w", encoding="utf-8", newline="") as fh:
                count = write_trades(fh, runs, with_file=len(runs) > 1)
        except OSError as exc:
            raise ValueError(f"cannot write {args.trades}: {exc.strerror or exc}") from None
        print(f"wrote {args.trades} ({count} rows)")
    if args.out is not None:
        command = _command_line(args)
        write_text(args.out, render_markdown(runs, command=command, fee_bps=fee_bps))
        print(f"wrote {args.out}")
    return 0

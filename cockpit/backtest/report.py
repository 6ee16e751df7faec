"""What a backtest writes: the trades CSV (one row per trade and parameter set) and the Markdown
report (per set: the seeds' figures, the comparison with `fixed`, runner and exit statistics)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from cockpit.backtest import kernel, tables
from cockpit.backtest.run import Run
from cockpit.backtest.stats import MISSED_WINDOW, SetStats, e_ratios, set_stats

CSV_COLUMNS = (
    "policy",
    "params",
    "entry_index",
    "side",
    "entry_price",
    "score",
    "atr",
    "fills",
    "pnl_pct",
    "mfe_pct",
    "mae_pct",
    "ambiguous_bars",
)


def _num(x: float) -> str:
    return "" if math.isnan(x) else repr(float(x))


def write_trades(out: IO[str], runs: Sequence[Run], *, with_file: bool = False) -> int:
    """Write every taken (trade, set) row; refused entries are not trades. Returns rows written.

    `with_file` adds a last `file` column (several input files: entry_index is per file).
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*CSV_COLUMNS, "file") if with_file else CSV_COLUMNS)
    count = 0
    for run in runs:
        res = run.results
        params = [json.dumps(ps.params_json(), sort_keys=True) for ps in run.sets]
        n_sets = len(run.sets)
        for t, entry_index in enumerate(run.entries.tolist()):
            side = "long" if run.trades.sign[t] > 0 else "short"
            for s, ps in enumerate(run.sets):
                r = t * n_sets + s
                if math.isnan(run.rows[r, kernel.ENTRY]):
                    continue
                fills = json.dumps([list(f) for f in res.fills(r)])
                row = [
                    ps.policy,
                    params[s],
                    entry_index,
                    side,
                    repr(float(run.trades.entry[t])),
                    _num(run.trades.score[t]),
                    _num(run.trades.atr[t]),
                    fills,
                    repr(float(res.pnl_pct[r])),
                    repr(float(res.mfe_pct[r])),
                    repr(float(res.mae_pct[r])),
                    int(res.ambiguous[r]),
                ]
                if with_file:
                    row.append(run.market.path.name)
                writer.writerow(row)
                count += 1
    return count


def _f(x: float | None, digits: int = 2, suffix: str = "") -> str:
    return "-" if x is None else f"{x:.{digits}f}{suffix}"


def _vs(value: float | None, base: float | None) -> str:
    if value is None or base is None or base == 0.0:
        return "-"
    return f"{100.0 * (value - base) / abs(base):+.1f}%"


def render_markdown(runs: Sequence[Run], *, command: str, fee_bps: float) -> str:
    """The report, one section per file: the seeds' figures per set and the comparison with
    fixed, exits by reason, runners and exit quality, the entries' e-ratio."""
    lines = ["# Exit lab backtest", "", f"`{command}`", ""]
    for run in runs:
        lines += _file_section(
            run, [set_stats(run, s, fee_bps) for s in range(len(run.sets))], fee_bps
        )
    return "\n".join(lines)


def _file_section(run: Run, stats: Sequence[SetStats], fee_bps: float) -> list[str]:
    m = run.market
    kind = "candles" if run.kind == tables.CANDLES else "closes"
    lines = [
        f"## {m.path.name}",
        "",
        f"{len(m)} bars, {len(run.entries)} entries, path `{kind}`.",
        "",
        f"P&L in % of the entry notional per trade, summed over trades; net = after the taker "
        f"fee of {fee_bps:g} bps on entry and every exit. Max drawdown: running sum of gross "
        "P&L, peak to trough.",
        "",
        "### Policies",
        "",
        "| set | trades | refused | win rate | total | avg | total net | avg net | PF | max DD "
        "| avg vs fixed | DD vs fixed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = next((st for st in stats if st.policy == "fixed"), None)
    for st in stats:
        dd_vs = "-"
        if base is not None and st is not base:
            dd_vs = (
                "no increase"
                if st.max_drawdown_pct <= base.max_drawdown_pct
                else f"+{st.max_drawdown_pct - base.max_drawdown_pct:.2f} pts"
            )
        lines.append(
            f"| {st.label} | {st.trades} | {st.refused} | {_f(st.win_rate_pct, 1, '%')} "
            f"| {_f(st.total_pct)}% | {_f(st.avg_pct, 3)}% | {_f(st.total_net_pct)}% "
            f"| {_f(st.avg_net_pct, 3)}% | {_f(st.profit_factor)} | {_f(st.max_drawdown_pct)}% "
            f"| {'-' if st is base else _vs(st.avg_pct, base.avg_pct if base else None)} "
            f"| {dd_vs} |"
        )
    if base is None:
        lines += ["", "No `fixed` set: nothing to compare with (the seeds compare with fixed)."]
    else:
        lines += [
            "",
            f"Compared with `{base.label}`, the seeds' bar: average P&L +10% vs fixed targets, "
            "no increase in max drawdown.",
        ]
    lines += [
        "",
        "### Exits",
        "",
        "Trades with at least one fill of each reason; ambiguous = trades that met a bar "
        "reaching both the stop and a target (decided stop-first unless --optimistic).",
        "",
        "| set | " + " | ".join(kernel.REASONS) + " | ambiguous |",
        "|---|" + "---|" * (len(kernel.REASONS) + 1),
    ]
    for st in stats:
        counts = " | ".join(str(st.exits[name]) for name in kernel.REASONS)
        lines.append(f"| {st.label} | {counts} | {st.ambiguous_trades} |")
    lines += [
        "",
        "### Runners and exit quality",
        "",
        "Beyond last target: trades whose MFE reached the last target (TP2, else TP1). Missed "
        f"after exit: best favorable price in the {MISSED_WINDOW} candles after the last exit, "
        "beyond that exit, in % of entry (0 when none). MFE capture: total P&L / total MFE. "
        "R: P&L / initial risk to the stop; SQN = sqrt(n) x mean R / sd R.",
        "",
        "| set | beyond last target | share | avg MFE of TP2 exits | avg missed after exit "
        "| MFE capture | avg R | SQN |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for st in stats:
        lines.append(
            f"| {st.label} | {st.beyond_last_target} | {_f(st.beyond_share_pct, 1, '%')} "
            f"| {_f(st.avg_mfe_tp2_exits_pct, 3, '%')} | {_f(st.avg_missed_pct, 3, '%')} "
            f"| {_f(st.mfe_capture_pct, 1, '%')} | {_f(st.avg_r, 3)} | {_f(st.sqn)} |"
        )
    lines += [
        "",
        "### Entries: e-ratio",
        "",
        "mean(MFE/ATR) / mean(MAE/ATR) over the N bars after each entry (any exit policy); "
        "above 1, the entries moved more for than against.",
        "",
        "| N=5 | N=20 | N=60 |",
        "|---|---|---|",
    ]
    ratios = e_ratios(run)
    lines += ["| " + " | ".join(_f(ratios[n]) for n in sorted(ratios)) + " |", ""]
    return lines


def write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None

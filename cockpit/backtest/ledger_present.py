"""The counterfactual ledger as rows of text: the analytics screen's Exit lab tab, the report's
section and `cockpit backtest --journal` all print these, so they say the same thing.

P&L is gross (before fees), in % of each trade's entry notional, summed over trades (each trade
one equal position, as the backtest's report counts). "Actual" is the journal's own gross P&L on
the same trades, so a policy is only ever compared on the trades it has a result for. No numba
here: the screen renders on the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from state.ledger_rows import LedgerRow, TradeInput
from state.ledger_totals import LedgerTotals

SET_COLUMNS = (
    "Policy",
    "Trades",
    "Results",
    "Win %",
    "P&L %",
    "Actual %",
    "vs actual",
    "Path ended",
    "No path",
    "Refused",
)
NOTE = (
    "Each closed trade re-run on its own recorded 1m candles (same side, entry, ATR, score). "
    "P&L: gross, % of entry notional, summed over the trades with a result; actual: the "
    "journal's own P&L on those trades. No number where the candles run out (path ended)."
)


def _pct(value: float) -> str:
    return f"{value:+.2f}%"


def set_rows(totals: LedgerTotals) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for s in totals.sets:
        win = f"{100.0 * s.wins / s.results:.1f}%" if s.results else "n/a"
        vs = _pct(s.pnl_pct - s.actual_pct) if s.results else "n/a"
        rows.append(
            (
                s.label,
                str(s.trades),
                str(s.results),
                win,
                _pct(s.pnl_pct) if s.results else "n/a",
                _pct(s.actual_pct) if s.results else "n/a",
                vs,
                str(s.path_ended),
                str(s.no_path),
                str(s.refused),
            )
        )
    return rows


def discretion_line(totals: LedgerTotals) -> str:
    if not totals.discretion_trades:
        return "Discretion: no trade with manual actions has an own-plan result yet."
    verb = "added" if totals.discretion_pct >= 0 else "cost"
    n = totals.discretion_trades
    return (
        f"Discretion: on {n} trade{'s' if n != 1 else ''} with manual actions, the overrides "
        f"{verb} {abs(totals.discretion_pct):.2f}% of entry notional vs the own plan run "
        "without them."
    )


def e_ratio_line(totals: LedgerTotals) -> str:
    parts = []
    for n in sorted(totals.e_ratio):
        ratio, count = totals.e_ratio[n]
        parts.append(f"N={n}: {'n/a' if ratio is None else f'{ratio:.2f}'} ({count})")
    return (
        "E-ratio, mean(MFE/ATR) / mean(MAE/ATR) over the N bars after entry (trades): "
        + ", ".join(parts)
    )


def markdown(totals: LedgerTotals | None) -> list[str]:
    """The report's section."""
    out = ["## Counterfactual ledger (exit lab)", ""]
    if totals is None or not totals.sets:
        return [*out, "The ledger is empty: the cockpit fills it in the background after closes."]
    out += [NOTE, ""]
    out.append("| " + " | ".join(SET_COLUMNS) + " |")
    out.append("|" + "|".join("---" for _ in SET_COLUMNS) + "|")
    out += ["| " + " | ".join(row) + " |" for row in set_rows(totals)]
    return [*out, "", discretion_line(totals), "", e_ratio_line(totals)]


def _stamp(ts_ms: int | None) -> str:
    if ts_ms is None:
        return "-"
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def trade_lines(
    trade: TradeInput, rows: Sequence[LedgerRow], actual_pct: float | None, own_key: str
) -> list[str]:
    """One trade of `cockpit backtest --journal`: the actual trade, then each set."""
    actual = "n/a" if actual_pct is None else _pct(actual_pct)
    lines = [
        f"#{trade.id} {trade.symbol} {trade.side} entry {trade.entry_price:g} "
        f"{_stamp(trade.entry_ts_ms)}, exit {trade.exit_price if trade.exit_price else '-'} "
        f"{_stamp(trade.exit_ts_ms)}: actual {actual}{' (manual actions)' if trade.manual else ''}"
    ]
    for row in rows:
        if row.pnl_pct is None:
            what = f"{row.status}: {row.note}"
        else:
            fills = len(json.loads(row.fills_json))
            what = (
                f"{_pct(row.pnl_pct)}  {row.exit_reason} {row.exit_price:g} "
                f"{_stamp(row.exit_ts_ms)}, {fills} fills, {row.ambiguous_bars} ambiguous bars"
            )
        lines.append(f"    {row.label:<24} {what}")
        own = row.params_key == own_key and trade.manual
        if own and row.pnl_pct is not None and actual_pct is not None:
            lines.append(f"    {'overrides':<24} {_pct(actual_pct - row.pnl_pct)} vs own plan")
    return lines

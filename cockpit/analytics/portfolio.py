"""Seed 003 step 6, portfolio correlation: "Do we cluster losses when multiple positions are open?"

The seed's analysis is "drawdown events with 1 position vs 2+ positions" and its test "if
multi-position DD > 1.5x single-position DD -> add position correlation filter". Here:

- A trade **overlapped** another when both were open at once: their open intervals
  [entry, exit) intersect (a trade with exit == entry was never open). Every closed trade of the
  journal counts, whatever its symbol.
- A **drawdown event** is a fall of the equity curve (cumulative net P&L in exit order, from 0)
  below its running peak, from that peak to the point it is regained (or the end of the journal,
  for one still open). Its **depth** is the peak minus the lowest point of the event.
- An event is **multi-position** when any trade that closed from its peak to its lowest point
  overlapped another trade, **single-position** otherwise.
- The rule compares the **average depth**: multi-position above 1.5x single-position suggests the
  correlation filter. The average, not the largest, because there are rarely as many events of
  each kind, and the largest of more events is deeper by chance alone. Both are shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cockpit.analytics import fmt
from cockpit.analytics.columns import Array, Mask, TradeColumns

MULTI_DD_RATIO = 1.5
"""Seed 003 step 6: "If multi-position DD > 1.5x single-position DD"."""


@dataclass(frozen=True, slots=True)
class DrawdownKind:
    """Drawdown events of one kind: how many, their average and largest depth in $."""

    events: int
    avg_depth: float | None
    max_depth: float | None


@dataclass(frozen=True, slots=True)
class PortfolioDrawdown:
    overlapped_trades: int
    trades: int
    single: DrawdownKind
    multi: DrawdownKind
    ratio: float | None
    """Average multi-position depth / average single-position depth (None: a kind missing)."""
    conclusion: str


def overlapping(cols: TradeColumns) -> Mask:
    """Trades that were open at the same time as at least one other trade."""
    out = np.zeros(cols.size, dtype=np.bool_)
    opened = np.flatnonzero(cols.exit_ts > cols.entry_ts)  # an empty interval overlaps nothing
    if opened.size < 2:
        return out
    order = opened[np.lexsort((cols.exit_ts[opened], cols.entry_ts[opened]))]
    entry, exit_ = cols.entry_ts[order], cols.exit_ts[order]
    # by entry: overlapped by an earlier entry still open, or by the very next entry
    latest_before = np.concatenate(([entry[0]], np.maximum.accumulate(exit_)[:-1]))
    earlier = latest_before > entry
    later = np.concatenate((entry[1:] < exit_[:-1], [False]))
    out[order] = earlier | later
    return out


def _kind(depths: Array) -> DrawdownKind:
    if depths.size == 0:
        return DrawdownKind(0, None, None)
    return DrawdownKind(int(depths.size), float(np.mean(depths)), float(np.max(depths)))


def _below_peak(cols: TradeColumns) -> tuple[Array, Mask]:
    """The equity curve from 0 (one point before the first trade, one after each) and where
    it is below its running peak."""
    equity = np.concatenate(([0.0], np.cumsum(cols.net)))
    return equity, equity < np.maximum.accumulate(equity)


def in_drawdown(cols: TradeColumns) -> Mask:
    """Trades (in exit order) whose close left the equity below its running peak."""
    return _below_peak(cols)[1][1:]


def drawdown_events(cols: TradeColumns) -> tuple[Array, Mask]:
    """Depth of every drawdown event (see the module), and whether it was multi-position."""
    equity, below = _below_peak(cols)
    edges = np.diff(np.concatenate(([0], below.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.size == 0:
        return np.empty(0), np.zeros(0, dtype=np.bool_)
    padded = np.concatenate((equity, [np.inf]))  # reduceat needs every bound inside
    lows = np.minimum.reduceat(padded, np.column_stack((starts, ends)).ravel())[::2]
    peaks = equity[starts - 1]  # a run starts just after the peak it falls from
    run = np.cumsum(edges[:-1] == 1) - 1
    at_low = below & (equity == lows[np.maximum(run, 0)])
    _, first = np.unique(run[at_low], return_index=True)
    troughs = np.flatnonzero(at_low)[first]
    # trades peak .. trough - 1 (0-based) closed on the way down: trade i moves equity i -> i+1
    seen = np.concatenate(([0], np.cumsum(overlapping(cols))))
    multi = (seen[troughs] - seen[starts - 1]) > 0
    return peaks - lows, multi


def portfolio_drawdown(cols: TradeColumns) -> PortfolioDrawdown:
    """Drawdown events with 1 vs 2+ positions open, and the seed's 1.5x rule (see the module)."""
    depths, multi = drawdown_events(cols)
    single_kind, multi_kind = _kind(depths[~multi]), _kind(depths[multi])
    ratio = None
    if single_kind.avg_depth and multi_kind.avg_depth is not None:
        ratio = multi_kind.avg_depth / single_kind.avg_depth
    if ratio is None:
        missing = "single-position" if not single_kind.events else "multi-position"
        conclusion = f"no {missing} drawdown yet: the 1.5x rule cannot be read"
    elif ratio > MULTI_DD_RATIO:
        conclusion = (
            f"multi-position drawdown {fmt.times(ratio)} single-position: "
            "add a position correlation filter"
        )
    else:
        conclusion = (
            f"multi-position drawdown {fmt.times(ratio)} single-position "
            f"(not above {MULTI_DD_RATIO:g}x): no correlation filter needed"
        )
    overlapped = int(np.count_nonzero(overlapping(cols)))
    return PortfolioDrawdown(overlapped, cols.size, single_kind, multi_kind, ratio, conclusion)


def portfolio_rows(result: PortfolioDrawdown) -> list[tuple[str, str, str, str]]:
    """Kind, events, average depth, largest depth: the screen's and the report's table."""
    return [
        (
            name,
            str(kind.events),
            fmt.plain_usd(kind.avg_depth),
            fmt.plain_usd(kind.max_depth),
        )
        for name, kind in (("1 position", result.single), ("2+ positions", result.multi))
    ]


PORTFOLIO_COLUMNS = ("Drawdown events", "Events", "Average depth $", "Largest depth $")

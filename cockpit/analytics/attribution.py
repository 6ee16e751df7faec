"""Attribution: where the P&L came from (P2 roadmap step 2), one table per dimension.

Dimensions: symbol, direction, quality tier, confidence bucket, regime, strategy, exit reason and
A/B group. Every row is computed by the same `group_row` (net P&L, see `trades.py`), so the tables
add up to the overall metrics. Ordered dimensions (tiers, confidence buckets) keep their order;
the others list the biggest net P&L first, with trades lacking the value last as "(none)".

The quality tiers are the configured ones (`quality_tiers`, roadmap default high 80+, medium
70-79, low 60-69); with the defaults they are the tiers of the SQL view `vw_quality_performance`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from cockpit.analytics.columns import Array, Ints, TradeColumns, columns, seq_sum
from cockpit.analytics.metrics import mean_or_none, profit_factor, win_rate
from cockpit.analytics.trades import TradeRecord

NONE_KEY = "(none)"
UNSCORED = "unscored"
CONFIDENCE_EDGES = (0.5, 0.6, 0.7, 0.8)
"""P2 roadmap step 3: 0.50-0.60, 0.60-0.70, 0.70-0.80, 0.80+ (and below 0.50 if any)."""


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One line of an attribution table. `expectancy` is the average net P&L per trade."""

    key: str
    trades: int
    wins: int
    win_rate: float | None
    net_pnl: float
    expectancy: float | None
    profit_factor: float | None
    avg_mfe_pct: float | None


@dataclass(frozen=True, slots=True)
class AttributionTable:
    """`title` completes "P&L by ...": "symbol", "quality tier", "A/B group"."""

    key: str
    title: str
    rows: tuple[GroupRow, ...]


@dataclass(frozen=True, slots=True)
class Tier:
    """A quality band: scores >= `min_score` (and below the next tier up)."""

    name: str
    min_score: float


def group_row(key: str, trades: Sequence[TradeRecord] | TradeColumns) -> GroupRow:
    cols = trades if isinstance(trades, TradeColumns) else columns(trades)
    return _row(key, cols.net, cols.mfe[cols.mfe_known])


def _row(key: str, pnls: Array, mfes: Array) -> GroupRow:
    """One table row from the group's net P&Ls and known MFEs, both in trade order."""
    return GroupRow(
        key=key,
        trades=int(pnls.size),
        wins=int(np.count_nonzero(pnls > 0)),
        win_rate=win_rate(pnls),
        net_pnl=seq_sum(pnls),
        expectancy=mean_or_none(pnls),
        profit_factor=profit_factor(pnls),
        avg_mfe_pct=mean_or_none(mfes),
    )


def _row_at(key: str, cols: TradeColumns, at: Ints) -> GroupRow:
    return _row(key, cols.net[at], cols.mfe[at][cols.mfe_known[at]])


def grouped(keys: Sequence[str]) -> dict[str, Ints]:
    """Positions of the trades of each key, in trade order (keys in order of first sight)."""
    codes: dict[str, int] = {}
    coded = np.asarray([codes.setdefault(k, len(codes)) for k in keys], dtype=np.int64)
    order = np.argsort(coded, kind="stable")
    bounds = np.searchsorted(coded[order], np.arange(len(codes) + 1))
    return {k: order[bounds[c] : bounds[c + 1]] for k, c in codes.items()}


def _as_columns(trades: Sequence[TradeRecord] | TradeColumns) -> TradeColumns:
    return trades if isinstance(trades, TradeColumns) else columns(trades)


def by_value(
    trades: Sequence[TradeRecord] | TradeColumns, key: Callable[[TradeRecord], str | None]
) -> list[GroupRow]:
    """Rows for a categorical dimension: biggest net P&L first, "(none)" last."""
    cols = _as_columns(trades)
    groups = grouped([key(t) or NONE_KEY for t in cols.records])
    rows = [_row_at(name, cols, at) for name, at in groups.items()]
    rows.sort(key=lambda r: (r.key == NONE_KEY, -r.net_pnl, r.key))
    return rows


def by_order(
    trades: Sequence[TradeRecord] | TradeColumns,
    key: Callable[[TradeRecord], str] | Sequence[str],
    order: Sequence[str],
) -> list[GroupRow]:
    """Rows for an ordered dimension, in `order`, empty buckets left out. `key` gives each
    trade's bucket, or is the buckets of every trade already."""
    cols = _as_columns(trades)
    keys = [key(t) for t in cols.records] if callable(key) else key
    groups = grouped(keys)
    return [_row_at(name, cols, groups[name]) for name in order if name in groups]


# ------------------------------------------------------------------ quality tiers
def tier_labels(tiers: Sequence[Tier]) -> list[tuple[Tier, str]]:
    """Best tier first, labelled with its score band: "high (80-100)", "medium (70-79)"."""
    ordered = sorted(tiers, key=lambda t: t.min_score, reverse=True)
    labelled: list[tuple[Tier, str]] = []
    upper: float | None = None
    for tier in ordered:
        if upper is None:
            band = f"{tier.min_score:g}-100"
        elif float(upper).is_integer() and float(tier.min_score).is_integer():
            band = f"{tier.min_score:g}-{upper - 1:g}"
        else:
            band = f"{tier.min_score:g}-<{upper:g}"
        labelled.append((tier, f"{tier.name} ({band})"))
        upper = tier.min_score
    return labelled


def below_label(tiers: Sequence[Tier]) -> str:
    return f"below {min(t.min_score for t in tiers):g}"


def tier_of(
    score: float | None,
    tiers: Sequence[Tier],
    labelled: Sequence[tuple[Tier, str]] | None = None,
) -> str:
    """The tier label of a score; `labelled` is `tier_labels(tiers)` computed once by a caller
    that labels many trades."""
    if score is None:
        return UNSCORED
    for tier, label in labelled if labelled is not None else tier_labels(tiers):
        if score >= tier.min_score:
            return label
    return below_label(tiers)


# ------------------------------------------------------------------ confidence buckets
def confidence_labels() -> list[str]:
    edges = CONFIDENCE_EDGES
    labels = [f"< {edges[0]:.2f}"]
    labels += [f"{lo:.2f}-{hi:.2f}" for lo, hi in pairwise(edges)]
    labels.append(f"{edges[-1]:.2f}+")
    return labels


def confidence_bucket(confidence: float | None) -> str:
    """Half-open buckets: 0.60 belongs to 0.60-0.70."""
    if confidence is None:
        return NONE_KEY
    labels = confidence_labels()
    for i, edge in enumerate(CONFIDENCE_EDGES):
        if confidence < edge:
            return labels[i]
    return labels[-1]


def confidence_buckets(cols: TradeColumns) -> list[str]:
    """`confidence_bucket` of every trade at once (half-open: 0.60 is in 0.60-0.70)."""
    labels = [*confidence_labels(), NONE_KEY]
    at = np.searchsorted(np.asarray(CONFIDENCE_EDGES), cols.confidence, side="right")
    at[~cols.confidence_known] = len(labels) - 1
    return [labels[i] for i in at.tolist()]


def quality_tiers(cols: TradeColumns, tiers: Sequence[Tier]) -> list[str]:
    """`tier_of` every trade's score at once."""
    labelled = tier_labels(tiers)
    names = [label for _, label in labelled] + [below_label(tiers), UNSCORED]
    at = np.full(cols.size, len(labelled), dtype=np.int64)  # below every tier
    placed = np.zeros(cols.size, dtype=np.bool_)
    for i, (tier, _) in enumerate(labelled):
        hit = ~placed & (cols.quality >= tier.min_score)
        at[hit] = i
        placed |= hit
    at[~cols.quality_known] = len(names) - 1
    return [names[i] for i in at.tolist()]


# ------------------------------------------------------------------ all tables
def attribution_tables(
    trades: Sequence[TradeRecord] | TradeColumns, tiers: Sequence[Tier]
) -> tuple[AttributionTable, ...]:
    cols = _as_columns(trades)
    labelled = tier_labels(tiers)
    tier_order = [label for _, label in labelled] + [below_label(tiers), UNSCORED]
    return (
        AttributionTable("symbol", "symbol", tuple(by_value(cols, lambda t: t.symbol))),
        AttributionTable("direction", "direction", tuple(by_value(cols, lambda t: t.side))),
        AttributionTable(
            "quality", "quality tier", tuple(by_order(cols, quality_tiers(cols, tiers), tier_order))
        ),
        AttributionTable(
            "confidence",
            "confidence bucket",
            tuple(by_order(cols, confidence_buckets(cols), [*confidence_labels(), NONE_KEY])),
        ),
        AttributionTable("regime", "regime", tuple(by_value(cols, lambda t: t.regime))),
        AttributionTable("strategy", "strategy", tuple(by_value(cols, lambda t: t.strategy))),
        AttributionTable(
            "exit_reason", "exit reason", tuple(by_value(cols, lambda t: t.exit_reason))
        ),
        AttributionTable("ab_group", "A/B group", tuple(by_value(cols, lambda t: t.ab_group))),
    )

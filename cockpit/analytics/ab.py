"""A/B groups compared (seed 003 step 7: "Compare Group A (baseline) vs Group B (optimized)";
seed 000 Phase 4: "Run 20 trades with direction bias, run 20 trades without (control group),
compare results before full rollout").

Every group found on the trades (`ab_group`) is compared with the baseline group: "A" when there
is one, else the first by name. Per group: trades, win rate, average net P&L, profit factor. Per
pair, two two-sided p-values for "the average net P&L differs":

- **Welch's t test**: t = (mean_b - mean_a) / sqrt(s_a²/n_a + s_b²/n_b), with the
  Welch-Satterthwaite degrees of freedom; what `scipy.stats.ttest_ind(equal_var=False)` gives.
- **Mann-Whitney U** (no assumption of normal P&L): U of group b over a, normal approximation
  with the tie correction and a continuity correction of 0.5; what `scipy.stats.mannwhitneyu(
  method="asymptotic")` gives.

and the **trades still needed** per group for the difference found so far to reach p < alpha
with the given power (normal approximation, equal group sizes): n = (z(1 - alpha/2) +
z(power))² (s_a² + s_b²) / (mean_b - mean_a)², minus the smaller group's trades. A planning
figure, like the quality gate's: it assumes the difference found so far is the true one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri, stdtr, stdtrit  # on the main thread, with the module

from cockpit.analytics.metrics import Array, average_ranks, profit_factor, win_rate
from cockpit.analytics.trades import TradeRecord


@dataclass(frozen=True, slots=True)
class GroupStats:
    name: str
    trades: int
    win_rate: float | None
    avg_pnl: float | None
    profit_factor: float | None


@dataclass(frozen=True, slots=True)
class GroupTest:
    """One group against the baseline group."""

    baseline: str
    group: str
    diff: float | None
    welch_p: float | None
    mann_whitney_p: float | None
    more_needed: int | None
    """Trades per group still needed (None: no difference, or too few trades to tell)."""


@dataclass(frozen=True, slots=True)
class ABComparison:
    groups: tuple[GroupStats, ...]
    tests: tuple[GroupTest, ...]


@dataclass(frozen=True, slots=True)
class Welch:
    """Welch's t test of mean(b) - mean(a): the difference, its 95 % interval, the p-value."""

    diff: float
    low: float
    high: float
    p: float


def welch(a: Sequence[float] | Array, b: Sequence[float] | Array) -> Welch | None:
    """Welch's t test (two-sided) with the interval scipy's `confidence_interval(0.95)` gives;
    None below 2 trades a side or without any spread."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.size < 2 or y.size < 2:
        return None
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    if va + vb <= 0.0:
        return None
    diff, error = float(y.mean() - x.mean()), math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    half = float(stdtrit(df, 0.975)) * error
    return Welch(diff, diff - half, diff + half, float(2.0 * stdtr(df, -abs(diff) / error)))


def welch_p(a: Sequence[float] | Array, b: Sequence[float] | Array) -> float | None:
    """Two-sided p of Welch's t test; None below 2 trades a side or without any spread."""
    test = welch(a, b)
    return None if test is None else test.p


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p of the Mann-Whitney U test, normal approximation with tie and continuity
    corrections; None for an empty side or when every value is the same."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return None
    ranks = average_ranks(np.concatenate([np.asarray(a, float), np.asarray(b, float)]))
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    _, counts = np.unique(np.concatenate([a, b]), return_counts=True)
    ties = float((counts**3 - counts).sum())
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1)))) if n > 1 else 0.0
    if sigma == 0.0:
        return None
    z = (abs(u1 - n1 * n2 / 2.0) - 0.5) / sigma
    return float(min(1.0, 2.0 * (1.0 - ndtr(max(z, 0.0)))))


def trades_needed_for_difference(
    a: Sequence[float] | Array, b: Sequence[float] | Array, *, alpha: float, power: float
) -> int | None:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.size < 2 or y.size < 2:
        return None
    diff = float(y.mean() - x.mean())
    if diff == 0.0:
        return None
    z = float(ndtri(1.0 - alpha / 2.0) + ndtri(power))
    per_group = math.ceil(z * z * float(x.var(ddof=1) + y.var(ddof=1)) / diff**2)
    return max(0, per_group - min(int(x.size), int(y.size)))


def ab_comparison(
    trades: Sequence[TradeRecord], *, alpha: float, power: float
) -> ABComparison | None:
    """None unless the trades carry at least two A/B groups."""
    pnls: dict[str, list[float]] = {}
    for t in trades:
        if t.ab_group is not None:
            pnls.setdefault(t.ab_group, []).append(t.net_pnl)
    if len(pnls) < 2:
        return None
    names = sorted(pnls)
    base = "A" if "A" in pnls else names[0]
    groups = tuple(
        GroupStats(
            name,
            len(pnls[name]),
            win_rate(pnls[name]),
            float(np.mean(pnls[name])),
            profit_factor(pnls[name]),
        )
        for name in names
    )
    tests = tuple(
        GroupTest(
            base,
            name,
            float(np.mean(pnls[name]) - np.mean(pnls[base])),
            welch_p(pnls[base], pnls[name]),
            mann_whitney_p(pnls[base], pnls[name]),
            trades_needed_for_difference(pnls[base], pnls[name], alpha=alpha, power=power),
        )
        for name in names
        if name != base
    )
    return ABComparison(groups, tests)

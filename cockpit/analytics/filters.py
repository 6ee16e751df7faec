"""Seed 003's filter hypotheses, answered from the journal: confidence (step 3) and regime (step 4).

Seed 003 step 3, "Do we trade too much with low confidence?": "If 0.50-0.60 has negative
expectancy -> Set MIN_CONFIDENCE=0.60; if 0.60-0.70 has negative expectancy -> Set
MIN_CONFIDENCE=0.70". Step 4, "Which regimes have negative expectancy?": "If sideways has
negative expectancy -> Add SKIP_SIDEWAYS filter; if high vol has negative expectancy -> Add
MAX_VOL_PERCENTILE". Rule 3: "Need minimum 30 trades for confidence".

For every bucket (regime) this states the expectancy (average net P&L per trade) with its 95 %
interval and the p-value of "the expectancy is 0" (one-sample Student's t, two-sided, n - 1
degrees of freedom; the interval is mean ± t(0.975, n - 1) s / sqrt(n), s with ddof 1), and a
verdict. A rule's filter is suggested only when its bucket's expectancy is negative **and**
significant (p < `significance_alpha`) over at least `min_trades_significant` trades: a bucket
whose interval still holds 0 is "not significant", with the trades its current expectancy needs
for p < alpha at power `significance_power` (n = ((z(1 - alpha/2) + z(power)) s / mean)^2).

Regimes are free text on the trades; a regime is the seed's "sideways" when its name contains
"sideways", "chop" or "range", and "high vol" when it contains "high" and "vol".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri, stdtr, stdtrit  # on the main thread, with the module

from cockpit.analytics import fmt
from cockpit.analytics.attribution import (
    NONE_KEY,
    AttributionTable,
    confidence_buckets,
    confidence_labels,
    grouped,
)
from cockpit.analytics.columns import TradeColumns
from cockpit.analytics.metrics import _ZERO_SPREAD, Array
from cockpit.config import GatesConfig

CONFIDENCE_RULES = {"0.50-0.60": "MIN_CONFIDENCE=0.60", "0.60-0.70": "MIN_CONFIDENCE=0.70"}
"""Seed 003 step 3: the bucket whose negative expectancy suggests each setting."""
SIDEWAYS_WORDS = ("sideways", "chop", "range")


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One bucket's expectancy, how sure it is, and what the seed's rule makes of it."""

    group: str
    trades: int
    expectancy: float | None
    low: float | None
    high: float | None
    p: float | None
    more_needed: int | None
    verdict: str
    """"negative", "positive", "not significant", "too few trades" or "no spread"."""
    suggest: str = ""
    """The seed's filter setting this bucket suggests ("" for none)."""

    @property
    def text(self) -> str:
        """ "0.50-0.60: expectancy -0.42 [-0.90, +0.10], n 23: not significant"."""
        if self.expectancy is None:
            return f"{self.group}: no trades"
        interval = ""
        if self.low is not None and self.high is not None:
            interval = f" [{fmt.usd(self.low)}, {fmt.usd(self.high)}]"
        p = "" if self.p is None else f", p {fmt.p_value(self.p)}"
        said = f"{self.group}: expectancy {fmt.usd(self.expectancy)}{interval}, n {self.trades}{p}"
        said += f": {self.verdict}"
        if self.more_needed:
            said += f" (need ~{self.more_needed} more)"
        if self.suggest:
            said += f": suggest {self.suggest}"
        return said


@dataclass(frozen=True, slots=True)
class FilterTest:
    """One of seed 003's filter questions: every bucket's hypothesis and the overall answer."""

    key: str
    question: str
    rows: tuple[Hypothesis, ...]
    conclusion: str


def hypothesis(group: str, pnls: Array, cfg: GatesConfig, *, rule: str = "") -> Hypothesis:
    """The expectancy of `pnls` tested against 0 (see the module)."""
    n = int(pnls.size)
    if n == 0:
        return Hypothesis(group, 0, None, None, None, None, None, "no trades")
    mean = float(np.mean(pnls))
    if n < 2:
        return Hypothesis(group, n, mean, None, None, None, None, "too few trades")
    spread = float(np.std(pnls, ddof=1))
    if spread <= _ZERO_SPREAD * float(np.max(np.abs(pnls))):
        return Hypothesis(group, n, mean, mean, mean, None, None, "no spread")
    error = spread / math.sqrt(n)
    half = float(stdtrit(n - 1, 0.975)) * error
    p = float(2.0 * stdtr(n - 1, -abs(mean) / error))
    z = float(ndtri(1.0 - cfg.significance_alpha / 2.0) + ndtri(cfg.significance_power))
    more = None
    if p >= cfg.significance_alpha and mean != 0.0:
        more = max(1, math.ceil((z * spread / mean) ** 2) - n)
    if p >= cfg.significance_alpha:
        verdict = "not significant"
    elif n < cfg.min_trades_significant:
        verdict = f"too few trades ({cfg.min_trades_significant} needed)"
        more = cfg.min_trades_significant - n
    else:
        verdict = "negative" if mean < 0 else "positive"
    suggest = rule if verdict == "negative" else ""
    return Hypothesis(group, n, mean, mean - half, mean + half, p, more, verdict, suggest)


def confidence_test(cols: TradeColumns, cfg: GatesConfig) -> FilterTest:
    """Seed 003 step 3 over the confidence buckets (trades without a confidence left out)."""
    groups = grouped(confidence_buckets(cols))
    rows = tuple(
        hypothesis(label, cols.net[groups[label]], cfg, rule=CONFIDENCE_RULES.get(label, ""))
        for label in confidence_labels()
        if label in groups
    )
    suggested = [r.suggest for r in rows if r.suggest]
    if suggested:
        conclusion = f"suggest {suggested[-1]}"  # the higher bar covers the lower bucket too
    elif any(r.group in CONFIDENCE_RULES for r in rows):
        conclusion = (
            "no MIN_CONFIDENCE suggested: no rule bucket has a significant negative expectancy"
        )
    else:
        conclusion = "no MIN_CONFIDENCE suggested: no trades in 0.50-0.70"
    return FilterTest("confidence", "Do we trade too much with low confidence?", rows, conclusion)


def regime_rule(regime: str) -> str:
    """The seed's filter for a regime's negative expectancy ("" for a regime it names none)."""
    name = regime.lower()
    if any(word in name for word in SIDEWAYS_WORDS):
        return "SKIP_SIDEWAYS"
    if "high" in name and "vol" in name:
        return "MAX_VOL_PERCENTILE"
    return ""


def regime_test(cols: TradeColumns, cfg: GatesConfig) -> FilterTest:
    """Seed 003 step 4 over the regimes found on the trades (trades without one left out)."""
    keys = [t.regime or NONE_KEY for t in cols.records]
    groups = grouped(keys)
    names = sorted(k for k in groups if k != NONE_KEY)
    rows = tuple(
        hypothesis(name, cols.net[groups[name]], cfg, rule=regime_rule(name)) for name in names
    )
    suggested = sorted({r.suggest for r in rows if r.suggest})
    if suggested:
        conclusion = "suggest " + " and ".join(suggested)
    else:
        conclusion = (
            "no regime filter suggested: no sideways or high-volatility regime has a "
            "significant negative expectancy"
        )
    return FilterTest("regime", "Which regimes have negative expectancy?", rows, conclusion)


def filter_rows(test: FilterTest) -> list[tuple[str, ...]]:
    """The screen's and the report's rows: group, trades, expectancy, 95 % interval, p, verdict."""
    out: list[tuple[str, ...]] = []
    for row in test.rows:
        interval = fmt.NA
        if row.low is not None and row.high is not None:
            interval = f"{fmt.usd(row.low)} .. {fmt.usd(row.high)}"
        verdict = row.verdict + (f", need ~{row.more_needed} more" if row.more_needed else "")
        if row.suggest:
            verdict += f": suggest {row.suggest}"
        out.append(
            (
                row.group,
                str(row.trades),
                fmt.usd(row.expectancy),
                interval,
                fmt.p_value(row.p),
                verdict,
            )
        )
    return out


FILTER_COLUMNS = ("Group", "Trades", "Expectancy $", "95% interval", "p", "Verdict")


def table_for(tables: Sequence[AttributionTable], key: str) -> AttributionTable | None:
    return next((t for t in tables if t.key == key), None)

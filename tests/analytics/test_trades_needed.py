"""Issue 18 item 2, the rest: the profit-factor, Ph5 runner and P2 win gates say how sure they
are and how many trades they still need (p < 0.05 at power 0.8), each checked against scipy."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy import stats

from cockpit.analytics.attribution import Tier
from cockpit.analytics.gates import Gate, GateState, phase5_gate
from cockpit.analytics.metrics import compute_metrics
from cockpit.analytics.snapshot import build_snapshot
from cockpit.analytics.trades import TradeRecord
from cockpit.config import AnalyticsConfig, GatesConfig
from tests.analytics.builders import DAY_MS, T0, trade

CFG = GatesConfig()
TIERS = [Tier("high", 80)]
Z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)


def _gates(records: list[TradeRecord], **config: Any) -> dict[str, Gate]:
    snapshot = build_snapshot(records, AnalyticsConfig(**config), tiers=TIERS, fallback_tp2_pct=3.0)
    return {g.key: g for g in snapshot.gates}


def test_a_profit_factor_above_2_but_not_yet_sure_says_how_many_more_trades() -> None:
    nets = [3.0 if i % 2 else -1.2 for i in range(40)]  # PF 2.5 over 40 trades
    gate = _gates([trade(p, i=i) for i, p in enumerate(nets)])["profit_factor"]
    x = np.asarray(nets)
    y = np.maximum(x, 0) - 2.0 * np.maximum(-x, 0)  # PF > 2 exactly when mean(y) > 0
    p = stats.ttest_1samp(y, 0.0).pvalue
    assert p > 0.05
    more = math.ceil((Z * y.std(ddof=1) / y.mean()) ** 2) - 40
    assert gate.state is GateState.PASS  # the seed's threshold decides; the count informs
    assert gate.summary.endswith(f"p {p:.2f}), need ~{more} more")


def test_a_profit_factor_below_2_names_the_threshold_and_keeps_the_count_in_its_note() -> None:
    nets = [2.0 if i % 2 else -1.2 for i in range(40)]  # PF 1.67
    gate = _gates([trade(p, i=i) for i, p in enumerate(nets)])["profit_factor"]
    assert gate.state is GateState.FAIL and gate.summary.endswith(", need > 2")
    assert "need ~" in gate.checks[1].note


def test_the_runner_share_says_its_p_value_and_trades_still_needed() -> None:
    records = [
        trade(1, i=i, mfe_pct=4.0 if i < 12 else 2.0, tp2_price=103.0) for i in range(30)
    ]  # 12/30 = 40 % beyond TP2 against 30 %
    m = compute_metrics(records, starting_equity=1000, fallback_tp2_pct=3, runner_share=0.25)
    gate = phase5_gate(m, CFG)
    z = (0.4 - 0.3) / math.sqrt(0.3 * 0.7 / 30)
    p = 2 * stats.norm.sf(z)
    spread = stats.norm.ppf(0.975) * math.sqrt(0.21) + stats.norm.ppf(0.8) * math.sqrt(0.24)
    more = math.ceil((spread / 0.1) ** 2) - 30
    assert gate.state is GateState.PASS
    assert gate.summary == f"40% beyond TP2 (p {p:.2f}), need ~{more} more"


def test_the_p2_win_condition_says_how_sure_the_change_in_p_and_l_is() -> None:
    base = [trade(1.0 if i % 2 else -0.8, i=i, day=i % 20) for i in range(40)]
    now = [trade(1.3 if i % 2 else -0.8, i=100 + i, day=40 + i % 20) for i in range(40)]
    # a baseline end 30 days after the first exit splits the two
    day = datetime.fromtimestamp((T0 + 30 * DAY_MS) / 1000, tz=UTC).strftime("%Y-%m-%d")
    gate = _gates(base + now, baseline_end=day)["p2_win"]
    a = [t.net_pnl for t in base]
    b = [t.net_pnl for t in now]
    p = stats.ttest_ind(a, b, equal_var=False).pvalue
    per_group = math.ceil(Z**2 * (np.var(a, ddof=1) + np.var(b, ddof=1)) / 0.15**2)
    assert p > 0.05
    assert gate.summary.endswith(f"avg P&L Welch p {p:.2f}, need ~{per_group - 40} more per period")

"""Per-phase success criteria (seed 000): each phase against the one before, over the trades the
seed's validation query takes (an exit reason, entered since the phase start)."""

from __future__ import annotations

from cockpit.analytics.gate_parts import Gate, GateState
from cockpit.analytics.phases import PhaseStart, better_by, phase_criteria, phase_periods
from cockpit.analytics.trades import TradeRecord
from cockpit.config import GatesConfig
from tests.analytics.builders import DAY_MS, T0, trade

CFG = GatesConfig()


def period_trades(nets: list[float], day: int, **fields: object) -> list[TradeRecord]:
    base = day * 1000
    return [trade(n, i=base + i, day=day, exit_reason="tp1", **fields) for i, n in enumerate(nets)]


def criteria(trades: list[TradeRecord], starts: list[PhaseStart]) -> dict[str, Gate]:
    periods = phase_periods(trades, starts)
    gates = phase_criteria(
        periods, CFG, high_min_score=80, low_below_score=70, fallback_tp2_pct=3.0
    )
    return {g.key: g for g in gates}


def check_state(gate: Gate, name: str) -> GateState:
    return next(c.state for c in gate.checks if c.name == name)


STARTS = [PhaseStart(1, T0), PhaseStart(2, T0 + 10 * DAY_MS)]


def test_periods_take_the_seeds_trades_and_never_share_one() -> None:
    one = period_trades([1.0] * 3, day=1)
    two = period_trades([2.0] * 4, day=11)
    no_reason = [trade(50.0, i=99_000, day=12)]  # no exit reason: not in the seed's query
    before_any = [trade(7.0, i=98_000, day=-3, exit_reason="sl")]
    periods = phase_periods(one + two + no_reason + before_any, STARTS)
    assert [(p.phase, p.count, p.total_pnl) for p in periods] == [(1, 3, 3.0), (2, 4, 8.0)]
    assert periods[0].end_ms == T0 + 10 * DAY_MS and periods[1].end_ms is None


def test_phase_2_needs_average_pnl_up_10_percent_stable_win_rate_no_deeper_drawdown() -> None:
    base = period_trades([2.0, -1.0] * 15, day=1)  # avg 0.5, win rate 50 %
    ok = criteria(base + period_trades([2.1, -1.0] * 15, day=11), STARTS)["phase2_success"]
    assert check_state(ok, "average P&L vs Phase 1") is GateState.PASS  # 0.55 = 0.5 + 10 %
    assert ok.state is GateState.PASS
    short = criteria(base + period_trades([2.05, -1.0] * 15, day=11), STARTS)["phase2_success"]
    assert check_state(short, "average P&L vs Phase 1") is GateState.FAIL  # 0.525 < 0.55
    deeper = criteria(
        base + period_trades([2.1, 2.1, -1.0, -1.0] * 7 + [2.1, 2.1], day=11), STARTS
    )["phase2_success"]
    assert check_state(deeper, "max drawdown $") is GateState.FAIL  # two losses in a row
    fewer_wins = criteria(base + period_trades([5.0, -1.0, -1.0] * 10, day=11), STARTS)
    assert check_state(fewer_wins["phase2_success"], "win rate vs Phase 1") is GateState.FAIL


def test_better_by_reads_right_for_losses() -> None:
    assert better_by(-0.9, -1.0, 0.10) and not better_by(-0.95, -1.0, 0.10)
    assert better_by(1.1, 1.0, 0.10) and not better_by(1.09, 1.0, 0.10)


def test_criteria_wait_for_trades_in_both_phases() -> None:
    gates = criteria(period_trades([1.0] * 30, day=1) + period_trades([2.0] * 5, day=11), STARTS)
    assert gates["phase2_success"].state is GateState.NEED_DATA
    assert gates["phase2_success"].summary == "5/30 Phase 2 trades"


def test_overall_2x_and_phase_5_runners_create_no_new_losers() -> None:
    starts = [PhaseStart(1, T0), PhaseStart(4, T0 + 10 * DAY_MS), PhaseStart(5, T0 + 20 * DAY_MS)]
    p1 = period_trades([1.0] * 30, day=1)
    p4 = period_trades([1.5] * 30, day=11)
    # every Phase 5 winner is 2.0 (+33 % on 1.5) but one trade ran past TP2 (3 %) and lost
    p5 = [
        *period_trades([2.0] * 29, day=21),
        trade(-1.0, i=30_000, day=21, exit_reason="sl", mfe_pct=3.5),
    ]
    gates = criteria(p1 + p4 + p5, starts)
    five = gates["phase5_success"]
    assert check_state(five, "average winner vs Phase 4") is GateState.PASS
    assert check_state(five, "losers that reached TP2") is GateState.FAIL
    assert five.state is GateState.FAIL
    overall = gates["overall_success"]  # Phase 5 avg (58 - 1) / 30 = 1.9 < 2 x 1.0
    assert check_state(overall, "average P&L vs Phase 1 (2x)") is GateState.FAIL
    assert "phase4_success" not in gates  # Phase 3 never started: nothing to compare with

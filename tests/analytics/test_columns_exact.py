"""The snapshot reads trades as numpy columns (issue 18 item 8), and must give exactly, to the
last bit, what the plain loops over trades gave before. The reference loops are here, written
as they were; a hypothesis journal with gaps, ties, shorts and odd values compares both."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.analytics.attribution import (
    GroupRow,
    Tier,
    attribution_tables,
    confidence_bucket,
    tier_of,
)
from cockpit.analytics.metrics import (
    compute_metrics,
    mean_or_none,
    missed_after_exit,
    profit_factor,
    tp2_distance,
    win_rate,
)
from cockpit.analytics.trades import TradeRecord
from tests.analytics.builders import T0

TIERS = [Tier("high", 80), Tier("medium", 70), Tier("low", 60)]
MAYBE_FLOAT = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))


@st.composite
def journals(draw: st.DrawFn) -> list[TradeRecord]:
    n = draw(st.integers(0, 12))
    out = []
    for i in range(n):
        entry = draw(st.floats(1, 1e4))
        out.append(
            TradeRecord(
                id=draw(st.integers(1, 5)) if draw(st.booleans()) else i + 10,
                symbol=draw(st.sampled_from(["SOL-PERP", "BTC-PERP"])),
                side=draw(st.sampled_from(["long", "short", "Short"])),
                entry_ts_ms=T0 + draw(st.integers(0, 10**9)),
                exit_ts_ms=T0 + draw(st.integers(0, 10**9)),
                entry_price=entry,
                exit_price=draw(st.floats(1, 1e4)),
                size=draw(st.floats(0.001, 100)),
                realized_pnl=draw(st.floats(-1e4, 1e4)),
                fees=draw(st.sampled_from([0.0, 0.1, 1e-9])),
                exit_reason=draw(st.sampled_from([None, "tp2", "stop_loss"])),
                mfe_pct=draw(MAYBE_FLOAT),
                tp2_price=draw(st.one_of(st.none(), st.floats(1, 1e4))),
                quality_score=draw(st.one_of(st.none(), st.sampled_from([59.9, 60.0, 70, 80.0]))),
                confidence=draw(st.one_of(st.none(), st.sampled_from([0.1, 0.5, 0.6, 0.8, 0.99]))),
                regime=draw(st.sampled_from([None, "trend", "range", ""])),
                atr=draw(MAYBE_FLOAT),
                after_exit_high=draw(st.one_of(st.none(), st.floats(1, 1e4))),
                after_exit_low=draw(st.one_of(st.none(), st.floats(1, 1e4))),
            )
        )
    return out


def reference_row(key: str, trades: Sequence[TradeRecord]) -> GroupRow:
    pnls = [t.net_pnl for t in trades]
    return GroupRow(
        key=key,
        trades=len(trades),
        wins=sum(1 for p in pnls if p > 0),
        win_rate=win_rate(pnls),
        net_pnl=float(sum(pnls)),
        expectancy=mean_or_none(pnls),
        profit_factor=profit_factor(pnls),
        avg_mfe_pct=mean_or_none([t.mfe_pct for t in trades if t.mfe_pct is not None]),
    )


def reference_groups(trades: Sequence[TradeRecord], key: object) -> dict[str, GroupRow]:
    groups: dict[str, list[TradeRecord]] = {}
    for t in trades:
        groups.setdefault(key(t), []).append(t)  # type: ignore[operator]
    return {name: reference_row(name, members) for name, members in groups.items()}


def same(a: object, b: object) -> bool:
    """Equal to the bit (nan equal to nan, 0.0 and -0.0 told apart)."""
    return repr(a) == repr(b)


@settings(max_examples=40)
@given(journals())
def test_attribution_equals_the_loops_it_replaced(trades: list[TradeRecord]) -> None:
    tables = {t.key: {r.key: r for r in t.rows} for t in attribution_tables(trades, TIERS)}
    expected = {
        "symbol": reference_groups(trades, lambda t: t.symbol or "(none)"),
        "direction": reference_groups(trades, lambda t: t.side or "(none)"),
        "quality": reference_groups(trades, lambda t: tier_of(t.quality_score, TIERS)),
        "confidence": reference_groups(trades, lambda t: confidence_bucket(t.confidence)),
        "regime": reference_groups(trades, lambda t: t.regime or "(none)"),
    }
    for key, rows in expected.items():
        assert same(sorted(tables[key].items()), sorted(rows.items())), key


@settings(max_examples=40)
@given(journals())
def test_runner_stats_and_totals_equal_the_loops_they_replaced(trades: list[TradeRecord]) -> None:
    m = compute_metrics(trades, starting_equity=1000, fallback_tp2_pct=3, runner_share=0.25)
    ordered = sorted(trades, key=lambda t: (t.exit_ts_ms, t.id))
    assert same(m.total_gross, float(sum(t.realized_pnl for t in ordered)))
    assert same(m.total_fees, float(sum(t.fees for t in ordered)))
    with_mfe = [t for t in ordered if t.mfe_pct is not None]
    distances = [tp2_distance(t, 3)[0] for t in with_mfe]
    beyond = sum(1 for t, d in zip(with_mfe, distances, strict=True) if (t.mfe_pct or 0) > d)
    assert m.runner.beyond_tp2 == beyond
    assert same(m.runner.avg_tp2_distance_pct, mean_or_none(distances))
    missed = [x for t in ordered if (x := missed_after_exit(t, 0.25)) is not None]
    assert same(m.runner.missed_usd, float(sum(missed)) if missed else None)
    scored = [t for t in ordered if t.quality_score is not None]
    durations = np.asarray([(t.exit_ts_ms - t.entry_ts_ms) / 60_000 for t in scored])
    assert m.scored_trades == len(scored) and durations.size == len(scored)

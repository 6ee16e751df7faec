"""`cockpit report`: the analytics screen as Markdown, whole or as one of seed 003's proofs.

Every number comes from `present.py` over the same `AnalyticsSnapshot` the screen renders, so the
file and the screen say the same thing (tests/analytics/test_report.py checks it cell by cell).

Seed 003: "every optimization gets a markdown report with proof". `--kind` picks one document
under the seed's file name (`KINDS`); each is built from the sections below, with its numbers,
intervals and p-values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cockpit.analytics import fmt, present
from cockpit.analytics import present_extra as extra
from cockpit.analytics.direction_regime import DIRECTION_REGIME_COLUMNS, direction_regime_rows
from cockpit.analytics.filters import FILTER_COLUMNS, filter_rows
from cockpit.analytics.portfolio import PORTFOLIO_COLUMNS, portfolio_rows
from cockpit.analytics.portfolio_correlation import CORRELATION_COLUMNS, correlation_rows
from cockpit.analytics.snapshot import AnalyticsSnapshot

Section = Callable[[AnalyticsSnapshot], list[str]]


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    return lines


# ------------------------------------------------------------------ sections
def gates_section(snapshot: AnalyticsSnapshot) -> list[str]:
    out = ["## Decision gates", ""]
    out += markdown_table(
        ("State", "Gate", "Verdict"),
        [(g.state.label, g.title, g.summary) for g in snapshot.gates],
    )
    out += ["", "### Checks", ""]
    out += markdown_table(present.GATE_COLUMNS, present.gate_rows(snapshot.gates))
    notes = [f"- {g.title}: {g.note}" for g in snapshot.gates if g.note]
    if notes:
        out += ["", *notes]
    return out


def metrics_section(snapshot: AnalyticsSnapshot) -> list[str]:
    return ["## Metrics", "", *markdown_table(("Metric", "Value"), present.metric_rows(snapshot))]


def comparison_section(snapshot: AnalyticsSnapshot) -> list[str]:
    comparison = present.comparison_rows(snapshot)
    if not comparison:
        return []
    assert snapshot.comparison is not None
    said = snapshot.comparison.label
    if not said:
        end = present.day_text(snapshot.comparison.baseline_end_ms)
        said = f"Baseline: trades entered before {end} (analytics.baseline_end); now: from then on."
    out = ["## Baseline vs now", "", said, ""]
    return out + markdown_table(present.COMPARISON_COLUMNS, comparison)


def equity_section(snapshot: AnalyticsSnapshot) -> list[str]:
    out = ["## Equity and drawdown", ""]
    if not snapshot.equity:
        return [*out, "No closed trades yet."]
    return [
        *out,
        "```",
        f"equity   {present.sparkline(snapshot.equity)}  "
        f"{snapshot.equity[-1]:+,.2f} after {len(snapshot.equity)} trades",
        f"drawdown {present.sparkline(snapshot.drawdown)}  max {max(snapshot.drawdown):,.2f}",
        "```",
    ]


def tables_section(*names: str, heading: str = "## Attribution") -> Section:
    """The attribution tables named (all of them without names)."""

    def section(snapshot: AnalyticsSnapshot) -> list[str]:
        out = [heading, ""]
        for table in snapshot.tables:
            if names and table.key not in names:
                continue
            out += [f"### P&L by {table.title}", ""]
            rows = present.table_rows(table)
            out += markdown_table(present.TABLE_COLUMNS, rows) if rows else ["No trades."]
            out.append("")
        return out

    return section


def phases_section(snapshot: AnalyticsSnapshot) -> list[str]:
    """Seed 000's strategy validation per started phase, and each phase's success criteria."""
    out = ["## Phases", ""]
    if not snapshot.phases:
        return [*out, "No phase started yet (`cockpit phase start N [--at DATE]`)."]
    rows = [
        (
            f"Phase {p.phase}",
            present.day_text(p.start_ms),
            present.day_text(p.end_ms) if p.end_ms is not None else "now",
            str(p.count),
            fmt.usd(p.avg_pnl),
            fmt.usd(p.total_pnl),
            fmt.share(p.win_rate),
        )
        for p in snapshot.phases
    ]
    out += markdown_table(("Phase", "From", "Until", "Trades", "Avg $", "Total $", "Win %"), rows)
    if snapshot.phase_gates:
        out += ["", "### Success criteria", ""]
        out += markdown_table(
            ("State", "Criteria", "Verdict"),
            [(g.state.label, g.title, g.summary) for g in snapshot.phase_gates],
        )
        out += ["", *markdown_table(present.GATE_COLUMNS, present.gate_rows(snapshot.phase_gates))]
    return out


def ab_section(snapshot: AnalyticsSnapshot) -> list[str]:
    """Groups side by side and each against the baseline group, with both p-values."""
    out = ["## A/B groups compared", ""]
    ab = snapshot.ab
    if ab is None:
        return [*out, "Fewer than two A/B groups on the trades."]
    out += [extra.ab_scope(snapshot), ""]
    out += markdown_table(extra.AB_GROUP_COLUMNS, extra.ab_group_rows(snapshot))
    return [*out, "", *markdown_table(extra.AB_TEST_COLUMNS, extra.ab_test_rows(snapshot))]


def fidelity_section(snapshot: AnalyticsSnapshot) -> list[str]:
    """Seed 003: "Compare shadow vs real (calibration check)"."""
    out = ["## Shadow vs live fidelity", ""]
    rows = extra.fidelity_rows(snapshot)
    if not rows:
        return [*out, "No LIVE-SMALL fills yet."]
    out += [extra.FIDELITY_NOTE, "", *markdown_table(extra.FIDELITY_COLUMNS, rows)]
    missing = extra.fidelity_missing(snapshot)
    return out + (["", *(f"- {line}" for line in missing)] if missing else [])


def runner_section(snapshot: AnalyticsSnapshot) -> list[str]:
    return [
        "## Exits against what the market gave",
        "",
        *markdown_table(("Measure", "Value"), present.runner_rows(snapshot)),
    ]


def filter_section(key: str) -> Section:
    """A seed 003 filter hypothesis (`filters.py`): each bucket's verdict and the answer."""

    def section(snapshot: AnalyticsSnapshot) -> list[str]:
        test = snapshot.confidence if key == "confidence" else snapshot.regime
        if test is None:
            return []
        out = [f"## Hypothesis test: {test.question}", ""]
        rows = filter_rows(test)
        out += markdown_table(FILTER_COLUMNS, rows) if rows else ["No trades with a value."]
        return [*out, "", f"**Answer: {test.conclusion}.**"]

    return section


def direction_regime_section(snapshot: AnalyticsSnapshot) -> list[str]:
    """Seed 000 Phase 4: "Edge is consistent across different market conditions"."""
    result = snapshot.direction_regime
    if result is None:
        return []
    out = ["## Direction x regime: is the directional edge consistent across regimes?", ""]
    rows = direction_regime_rows(result)
    if rows:
        out += [*markdown_table(DIRECTION_REGIME_COLUMNS, rows), ""]
    return [*out, f"**Answer: {result.conclusion}.**"]


def portfolio_section(snapshot: AnalyticsSnapshot) -> list[str]:
    """Seed 003 step 6: drawdown events with 1 vs 2+ positions open, and the 1.5x rule."""
    result = snapshot.portfolio
    if result is None:
        return []
    out = ["## Drawdown with 1 vs 2+ positions open", ""]
    out += markdown_table(PORTFOLIO_COLUMNS, portfolio_rows(result))
    return [
        *out,
        "",
        f"{result.overlapped_trades} of {result.trades} trades were open while another was.",
        "",
        f"**Answer: {result.conclusion}.**",
    ]


def correlation_section(snapshot: AnalyticsSnapshot) -> list[str]:
    """Seed 003 step 6: "Symbol correlation during drawdowns", "Leverage exposure during
    drawdowns"."""
    result = snapshot.portfolio_correlation
    if result is None:
        return []
    out = ["## Positions open at once: correlation and leverage in drawdowns", ""]
    out += markdown_table(CORRELATION_COLUMNS, correlation_rows(result))
    pairs = result.in_drawdown.n + result.outside.n
    return [
        *out,
        "",
        f"{result.cross_symbol_pairs} of {pairs} pairs are of two different symbols. "
        "Leverage: the average of the trades that closed in a drawdown and of the others "
        f"(Welch p {fmt.p_value(result.leverage_p)}).",
        "",
        f"**Answer: {result.conclusion}.**",
    ]


# ------------------------------------------------------------------ documents
@dataclass(frozen=True, slots=True)
class Kind:
    file_name: str
    title: str
    question: str
    sections: tuple[Section, ...]


KINDS: dict[str, Kind] = {
    "baseline": Kind(
        "PERFORMANCE_BASELINE.md",
        "Performance baseline",
        "Seed 003 step 1: the baseline metrics every later change is measured against.",
        (metrics_section, equity_section, phases_section),
    ),
    "attribution": Kind(
        "TRADE_ATTRIBUTION_REPORT.md",
        "Trade attribution",
        "Seed 003 step 2: P&L by symbol, confidence bucket, regime, strategy and exit reason.",
        (tables_section(),),
    ),
    "confidence": Kind(
        "CONFIDENCE_FILTER_ANALYSIS.md",
        "Confidence filter analysis",
        'Seed 003 step 3: "Do we trade too much with low confidence?" If 0.50-0.60 has '
        "negative expectancy, set MIN_CONFIDENCE=0.60; if 0.60-0.70 has, MIN_CONFIDENCE=0.70.",
        (
            tables_section("confidence", heading="## Expectancy by confidence bucket"),
            filter_section("confidence"),
        ),
    ),
    "regime": Kind(
        "REGIME_FILTER_ANALYSIS.md",
        "Regime filter analysis",
        'Seed 003 step 4: "Which regimes have negative expectancy?" If sideways has, add '
        "SKIP_SIDEWAYS; if high volatility has, add MAX_VOL_PERCENTILE.",
        (
            tables_section("regime", heading="## Expectancy by regime"),
            filter_section("regime"),
            direction_regime_section,
        ),
    ),
    "exit": Kind(
        "EXIT_OPTIMIZATION_ANALYSIS.md",
        "Exit optimization analysis",
        'Seed 003 step 5: "Are we exiting too early or too late?" If MFE >> exit price, '
        "consider wider TPs or trailing.",
        (tables_section("exit_reason", heading="## P&L by exit reason"), runner_section),
    ),
    "portfolio": Kind(
        "PORTFOLIO_CORRELATION_ANALYSIS.md",
        "Portfolio correlation analysis",
        'Seed 003 step 6: "Do we cluster losses when multiple positions are open?" If '
        "multi-position drawdown > 1.5x single-position drawdown, add a correlation filter.",
        (
            tables_section("symbol", heading="## P&L by symbol"),
            equity_section,
            portfolio_section,
            correlation_section,
        ),
    ),
    "ab": Kind(
        "AB_TEST_FRAMEWORK_GUIDE.md",
        "A/B test results",
        "Seed 003 step 7: compare group A (baseline) with group B (optimized).",
        (
            tables_section("ab_group", heading="## P&L by A/B group"),
            ab_section,
        ),
    ),
    "fidelity": Kind(
        "SHADOW_VS_LIVE_CALIBRATION.md",
        "Shadow vs live calibration",
        'Seed 003: "Validate: Real execution matches shadow predictions"; "Compare shadow vs '
        'real (calibration check)".',
        (fidelity_section,),
    ),
    "final": Kind(
        "P2_PERFORMANCE_OPTIMIZATION_REPORT.md",
        "P2 performance optimization report",
        "Seed 003 step 8: before/after metrics, each optimization tested, statistical "
        "significance.",
        (
            gates_section,
            phases_section,
            metrics_section,
            comparison_section,
            equity_section,
            tables_section(),
            fidelity_section,
        ),
    ),
}


def _header(title: str, source: str, generated_ms: int) -> list[str]:
    stamp = datetime.fromtimestamp(generated_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [f"# {title}", "", f"Generated {stamp} from `{source}`.", "", present.PNL_NOTE, ""]


def _render(
    title: str,
    lead: list[str],
    sections: Sequence[Section],
    snapshot: AnalyticsSnapshot,
    source: str,
    generated_ms: int,
) -> str:
    out = _header(title, source, generated_ms) + lead
    for section in sections:
        lines = section(snapshot)
        if lines:
            out += [*lines, ""]
    return "\n".join(out).rstrip() + "\n"


def render_markdown(snapshot: AnalyticsSnapshot, *, source: str, generated_ms: int) -> str:
    """The whole report; `source` names the database it was computed from."""
    sections = (
        gates_section,
        phases_section,
        metrics_section,
        comparison_section,
        equity_section,
        tables_section(),
        ab_section,
        fidelity_section,
    )
    return _render("Cockpit analytics report", [], sections, snapshot, source, generated_ms)


def render_kind(snapshot: AnalyticsSnapshot, kind: str, *, source: str, generated_ms: int) -> str:
    """One proof document (`KINDS`); an unknown kind is a ValueError naming the known ones."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}; known: {', '.join(KINDS)}")
    doc = KINDS[kind]
    lead = [doc.question, ""]
    return _render(doc.title, lead, doc.sections, snapshot, source, generated_ms)

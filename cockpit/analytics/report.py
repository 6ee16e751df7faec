"""`cockpit report`: the analytics screen as a Markdown file.

Every number comes from `present.py` over the same `AnalyticsSnapshot` the screen renders, so the
file and the screen say the same thing (tests/analytics/test_report.py checks it cell by cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from cockpit.analytics import present
from cockpit.analytics.snapshot import AnalyticsSnapshot


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    return lines


def render_markdown(snapshot: AnalyticsSnapshot, *, source: str, generated_ms: int) -> str:
    """The whole report; `source` names the database it was computed from."""
    stamp = datetime.fromtimestamp(generated_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Cockpit analytics report",
        "",
        f"Generated {stamp} from `{source}`.",
        "",
        present.PNL_NOTE,
        "",
        "## Decision gates",
        "",
    ]
    out += markdown_table(
        ("State", "Gate", "Verdict"),
        [(g.state.label, g.title, g.summary) for g in snapshot.gates],
    )
    out += ["", "### Checks", ""]
    out += markdown_table(present.GATE_COLUMNS, present.gate_rows(snapshot.gates))
    notes = [f"- {g.title}: {g.note}" for g in snapshot.gates if g.note]
    if notes:
        out += ["", *notes]
    out += ["", "## Metrics", ""]
    out += markdown_table(("Metric", "Value"), present.metric_rows(snapshot))
    comparison = present.comparison_rows(snapshot)
    if comparison:
        assert snapshot.comparison is not None
        end = present.day_text(snapshot.comparison.baseline_end_ms)
        out += [
            "",
            "## Baseline vs now",
            "",
            f"Baseline: trades entered before {end} (analytics.baseline_end); now: from then on.",
            "",
        ]
        out += markdown_table(present.COMPARISON_COLUMNS, comparison)
    out += ["", "## Equity and drawdown", ""]
    if snapshot.equity:
        out += [
            "```",
            f"equity   {present.sparkline(snapshot.equity)}  "
            f"{snapshot.equity[-1]:+,.2f} after {len(snapshot.equity)} trades",
            f"drawdown {present.sparkline(snapshot.drawdown)}  max {max(snapshot.drawdown):,.2f}",
            "```",
        ]
    else:
        out.append("No closed trades yet.")
    out += ["", "## Attribution", ""]
    for table in snapshot.tables:
        out += [f"### P&L by {table.title}", ""]
        rows = present.table_rows(table)
        out += markdown_table(present.TABLE_COLUMNS, rows) if rows else ["No trades."]
        out.append("")
    return "\n".join(out).rstrip() + "\n"

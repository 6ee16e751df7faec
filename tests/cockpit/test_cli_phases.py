"""`cockpit phase start N [--at DATE]`: recorded with an audit row; a start in the future, twice,
out of order or of no phase is refused with one line and nothing written; the report judges
each phase against the one before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cockpit.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "sample_trades.csv"


def db_args(tmp_path: Path) -> list[str]:
    return ["--db", f"sqlite+aiosqlite:///{tmp_path / 'journal.db'}"]


def rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "journal.db") as conn:
        return list(conn.execute(sql).fetchall())


def test_a_phase_start_is_recorded_and_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*db_args(tmp_path), "phase", "start", "1", "--at", "2025-10-01"]) == 0
    assert "Phase 1 (data collection) started at 2025-10-01 00:00 UTC" in capsys.readouterr().out
    assert main([*db_args(tmp_path), "phase", "start", "2", "--at", "2025-10-15T12:30"]) == 0
    assert main([*db_args(tmp_path), "phase", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Phase 1 (data collection) since 2025-10-01 00:00 UTC" in listed
    assert "Phase 2 (ATR-based dynamic targets) since 2025-10-15 12:30 UTC" in listed
    audit = rows(tmp_path, "SELECT kind, who, action FROM audit_events WHERE kind = 'phase'")
    assert [(k, w) for k, w, _ in audit] == [("phase", "cli"), ("phase", "cli")]
    assert "start Phase 2" in str(audit[1][2])


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["2", "--at", "2999-01-01"], "Phase 2 cannot start in the future"),
        (["1", "--at", "2025-11-01"], "Phase 1 already started on 2025-10-01"),
        (["3", "--at", "2025-09-01"], "Phase 3 cannot start before Phase 2 did"),
        (["7"], "there is no Phase 7"),
    ],
)
def test_a_wrong_start_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    assert main([*db_args(tmp_path), "phase", "start", "1", "--at", "2025-10-01"]) == 0
    assert main([*db_args(tmp_path), "phase", "start", "2", "--at", "2025-10-10"]) == 0
    capsys.readouterr()
    assert main([*db_args(tmp_path), "phase", "start", *args]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1
    assert len(rows(tmp_path, "SELECT * FROM phases")) == 2
    assert len(rows(tmp_path, "SELECT * FROM audit_events WHERE kind = 'phase'")) == 2


def test_an_earlier_phase_after_a_later_one_and_a_bad_date_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*db_args(tmp_path), "phase", "start", "3", "--at", "2025-10-01"]) == 0
    assert main([*db_args(tmp_path), "phase", "start", "2", "--at", "2025-10-05"]) == 2
    assert "Phase 3 has already started: phases go in order" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([*db_args(tmp_path), "phase", "start", "2", "--at", "15/10/2025"])
    assert exit_info.value.code == 2
    assert "'15/10/2025' is not YYYY-MM-DD" in capsys.readouterr().err


def test_the_report_judges_each_phase_against_the_one_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*db_args(tmp_path), "import", str(SAMPLE)]) == 0
    assert main([*db_args(tmp_path), "phase", "start", "1", "--at", "2025-01-01"]) == 0
    assert main([*db_args(tmp_path), "phase", "start", "2", "--at", "2025-10-15"]) == 0
    capsys.readouterr()
    assert main([*db_args(tmp_path), "report"]) == 0
    report = capsys.readouterr().out
    phases = report.split("## Phases")[1].split("\n## ")[0]
    # the seed's validation query by hand: exit reason set, entered since the start
    with sqlite3.connect(tmp_path / "journal.db") as conn:
        cut = 1_760_486_400_000  # 2025-10-15 UTC
        before = conn.execute(
            "SELECT COUNT(*) FROM trades WHERE exit_reason IS NOT NULL AND entry_ts_ms < ?", (cut,)
        ).fetchone()[0]
        after = conn.execute(
            "SELECT COUNT(*), SUM(realized_pnl - fees) FROM trades "
            "WHERE exit_reason IS NOT NULL AND entry_ts_ms >= ?",
            (cut,),
        ).fetchone()
    assert f"| Phase 1 | 2025-01-01 | 2025-10-15 | {before} |" in phases
    assert f"| Phase 2 | 2025-10-15 | now | {after[0]} |" in phases
    assert f"{after[1]:+,.2f}" in phases
    assert "Phase 2 success (ATR-based dynamic targets) vs Phase 1" in phases
    assert "Overall success: 2x P&L vs the baseline (Phase 2 vs Phase 1)" in phases


def test_the_p2_baseline_is_chosen_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*db_args(tmp_path), "import", str(SAMPLE)]) == 0
    assert main([*db_args(tmp_path), "phase", "start", "1", "--at", "2025-01-01"]) == 0
    assert main([*db_args(tmp_path), "phase", "start", "2", "--at", "2025-10-15"]) == 0
    capsys.readouterr()

    def comparison(spec: str) -> str:
        assert main([*db_args(tmp_path), "report", "--baseline", spec]) == 0
        return capsys.readouterr().out.split("## Baseline vs now")[1].split("\n## ")[0]

    by_phase = comparison("phase:1")
    assert "Baseline: the trades of Phase 1; now: every trade of the phases after it." in by_phase
    cut = 1_760_486_400_000
    with sqlite3.connect(tmp_path / "journal.db") as conn:
        before, after = (
            conn.execute(
                f"SELECT COUNT(*) FROM trades WHERE exit_reason IS NOT NULL AND entry_ts_ms {op} ?",
                (cut,),
            ).fetchone()[0]
            for op in ("<", ">=")
        )
    assert f"| Trades | {before} | {after} |" in by_phase
    # a date baseline reads what the config's analytics.baseline_end reads
    by_date = comparison("date:2025-10-15")
    config = tmp_path / "c.toml"
    config.write_text("[analytics]\nbaseline_end = 2025-10-15\n")
    assert main(["--config", str(config), *db_args(tmp_path), "report"]) == 0
    by_config = capsys.readouterr().out.split("## Baseline vs now")[1].split("\n## ")[0]
    table = by_date.split("| Metric |")[1]
    assert table == by_config.split("| Metric |")[1]
    by_policy = comparison("policy:fixed")
    assert "Baseline: exit policy fixed; now: every other policy." in by_policy


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("phase:2", "Phase 2 is the current phase, nothing after it"),
        ("phase:4", "Phase 4 has not started"),
        ("yesterday", "expected date:YYYY-MM-DD, phase:N, group:NAME or policy:NAME"),
        ("date:15/10/2025", "the date is not YYYY-MM-DD"),
    ],
)
def test_a_baseline_that_cannot_be_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, said: str
) -> None:
    assert main([*db_args(tmp_path), "import", str(SAMPLE)]) == 0
    assert main([*db_args(tmp_path), "phase", "start", "1", "--at", "2025-01-01"]) == 0
    assert main([*db_args(tmp_path), "phase", "start", "2", "--at", "2025-10-15"]) == 0
    capsys.readouterr()
    assert main([*db_args(tmp_path), "report", "--baseline", spec]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1

"""`cockpit import` and `cockpit report` as a trader runs them: a 60-trade journal goes in, the
report's numbers match a calculation done straight from the CSV, a broken file writes nothing."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from cockpit.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "sample_trades.csv"


def db_args(tmp_path: Path) -> list[str]:
    return ["--db", f"sqlite+aiosqlite:///{tmp_path / 'journal.db'}"]


def trade_count(tmp_path: Path) -> int:
    path = tmp_path / "journal.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM trades").fetchone()[0])


def test_import_then_import_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*db_args(tmp_path), "import", str(SAMPLE)]) == 0
    assert f"imported 60 trades from {SAMPLE}" in capsys.readouterr().out
    assert main([*db_args(tmp_path), "import", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "imported 0 trades" in out and "60 already there, skipped" in out
    assert trade_count(tmp_path) == 60


def test_a_broken_file_is_refused_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = SAMPLE.read_text().splitlines()
    broken = tmp_path / "broken.csv"
    # line 4 gets a side the journal cannot mean, line 9 a price that is not a number
    lines[3] = lines[3].replace(",long,", ",lng,").replace(",short,", ",shrt,")
    fields = lines[8].split(",")
    fields[3] = "n/a"
    lines[8] = ",".join(fields)
    broken.write_text("\n".join(lines) + "\n")
    assert main([*db_args(tmp_path), "import", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken} refused, nothing imported (2 problems)" in err
    assert f"{broken}:4: side:" in err
    assert f"{broken}:9: entry_price: 'n/a' is not a number" in err
    assert trade_count(tmp_path) == 0


def test_import_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*db_args(tmp_path), "import", str(tmp_path / "nope.csv")]) == 2
    assert "no such trades file" in capsys.readouterr().err


def hand_calculation() -> dict[str, str]:
    """The headline numbers computed from the CSV with plain Python, nothing from cockpit."""
    with SAMPLE.open() as handle:
        rows = list(csv.DictReader(handle))
    net = [float(r["pnl"]) - float(r["fees"]) for r in rows]
    wins = [p for p in net if p > 0]
    losses = [p for p in net if p < 0]
    return {
        "Closed trades": f"{len(rows)} ({len(rows)} imported)",
        "Net P&L $": f"{sum(net):+,.2f}",
        "Win rate": f"{100 * len(wins) / len(net):.1f}% ({len(wins)} W / {len(losses)} L)",
        "Average win / average loss $": (
            f"{sum(wins) / len(wins):+,.2f} / {sum(losses) / len(losses):+,.2f}"
        ),
        "Profit factor": f"{sum(wins) / -sum(losses):.2f}",
        "Expectancy per trade $": f"{sum(net) / len(net):+,.2f}",
    }


def test_report_matches_a_calculation_from_the_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*db_args(tmp_path), "import", str(SAMPLE)]) == 0
    out_file = tmp_path / "out" / "report.md"
    out_file.parent.mkdir()
    assert main([*db_args(tmp_path), "report", "--out", str(out_file)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out_file.resolve()} (60 closed trades" in printed
    report = out_file.read_text()
    for label, value in hand_calculation().items():
        assert f"| {label} | {value} |" in report, label
    # every gate has a state, in the file and on the terminal
    for label in ("Ph2 ATR targets", "Ph6 ML features", "Win vs baseline"):
        assert label in printed
    gates = report.split("## Decision gates")[1].split("### Checks")[0]
    assert gates.count("| PASS |") + gates.count("| FAIL |") + gates.count("| NEED |") == 9


def test_report_honours_the_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[analytics]\nbaseline_end = 2025-10-15\nstarting_equity_usdt = 500\n")
    assert main([*db_args(tmp_path), "import", str(SAMPLE)]) == 0
    out_file = tmp_path / "r.md"
    args = ["--config", str(config), *db_args(tmp_path), "report", "--out", str(out_file)]
    assert main(args) == 0
    report = out_file.read_text()
    assert "Baseline: trades entered before 2025-10-15" in report
    assert "| Starting equity (for DD %) | 500 USDT |" in report
    assert "set analytics.baseline_end" not in report


def test_report_on_an_empty_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "r.md"
    assert main([*db_args(tmp_path), "report", "--out", str(out_file)]) == 0
    report = out_file.read_text()
    assert "No closed trades yet." in report
    assert "inf" not in report and "nan" not in report.lower()


def test_report_without_out_prints_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main([*db_args(tmp_path), "import", str(SAMPLE)]) == 0
    capsys.readouterr()
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    assert main([*db_args(tmp_path), "report"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# Cockpit analytics report")
    for label, value in hand_calculation().items():
        assert f"| {label} | {value} |" in printed, label
    assert list(here.iterdir()) == []  # nothing written where the trader stands


KIND_FILES = {
    "baseline": ("PERFORMANCE_BASELINE.md", "| Profit factor |"),
    "attribution": ("TRADE_ATTRIBUTION_REPORT.md", "### P&L by exit reason"),
    "confidence": ("CONFIDENCE_FILTER_ANALYSIS.md", "### P&L by confidence bucket"),
    "regime": ("REGIME_FILTER_ANALYSIS.md", "### P&L by regime"),
    "exit": ("EXIT_OPTIMIZATION_ANALYSIS.md", "| MFE beyond TP2 |"),
    "portfolio": ("PORTFOLIO_CORRELATION_ANALYSIS.md", "### P&L by symbol"),
    "ab": ("AB_TEST_FRAMEWORK_GUIDE.md", "### P&L by A/B group"),
    "final": ("P2_PERFORMANCE_OPTIMIZATION_REPORT.md", "## Decision gates"),
}


def test_each_proof_document_is_written_under_the_seeds_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*db_args(tmp_path), "import", str(SAMPLE)]) == 0
    folder = tmp_path / "proof"
    folder.mkdir()
    for kind, (name, marker) in KIND_FILES.items():
        assert main([*db_args(tmp_path), "report", "--kind", kind, "--out", str(folder)]) == 0
        assert f"wrote {(folder / name).resolve()} (60 closed trades" in capsys.readouterr().out
        text = (folder / name).read_text()
        assert marker in text, kind
        assert "inf" not in text and "nan" not in text.lower()
    assert sorted(p.name for p in folder.iterdir()) == sorted(n for n, _ in KIND_FILES.values())
    # the baseline proof carries its numbers with intervals
    baseline = (folder / "PERFORMANCE_BASELINE.md").read_text()
    assert "| Win rate 95% interval |" in baseline or "95%" in baseline


def test_an_unknown_kind_and_a_file_as_folder_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*db_args(tmp_path), "report", "--kind", "everything"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'everything'" in capsys.readouterr().err
    a_file = tmp_path / "x.md"
    a_file.write_text("keep me")
    assert main([*db_args(tmp_path), "report", "--kind", "final", "--out", str(a_file)]) == 2
    assert "--out with --kind is a folder" in capsys.readouterr().err
    assert a_file.read_text() == "keep me"


def test_report_never_migrates_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from state.db import create_engine_for
    from state.migrate import HEAD_REVISION, upgrade_to

    db = tmp_path / "journal.db"

    async def old_schema() -> None:
        engine = create_engine_for(f"sqlite+aiosqlite:///{db}")
        await upgrade_to(engine, "0005")
        await engine.dispose()

    asyncio.run(old_schema())
    assert main([*db_args(tmp_path), "report"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"has schema revision 0005, this cockpit reads {HEAD_REVISION}" in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0005"


def test_report_on_a_missing_database_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*db_args(tmp_path), "report"]) == 0
    assert "No closed trades yet." in capsys.readouterr().out
    assert not (tmp_path / "journal.db").exists()

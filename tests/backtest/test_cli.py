"""`cockpit backtest` end to end, in process: outputs a user reads, and every bad input refused
with one line and exit 2 before anything is written."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from cockpit.cli import main

HEADER = "timestamp_ms,open,high,low,close,volume\n"
T0 = 1_746_372_780_000  # not on a 15-minute boundary: the first 15m bucket is partial


def write_candles(path: Path, n: int = 3_000, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    close = 150.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0015, n)))
    open_ = np.r_[150.0, close[:-1]]
    high = np.maximum(open_, close) * (1.0 + rng.uniform(0.0, 0.002, n))
    low = np.minimum(open_, close) * (1.0 - rng.uniform(0.0, 0.002, n))
    lines = [
        f"{T0 + 60_000 * i},{open_[i]:.4f},{high[i]:.4f},{low[i]:.4f},{close[i]:.4f},1.0\n"
        for i in range(n)
    ]
    path.write_text(HEADER + "".join(lines))
    return path


@pytest.fixture
def candles(tmp_path: Path) -> Path:
    return write_candles(tmp_path / "SOLUSDT_test_1m.csv")


def backtest(*args: str) -> int:
    return main(["backtest", *args])


def test_trades_csv_and_report(
    candles: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trades, report = tmp_path / "t.csv", tmp_path / "r.md"
    code = backtest(
        str(candles),
        "--policy",
        "fixed,atr_scaled,quality_tiers",
        "--scores",
        "90,75,65,55",
        "--entries",
        "every:240:100",
        "--trades",
        str(trades),
        "--out",
        str(report),
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""  # not a terminal: no progress bar
    rows = list(csv.DictReader(trades.open()))
    assert list(rows[0]) == [
        "policy",
        "params",
        "entry_index",
        "side",
        "entry_price",
        "score",
        "atr",
        "fills",
        "pnl_pct",
        "mfe_pct",
        "mae_pct",
        "ambiguous_bars",
    ]
    # entries at bars 340, 580, ... (bar 100 has no 14 closed 15m bars: refused, not a trade)
    fixed = [r for r in rows if r["policy"] == "fixed"]
    assert [int(r["entry_index"]) for r in fixed] == list(range(340, 3_000 - 1, 240))
    assert [r["side"] for r in fixed[:3]] == ["short", "long", "short"]  # 100 was long
    assert [float(r["score"]) for r in fixed[:4]] == [75.0, 65.0, 55.0, 90.0]
    # quality_tiers refuses the 55s (below the lowest tier, 60)
    tiers = [r for r in rows if r["policy"] == "quality_tiers"]
    assert all(float(r["score"]) >= 60 for r in tiers) and len(tiers) < len(fixed)
    for r in rows:
        fills = json.loads(r["fills"])
        sign = 1.0 if r["side"] == "long" else -1.0
        entry = float(r["entry_price"])
        assert sum(f[2] for f in fills) == pytest.approx(1.0)
        assert [f[0] for f in fills] == sorted(f[0] for f in fills)
        assert all(f[0] > int(r["entry_index"]) for f in fills)
        pnl = sum(f[2] * 100.0 * sign * (f[1] - entry) / entry for f in fills)
        assert float(r["pnl_pct"]) == pytest.approx(pnl, abs=1e-12)
        assert {f[3] for f in fills} <= {
            "stop_loss",
            "breakeven",
            "profit_lock",
            "trailing_stop",
            "tp1",
            "tp2",
            "end_of_data",
        }
    text = report.read_text()
    for label in ("| fixed |", "| atr_scaled |", "| quality_tiers |", "avg vs fixed", "e-ratio"):
        assert label in text
    assert "wrote" in out


def test_a_trade_open_at_the_end_closes_at_the_last_price(candles: Path, tmp_path: Path) -> None:
    trades = tmp_path / "t.csv"
    assert (
        backtest(
            str(candles), "--policy", "fixed", "--entries", "every:1:2990", "--trades", str(trades)
        )
        == 0
    )
    rows = list(csv.DictReader(trades.open()))
    last_close = float(candles.read_text().splitlines()[-1].split(",")[4])
    ends = [json.loads(r["fills"])[-1] for r in rows]
    assert any(f[3] == "end_of_data" for f in ends)
    for f in ends:
        if f[3] == "end_of_data":
            assert f[0] == 2_999 and f[1] == last_close


def test_workers_and_threads_give_identical_results(candles: Path, tmp_path: Path) -> None:
    one, two, threads = tmp_path / "1.csv", tmp_path / "2.csv", tmp_path / "t.csv"
    common = [str(candles), "--policy", "fixed,atr_scaled", "--entries", "every:3:230"]
    assert backtest(*common, "--trades", str(one)) == 0
    assert backtest(*common, "--workers", "2", "--trades", str(two)) == 0
    assert backtest(*common, "--threads", "2", "--trades", str(threads)) == 0
    assert one.read_text() == two.read_text() == threads.read_text()
    assert len(one.read_text().splitlines()) > 1_000  # more than one chunk of trades


GRID = """
[[set]]
policy = "fixed"
tp1_pct = [1.0, 1.5]
bias = [false, true]

[[set]]
policy = "quality_tiers"
trail_atr = [1.5, 3.0]
"""


def test_grid_expands_every_combination(
    candles: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "g.toml"
    grid.write_text(GRID)
    trades = tmp_path / "t.csv"
    assert (
        backtest(
            str(candles),
            "--grid",
            str(grid),
            "--scores",
            "85",
            "--entries",
            "every:500:300",
            "--trades",
            str(trades),
        )
        == 0
    )
    params = {(r["policy"], r["params"]) for r in csv.DictReader(trades.open())}
    assert len(params) == 6
    assert ("fixed", json.dumps({"bias": True, "tp1_pct": 1.0}, sort_keys=True)) in params
    out = capsys.readouterr().out
    assert "quality_tiers trail_atr=1.5" in out and "fixed tp1_pct=1.5 bias" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "fixd", "--entries", "every:10"], "unknown policy 'fixd'"),
        (["--policy", "fixed", "--entries", "every:10:3000"], "outside the data"),
        (["--policy", "fixed", "--entries", "sometimes"], "every:N"),
        (["--policy", "quality_tiers", "--entries", "every:10"], "needs --scores"),
        (["--policy", "fixed", "--scores", "90,abc", "--entries", "every:10"], "'abc'"),
        (["--entries", "every:10"], "--policy"),
        (["--policy", "fixed", "--entries", "every:10", "--threads", "0"], "--threads"),
        (
            ["--policy", "fixed", "--entries", "every:10", "--threads", "2", "--workers", "2"],
            "choose one",
        ),
        (
            [
                "--policy",
                "fixed",
                "--entries",
                "every:10",
                "--scheduler",
                "local",
                "--workers",
                "2",
            ],
            "--scheduler runs on the cluster",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    candles: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out_csv = tmp_path / "t.csv"
    assert backtest(str(candles), *args, "--trades", str(out_csv)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out_csv.exists()


def test_a_file_that_is_not_candles_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"{T0},1,2,0.5,1.5,1\n{T0 + 60_000},1,0.9,0.5,1.5,1\n")
    assert backtest(str(bad), "--policy", "fixed", "--entries", "every:1") == 2
    err = capsys.readouterr().err
    assert "bad.csv:3:" in err and "high" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ('[[set]]\npolicy = "fixed"\ntp3_pct = 2.0\n', "unknown key 'tp3_pct'"),
        ('[[set]]\npolicy = "fixed"\ntp1_pct = 4.0\n', "tp2_pct must be beyond tp1_pct"),
        ('[[set]]\npolicy = "fixd"\n', "unknown policy 'fixd'"),
        ("[[set]\n", "not valid TOML"),
        ('[[set]]\npolicy = "fixed"\nbias = "yes"\n', "bias must be true or false"),
    ],
)
def test_a_malformed_grid_is_refused(
    candles: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], grid: str, message: str
) -> None:
    path = tmp_path / "g.toml"
    path.write_text(grid)
    assert backtest(str(candles), "--grid", str(path), "--entries", "every:10") == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_progress_is_shown_on_a_terminal(candles: Path, tmp_path: Path) -> None:
    """stderr on a pseudo-terminal: the progress line (trades, sims/s, time left) appears."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "cockpit.cli",
                "backtest",
                str(candles),
                "--policy",
                "fixed",
                "--entries",
                "every:5:230",
            ],
            stdout=subprocess.PIPE,
            stderr=follower,
            cwd=Path(__file__).resolve().parents[2],
            timeout=600,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    shown = b"".join(chunks).decode()
    assert re.search(r"\d+/\d+ trades, [\d,]+ sims/s, \d+ s left", shown), shown

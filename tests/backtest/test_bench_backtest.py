"""bench/backtest.py still runs and prints its figures (never checked: a benchmark prints)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backtest.test_real_data import SOL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not SOL.is_file(), reason="the benchmark runs on the real SOL perp file")
def test_backtest_bench_prints_its_last_line() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "backtest.py"),
            "--trades",
            "40",
            "--bars",
            "200",
            "--sample",
            "0.05",
            "--repeats",
            "1",
            "--workers",
            "1",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert "kernel identical: yes" in out.stdout
    assert re.fullmatch(
        r"sims/s: [\d,]+ \(engine loop: [\d,]+/s, ratio [\d,]+, peak RSS \d+ MB\)", lines[-1]
    ), lines[-1]

"""Run-time import facts a static import graph cannot see: driftpy and ccxt are slow to import,
so the demo path and the CLI must not load them (they are imported inside functions, when a
Drift session or a live feed starts).

Which module may import which (Textual only in the UI, no cycles, the core direction) is checked
statically by the import-linter contracts in pyproject.toml (tests/test_import_contracts.py).
Checked in a fresh interpreter so modules imported by other tests cannot hide a violation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_driftpy_is_not_imported_by_the_demo_path() -> None:
    """driftpy costs ~2 s to import; the demo must start without it."""
    code = (
        "import sys, cockpit.app, cockpit.cli, adapters.replay, adapters.paper\n"
        "print(any(m == 'driftpy' or m.startswith('driftpy.') for m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_ccxt_is_imported_only_when_the_live_feed_starts() -> None:
    """ccxt costs a second or more to import; the demo, the CLI and the live feed's module must
    not pull it in (the feed imports it in a worker thread when it starts)."""
    code = (
        "import sys, cockpit.app, cockpit.cli, cockpit.session, adapters.ccxt_feed\n"
        "print(any(m == 'ccxt' or m.startswith('ccxt.') for m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# What a trader waits for before the first frame must be Textual and the dashboard's own modules
# only (issue 14 item 3): these come after it, in the worker that builds the session.
HEAVY = ("sqlalchemy", "alembic", "numpy", "scipy", "numba", "ccxt", "driftpy", "aiohttp")

LOADED = (
    "import sys\n"
    "HEAVY = {heavy!r}\n"
    "def loaded():\n"
    "    return sorted({{m.split('.')[0] for m in sys.modules}} & set(HEAVY))\n"
)


def _run(code: str, tmp_path: Path | None = None) -> str:
    env = {**os.environ, "TERM": "dumb"}
    if tmp_path is not None:  # the CLI's log and any user config stay in the test's directory
        env |= {"COCKPIT_LOG_DIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", LOADED.format(heavy=HEAVY) + code],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_first_frame_path_imports_no_heavy_library() -> None:
    """The CLI, the app, the dashboard and its widgets: none of the libraries the session needs
    (the database, the analytics, the venues) is loaded by importing them."""
    code = (
        "import cockpit.cli, cockpit.app, cockpit.screens.dashboard\n"
        "import widgets.header_bar, widgets.positions_table, widgets.price_chart\n"
        "import widgets.history_table, widgets.gate_panel, widgets.event_log, widgets.pnl_strip\n"
        "print(loaded())\n"
    )
    assert _run(code) == "[]"


@pytest.mark.parametrize("command", ["demo", "replay", "live"])
def test_the_cli_shows_the_first_frame_before_any_heavy_library(
    tmp_path: Path, command: str
) -> None:
    """The real `cockpit demo`, `cockpit replay FILE` and live-feed paths (arguments, settings
    with every optional section, the journal's lock, the app) up to their first frame, run
    headless. The feed and the session are built only after that frame: what is loaded when
    the first of them begins is what the first frame needed. It then fails on purpose (the app
    exits 2 without opening the journal, reading the candle file or asking the exchange)."""
    candles = tmp_path / "sol.csv"
    candles.write_text("timestamp_ms,open,high,low,close,volume\n60000,1,2,0.5,1.5,3\n")
    argv = {
        "demo": ["demo", "--seed", "1"],
        "replay": ["replay", str(candles)],
        "live": ["--feed", "binanceusdm", "--symbol", "SOL/USDT:USDT"],
    }[command]
    code = (
        "import dataclasses\n"
        "import cockpit.cli as cli\n"
        "seen = []\n"
        "def run(app):\n"
        "    def held():\n"
        "        seen.append(loaded())\n"
        "        raise RuntimeError('held by the test')\n"
        "    app.start = dataclasses.replace(app.start, feed=held, build=held)\n"
        "    app.run(headless=True)\n"
        "    return app.return_code\n"
        "cli._run = run\n"
        f"code = cli.main(['--config', {str(tmp_path / 'all.toml')!r}, '--db', "
        f"'sqlite+aiosqlite:///{tmp_path / 'j.db'}', *{argv!r}])\n"
        "print(code, seen)\n"
    )
    (tmp_path / "all.toml").write_text(EVERY_SECTION)
    assert _run(code, tmp_path) == "2 [[]]"
    assert not (tmp_path / "j.db").exists()


# A config with every optional section set: validating it is part of the first frame's path.
EVERY_SECTION = """
[policy]
tp1_pct = 1.4
[atr]
period = 10
[quality_tiers]
tiers = [{ name = "all", min_score = 50, tp1_fraction = 1.0, tp1_atr = 1.0 }]
[direction_bias]
short_mult = 1.1
[exits]
default_policy = "fixed"
[paper]
taker_fee_bps = 4.0
[risk]
max_notional_usdt = 40.0
[demo]
start_price = 140.0
[analytics]
starting_equity_usdt = 2000.0
[analytics.gates]
atr_min = 0.4
[webhook]
enabled = false
[alerts]
[keymap]
long = "n"
"""

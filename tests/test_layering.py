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


def test_the_cli_shows_the_first_frame_before_any_heavy_library(tmp_path: Path) -> None:
    """The real `cockpit demo` path (arguments, settings, the journal's lock, the app) up to its
    first frame, run headless. The session is built only after that frame: what is loaded when
    the build begins is what the first frame needed. The build then fails on purpose (the app
    exits 2 without opening the journal)."""
    code = (
        "import dataclasses\n"
        "import cockpit.cli as cli\n"
        "seen = []\n"
        "def run(app):\n"
        "    def held():\n"
        "        seen.append(loaded())\n"
        "        raise RuntimeError('held by the test')\n"
        "    app.start = dataclasses.replace(app.start, build=held)\n"
        "    app.run(headless=True)\n"
        "    return app.return_code\n"
        "cli._run = run\n"
        f"code = cli.main(['--config', {str(tmp_path / 'none.toml')!r}, '--db', "
        f"'sqlite+aiosqlite:///{tmp_path / 'demo.db'}', 'demo', '--seed', '1'])\n"
        "print(code, seen)\n"
    )
    (tmp_path / "none.toml").write_text("")
    assert _run(code, tmp_path) == "2 [[]]"
    assert not (tmp_path / "demo.db").exists()

"""Run-time import facts a static import graph cannot see: driftpy and ccxt are slow to import,
so the demo path and the CLI must not load them (they are imported inside functions, when a
Drift session or a live feed starts).

Which module may import which (Textual only in the UI, no cycles, the core direction) is checked
statically by the import-linter contracts in pyproject.toml (tests/test_import_contracts.py).
Checked in a fresh interpreter so modules imported by other tests cannot hide a violation.
"""

from __future__ import annotations

import subprocess
import sys


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

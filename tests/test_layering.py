"""The core never imports Textual (DESIGN.md section 1): adapters, state, engine, session, domain.

Checked in a fresh interpreter so modules imported by other tests cannot hide a violation.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE_MODULES = [
    "cockpit.domain",
    "cockpit.config",
    "cockpit.engine.policy",
    "cockpit.engine.exits",
    "cockpit.session",
    "adapters.base",
    "adapters.paper",
    "adapters.replay",
    "adapters.ccxt_feed",
    "cockpit.candle_recorder",
    "cockpit.live_jobs",
    "cockpit.live_venue",
    "adapters.drift",
    "adapters.drift.broker",
    "adapters.drift.oracle_feed",
    "adapters.drift.reconcile",
    "adapters.drift.wallet",
    "adapters.ccxt_candles",
    "state.store",
    "state.models",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_textual(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} pulls in Textual: {result.stdout.strip()}"


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

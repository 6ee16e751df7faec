"""The analytics core, the journal reader and the CSV import never import Textual (DESIGN.md
section 1); checked in a fresh interpreter like tests/test_layering.py does for the rest."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "cockpit.analytics.metrics",
    "cockpit.analytics.gates",
    "cockpit.analytics.attribution",
    "cockpit.analytics.snapshot",
    "cockpit.analytics.present",
    "cockpit.analytics.report",
    "adapters.trades_csv",
    "state.journal",
]


@pytest.mark.parametrize("module", MODULES)
def test_analytics_module_does_not_import_textual(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} pulls in Textual: {result.stdout.strip()}"

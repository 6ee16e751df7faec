"""The layering of DESIGN.md section 1, as import-linter contracts in pyproject.toml.

`lint-imports` reads the imports of every module statically (including those inside functions and
under `if TYPE_CHECKING:`), so a contract holds whichever tests ran before. Runtime facts a static
graph cannot see (driftpy and ccxt are imported only when needed) stay in tests/test_layering.py.
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import cockpit

ROOT = Path(__file__).resolve().parent.parent
UI_AND_ENTRY_POINT = {"cockpit.app", "cockpit.screens", "cockpit.cli", "cockpit.feeds"}


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_the_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; "
            "sys.exit(lint_imports_command())",
            "--no-cache",
            "--no-logo",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"lint-imports failed:\n{output}"
    assert f"{len(_contracts())} kept, 0 broken" in output, output


def test_every_core_module_is_held_away_from_textual() -> None:
    """A new top-level module of cockpit (say cockpit/backtest/) must join the source list of the
    contract that keeps Textual out of the core, or be part of the UI."""
    listed = set(_contracts()["core-without-textual"]["source_modules"])
    modules = {f"cockpit.{m.name}" for m in pkgutil.iter_modules(cockpit.__path__)}
    missing = sorted(modules - UI_AND_ENTRY_POINT - listed)
    assert not missing, f"add {missing} to core-without-textual in pyproject.toml"

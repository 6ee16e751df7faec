"""The wheel carries what the cockpit needs at run time: its stylesheet and the migrations.

Built with the real build backend, unpacked, and imported from the unpacked copy (which comes
before the editable checkout on sys.path), so a file missing from the wheel fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import asyncio, sys
from cockpit.app import CockpitApp, stylesheet_path
from state.migrate import MIGRATIONS_DIR
from state.store import Store

async def migrate(url: str) -> None:
    store = await Store.open(url)
    await store.close()

asyncio.run(migrate(sys.argv[1]))
print(stylesheet_path())
print(MIGRATIONS_DIR)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("cockpit-*.whl")
    return built


def test_wheel_contains_stylesheet_migrations_and_entry_point(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "cockpit/cockpit.tcss" in names
    assert "state/migrations/env.py" in names
    assert any(n.startswith("state/migrations/versions/0001") for n in names)
    for package in ("cockpit", "widgets", "adapters", "state"):
        assert f"{package}/__init__.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "cockpit = cockpit.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_unpacked_wheel_finds_its_stylesheet_and_migrates(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", CHECK, f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    stylesheet, migrations = result.stdout.split()
    assert Path(stylesheet) == site / "cockpit" / "cockpit.tcss"
    assert Path(migrations) == site / "state" / "migrations"
    assert (tmp_path / "w.db").exists()

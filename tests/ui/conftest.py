"""Fixtures for UI tests: every app in a test shares one real SQLite file in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.harness import AppFactory, app_factory


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    return app_factory(f"sqlite+aiosqlite:///{tmp_path / 'cockpit.db'}")

"""The log file rotates: a cockpit left running for days must not fill the disk with it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import cockpit.cli as cli


@pytest.fixture
def clean_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    root.handlers.clear()
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = before
        root.setLevel(level)


@pytest.mark.usefixtures("clean_root_logger")
def test_the_log_rotates_and_keeps_a_bounded_number_of_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COCKPIT_LOG_DIR", str(tmp_path))
    monkeypatch.setattr(cli, "LOG_MAX_BYTES", 2_000)
    path = cli._setup_logging()
    log = logging.getLogger("cockpit.test")
    for i in range(500):
        log.warning("feed SOL-PERP stale for %d s: no automatic exits on stale prices", i)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["cockpit.log"] + [f"cockpit.log.{n}" for n in range(1, cli.LOG_BACKUPS + 1)]
    assert all(p.stat().st_size <= 2_000 for p in tmp_path.iterdir())
    assert "for 499 s" in path.read_text(), "the newest line is in the current file"

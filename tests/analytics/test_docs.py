"""docs/analytics.md's settings block is valid and is exactly the defaults it claims to be."""

from __future__ import annotations

import re
from pathlib import Path

from cockpit.config import Settings, load_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


def test_the_documented_analytics_settings_are_the_defaults(tmp_path: Path) -> None:
    [block] = re.findall(r"```toml\n(.*?)```", DOC.read_text(), flags=re.S)
    path = tmp_path / "config.toml"
    path.write_text(block)
    assert load_settings(path).analytics == Settings().analytics

"""docs/analytics.md's settings block is valid and is exactly the defaults it claims to be; its
`[[ab]]` example loads as written."""

from __future__ import annotations

import re
from pathlib import Path

from cockpit.config import Settings, load_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"


def toml_blocks() -> list[str]:
    return list(re.findall(r"```toml\n(.*?)```", DOC.read_text(), flags=re.S))


def test_the_documented_analytics_settings_are_the_defaults(tmp_path: Path) -> None:
    [block] = [b for b in toml_blocks() if b.startswith("[analytics]")]
    path = tmp_path / "config.toml"
    path.write_text(block)
    assert load_settings(path).analytics == Settings().analytics


def test_the_documented_ab_test_loads(tmp_path: Path) -> None:
    [block] = [b for b in toml_blocks() if b.startswith("[[ab]]")]
    path = tmp_path / "config.toml"
    path.write_text(block)
    [test] = load_settings(path).ab
    assert [v.name for v in test.variants] == ["A", "B"] and test.assignment == "alternate"

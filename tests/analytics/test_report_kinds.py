"""The command line's list of report kinds (light, read before the first frame) is the report's."""

from __future__ import annotations

from cockpit.analytics.report import KINDS
from cockpit.analytics.report_kinds import KIND_FILES


def test_the_cli_lists_every_report_kind_under_its_file_name() -> None:
    assert {name: kind.file_name for name, kind in KINDS.items()} == KIND_FILES

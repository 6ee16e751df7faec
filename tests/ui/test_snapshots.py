"""SVG snapshots of the dashboard at the three terminal sizes it is made for (a closed trade, an
open long past breakeven). Update with `uv run pytest tests/ui/test_snapshots.py --snapshot-update`
after a deliberate change, and look at the new pictures before committing them."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui.harness import AppFactory, rally
from tests.ui.scenes import closed_then_open

SIZES = [(100, 30), (160, 45), (220, 60)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_dashboard(snap_compare: Any, make_app: AppFactory, size: tuple[int, int]) -> None:
    app, feed = make_app(rally(steps=80))

    async def run_before(pilot: Pilot[None]) -> None:
        await closed_then_open(app, feed, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)

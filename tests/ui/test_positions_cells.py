"""Positions table cells: a ccxt perp symbol fits its column."""

from __future__ import annotations

from cockpit.config import FixedPolicyConfig
from cockpit.domain import Side
from cockpit.engine.policy import fixed_plan, open_position
from widgets.positions_table import COLUMNS, position_cells


def test_a_ccxt_symbol_drops_its_settle_suffix_and_fits() -> None:
    plan = fixed_plan(Side.LONG, 150.0, 0.2, FixedPolicyConfig())
    pos = open_position(plan, symbol="SOL/USDT:USDT", leverage=2, opened_ms=0)
    cell = position_cells(pos, 151.0)["symbol"].plain.strip()
    width = next(w for key, _, w in COLUMNS if key == "symbol")
    assert cell == "SOL/USDT" and len(cell) < width

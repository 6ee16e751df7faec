"""Parameter grids: a TOML file of `[[set]]` tables, each expanded into parameter sets.

The format, the defaults and the errors are `cockpit.grid_sets`' (shared with the `[ledger]`
config's sets); this turns its expanded sets into the backtest's `ParamSet`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cockpit.backtest.param_set import ParamSet
from cockpit.config import Settings
from cockpit.grid_sets import GridError, SetSpec, expand, read_tables

__all__ = ["GridError", "ledger_grid", "load_grid", "param_sets"]


def param_sets(specs: Sequence[SetSpec], settings: Settings) -> list[ParamSet]:
    """The expanded sets as the backtest runs them (direction bias from the settings)."""
    return [
        ParamSet(
            s.policy,
            fixed=s.fixed,
            tiers=s.tiers,
            atr=s.atr,
            bias=s.bias,
            bias_cfg=settings.direction_bias,
            overrides=s.overrides,
        )
        for s in specs
    ]


def load_grid(path: Path, settings: Settings) -> list[ParamSet]:
    """Every parameter set of the grid file, in file order (then product order)."""
    return param_sets(expand(f"grid {path}", read_tables(path), settings), settings)


def ledger_grid(settings: Settings) -> list[ParamSet]:
    """The `[ledger]` grid's sets: its grid file's, then its inline `sets`."""
    return param_sets(settings.ledger.specs(settings), settings)

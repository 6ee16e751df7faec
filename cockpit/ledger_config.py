"""`[ledger]`: what the counterfactual ledger runs each closed trade under, and on which candles.

    [ledger]
    enabled = true          # false: the cockpit keeps no ledger in the background
    horizon_h = 48          # a policy may hold a trade this long after its entry (or as long
                            # as the actual trade lasted, when longer)
    timeframe = "1m"        # the recorded candles the trades are re-run on
    grid = "ledger.toml"    # a grid file of [[set]] tables, as `cockpit backtest --grid`
    [[ledger.sets]]         # and/or sets inline, with the same keys
    policy = "fixed"
    tp1_pct = [1.0, 2.0]

Every trade always runs under fixed, atr_scaled and quality_tiers with the config's parameters
and under its own plan; the grid's sets and the inline ones come on top. The sets are checked
when the settings load, against the config's `[policy]`, `[atr]` and `[quality_tiers]` (a set
changes only the keys it names): a bad value is one line and exit 2, not a ledger that fails in
the background. Kept beside cockpit/config.py, which includes it as `ledger`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from cockpit.grid_sets import Base, GridError, SetSpec, expand, read_tables
from cockpit.timeframes import timeframe_ms

HOUR_MS = 3_600_000


class LedgerConfig(BaseModel):
    """The counterfactual ledger (docs/backtest.md "The counterfactual ledger")."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    horizon_h: float = Field(48.0, gt=0, le=24 * 366)
    timeframe: str = "1m"
    grid: Path | None = None
    """A grid file of `[[set]]` tables; a relative path is from the working directory."""
    sets: list[dict[str, Any]] = Field(default_factory=list)
    """Inline `[[ledger.sets]]` tables, the grid file's keys."""

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        timeframe_ms(value)  # ValueError: "unknown timeframe '7x': expected e.g. '1m', ..."
        return value.strip()

    @field_validator("grid")
    @classmethod
    def _grid_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        path = value.expanduser()
        if not path.is_file():
            raise ValueError(f"no such grid file: {path}")
        return path

    @property
    def horizon_ms(self) -> int:
        return round(self.horizon_h * HOUR_MS)

    @property
    def bar_ms(self) -> int:
        return timeframe_ms(self.timeframe)

    @property
    def default_window(self) -> bool:
        """The horizon and timeframe the ledger had before they could be set (48 h of 1m):
        sets run on them keep their keys, so an existing ledger is not computed again."""
        return self.horizon_ms == 48 * HOUR_MS and self.bar_ms == 60_000

    def specs(self, base: Base) -> list[SetSpec]:
        """The grid file's sets, then the inline ones (GridError names the bad one)."""
        out: list[SetSpec] = []
        if self.grid is not None:
            out += expand(f"grid {self.grid}", read_tables(self.grid), base)
        if self.sets:
            out += expand("sets", self.sets, base)
        return out


class _Parts:
    """The settings' validated parts a ledger set's defaults come from."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.policy = data["policy"]
        self.atr = data["atr"]
        self.quality_tiers = data["quality_tiers"]


def check_ledger_sets(cls: type, value: LedgerConfig, info: ValidationInfo) -> LedgerConfig:
    """Settings' validator of `ledger`: every set expands against the config's own parameters
    (skipped when those failed: their own error is the one to read)."""
    if (value.grid is not None or value.sets) and all(
        k in info.data for k in ("policy", "atr", "quality_tiers")
    ):
        try:
            value.specs(_Parts(info.data))
        except GridError as exc:  # its own words, without pydantic's "Value error, "
            raise PydanticCustomError("ledger_sets", "{problem}", {"problem": str(exc)}) from None
    return value

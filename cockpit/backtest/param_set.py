"""A parameter set of the exit lab: one policy with every parameter its plans depend on.

Apart from `plans` (which compiles the kernel's plan builders) so the grid files and the ledger's
sets can be read and checked without importing numba.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.config import (
    POLICY_NAMES,
    AtrConfig,
    DirectionBiasConfig,
    FixedPolicyConfig,
    QualityTiersConfig,
)


@dataclass(frozen=True)
class ParamSet:
    """One policy with all its parameters: a column of the backtest's results."""

    policy: str
    fixed: FixedPolicyConfig = field(default_factory=FixedPolicyConfig)
    tiers: QualityTiersConfig = field(default_factory=QualityTiersConfig)
    atr: AtrConfig = field(default_factory=AtrConfig)
    bias: bool = False
    bias_cfg: DirectionBiasConfig = field(default_factory=DirectionBiasConfig)
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.policy not in POLICY_NAMES:
            raise ValueError(
                f"unknown policy {self.policy!r}; choose from {', '.join(POLICY_NAMES)}"
            )

    @property
    def label(self) -> str:
        """The policy and what the set changes, e.g. `fixed tp1_pct=1 bias`."""
        parts = [self.policy, *(f"{k}={_short(v)}" for k, v in self.overrides.items())]
        if self.bias:
            parts.append("bias")
        return " ".join(parts)

    def params_json(self) -> dict[str, Any]:
        """What a trades CSV row says about its set."""
        return {**self.overrides, "bias": self.bias}


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return f"[{len(value)} tiers]"
    return str(value)

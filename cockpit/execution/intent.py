"""An entry's intent: what the trader asked for, stored on the order row before it is sent.

The exit plan is built from the *fill* price, which is known only when the venue reports the fill
(seconds later on Drift, or after a restart). So the order row carries everything the plan needs
(`intent_json`: policy, ATR, quality score, bias, leverage, mode) and the position is opened from
the row and the fill alone, whoever reports the fill and whenever.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from cockpit.config import Settings
from cockpit.domain import ExitPlan, Fill, Mode, PositionState, Side
from cockpit.engine.policy import open_position, plan_for


@dataclass(frozen=True, slots=True)
class EntryIntent:
    """Everything needed to open the position once the entry fills."""

    symbol: str
    side: Side
    leverage: float
    policy: str
    mode: Mode
    venue: str
    atr: float | None = None
    timeframe: str | None = None
    quality_score: float | None = None
    direction_bias: bool = False
    ab_group: str | None = None
    """The A/B group the entry got (cockpit/execution/ab.py); stored on the trade row."""

    def to_json(self) -> str:
        data = asdict(self)
        data["side"] = self.side.value
        data["mode"] = self.mode.value
        return json.dumps({"entry": data}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EntryIntent:
        data = dict(json.loads(text)["entry"])
        data["side"] = Side(data["side"])
        data["mode"] = Mode(data["mode"])
        return cls(**data)

    def plan(self, settings: Settings, entry: float, size: float) -> ExitPlan:
        """The plan at `entry` (raises PlanRefused when the policy cannot plan it)."""
        return plan_for(
            settings,
            policy=self.policy,
            symbol=self.symbol,
            side=self.side,
            entry=entry,
            size=size,
            atr=self.atr,
            quality_score=self.quality_score,
            direction_bias=self.direction_bias,
        )

    def position(self, settings: Settings, fill: Fill) -> PositionState:
        """The position this entry opened, its plan frozen at the fill price."""
        pos = open_position(
            self.plan(settings, fill.price, fill.size),
            symbol=self.symbol,
            leverage=self.leverage,
            opened_ms=fill.ts_ms,
            mode=self.mode,
            venue=self.venue,
        )
        pos.fees += fill.fee
        return pos

    @property
    def features(self) -> dict[str, object]:
        """The signal features stored with the trade."""
        out: dict[str, object] = {"atr": self.atr, "timeframe": self.timeframe}
        if self.quality_score is not None:
            out["quality_score"] = self.quality_score
        if self.ab_group is not None:
            out["ab_group"] = self.ab_group
        return out

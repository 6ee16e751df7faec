"""The directional edge (roadmap Phase 4): which side makes more per trade, and by how much.

Read so that a larger gap never reads smaller and so that it does not depend on position size
(docs/analytics.md, "Directional edge").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cockpit.analytics import fmt
from cockpit.analytics.metrics import mean_or_none
from cockpit.analytics.trades import TradeRecord


@dataclass(frozen=True, slots=True)
class DirectionalEdge:
    """Average net P&L per trade of each side, which side leads and by how much.

    The edge (docs/analytics.md, "Directional edge") is read so that a larger gap never reads
    smaller, and so that it does not depend on position size:
    - both sides profitable: `strength` = leader's average / other's average (>= 1), the
      "x times more profitable" of two profits;
    - only the leader profitable (the other flat or losing): `strength` is infinite, above
      any multiple of two profits; the roadmap's own figure for this case, "shorts 6.6x more
      profitable than longs (+2.46 vs -0.37 avg)", is the leader's gain over the other side's
      loss, kept as `gain_loss` and shown, but it is not the edge: it shrinks as the losing side
      loses more;
    - the leader not profitable: `strength` 0, no edge.
    """

    long_trades: int
    short_trades: int
    long_avg: float | None
    short_avg: float | None

    @property
    def sides(self) -> tuple[str, float, str, float] | None:
        """(leading side, its average, other side, its average); None unless both sides
        traded. On a tie the long side is listed first (`leader` is then None)."""
        if self.long_avg is None or self.short_avg is None:
            return None
        if self.short_avg > self.long_avg:
            return "short", self.short_avg, "long", self.long_avg
        return "long", self.long_avg, "short", self.short_avg

    @property
    def leader(self) -> str | None:
        """The side with the higher average net P&L per trade; None on a tie or one side only."""
        sides = self.sides
        if sides is None or sides[1] == sides[3]:
            return None
        return sides[0]

    @property
    def strength(self) -> float | None:
        """How far ahead the leader is, monotone in the gap and scale-free (see the class)."""
        sides = self.sides
        if sides is None:
            return None
        _, top, _, other = sides
        if top <= 0:
            return 0.0
        if other <= 0:
            return math.inf
        return top / other

    @property
    def gain_loss(self) -> float | None:
        """The roadmap's figure: the leader's gain / |the other side's loss| ("6.6x" for +2.46
        vs -0.37); None unless the leader gains and the other side loses."""
        sides = self.sides
        if sides is None:
            return None
        _, top, _, other = sides
        if top <= 0 or other >= 0:
            return None
        return top / -other

    def passes(self, min_edge: float) -> bool:
        """A leader exists and is at least `min_edge` times ahead (always, when only it profits)."""
        strength = self.strength
        return self.leader is not None and strength is not None and strength >= min_edge

    def reading(self) -> str:
        """The edge in words, the leading side first: "short leads: 3.0x"."""
        sides = self.sides
        if sides is None:
            return fmt.NA
        best, top, other_side, other = sides
        if top <= 0:
            return "neither side profitable"
        if self.leader is None:
            return f"even: {fmt.times(1.0, 1)}"
        if other > 0:
            return f"{best} leads: {fmt.times(top / other, 1)}"
        if other == 0:
            detail = f"{other_side} flat"
        elif top >= -other:
            detail = f"gain {fmt.times(top / -other, 1)} loss"
        else:
            detail = f"loss {fmt.times(-other / top, 1)} gain"
        return f"{best} leads: only {best} profits ({detail})"


def directional_edge(trades: Sequence[TradeRecord]) -> DirectionalEdge:
    longs = [t.net_pnl for t in trades if t.side == "long"]
    shorts = [t.net_pnl for t in trades if t.side == "short"]
    return DirectionalEdge(len(longs), len(shorts), mean_or_none(longs), mean_or_none(shorts))

"""Direction x regime (seed 000 Phase 4 gate: "Edge is consistent across different market
conditions").

The overall directional edge (`direction.py`) names the leading side: the one with the higher
average net P&L per trade over the whole journal. Here the journal is split by the regime on
each trade (trades without one are left out), and in every regime each side gets its trades,
win rate and expectancy (average net P&L per trade) with the 95 % t interval and p-value of
`filters.hypothesis`. The regime's **gap** is the overall leader's average minus the other
side's, in that regime, with Welch's 95 % interval and p-value (`ab.welch`). The verdict:

- **consistent**: the gap is significantly above 0 (p < `significance_alpha`): the leader leads
  here too;
- **reverses**: the gap is significantly below 0: the other side leads in this regime;
- **not enough trades**: a side has fewer than 2 trades, the gap's interval still holds 0 (with
  the trades per side the gap found so far needs, `ab.trades_needed_for_difference`), or the
  regime has fewer than `min_trades_significant` trades (seed 003 rule 3: "minimum 30 trades
  for confidence").

The conclusion lists the regimes where the edge reverses, holds, and cannot be told yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.analytics import fmt
from cockpit.analytics.ab import trades_needed_for_difference, welch
from cockpit.analytics.attribution import NONE_KEY, grouped
from cockpit.analytics.columns import TradeColumns
from cockpit.analytics.direction import DirectionalEdge
from cockpit.analytics.filters import hypothesis
from cockpit.analytics.metrics import mean_or_none, win_rate
from cockpit.config import GatesConfig

WORDS = ("reverses in", "holds in", "not enough trades in")
"""How the conclusion names the regimes of each verdict (reverses, consistent, not enough)."""


@dataclass(frozen=True, slots=True)
class SideInRegime:
    """One side's trades in one regime: count, win rate, expectancy with its interval and p."""

    trades: int
    win_rate: float | None
    expectancy: float | None
    low: float | None
    high: float | None
    p: float | None


@dataclass(frozen=True, slots=True)
class RegimeEdge:
    """One regime: both sides, the overall leader's gap over the other side, and the verdict."""

    regime: str
    long: SideInRegime
    short: SideInRegime
    edge: DirectionalEdge
    gap: float | None
    gap_low: float | None
    gap_high: float | None
    p: float | None
    verdict: str
    """"consistent", "reverses" or "not enough trades"."""
    reason: str = ""
    """Why not enough trades ("no shorts", "30 needed", "not significant"); "" otherwise."""
    more_needed: int | None = None
    """Trades still needed: per side while not significant, in the regime below 30 trades."""

    @property
    def text(self) -> str:
        """ "consistent: short leads: 5.0x" or "not enough trades: ... (30 needed, ~18 more)"."""
        said = f"{self.verdict}: {self.edge.reading()}"
        notes = [self.reason] if self.reason else []
        if self.more_needed:
            per_side = " per side" if self.reason == "not significant" else ""
            notes.append(f"need ~{self.more_needed} more{per_side}")
        return said + (f" ({', '.join(notes)})" if notes else "")


@dataclass(frozen=True, slots=True)
class DirectionRegime:
    leader: str | None
    """The overall leading side (None: no trades both ways, or a tie)."""
    regimes: tuple[RegimeEdge, ...]
    conclusion: str


def _side(side: TradeColumns, label: str, cfg: GatesConfig) -> SideInRegime:
    h = hypothesis(label, side.net, cfg)
    return SideInRegime(h.trades, win_rate(side.net), h.expectancy, h.low, h.high, h.p)


def _regime(name: str, cols: TradeColumns, leader: str, cfg: GatesConfig) -> RegimeEdge:
    longs, shorts = cols.take(cols.long), cols.take(cols.short)
    long_side, short_side = _side(longs, f"{name} long", cfg), _side(shorts, f"{name} short", cfg)
    edge = DirectionalEdge(
        long_side.trades, short_side.trades, mean_or_none(longs.net), mean_or_none(shorts.net)
    )
    ahead, behind = (shorts.net, longs.net) if leader == "short" else (longs.net, shorts.net)
    parts = (name, long_side, short_side, edge)
    if ahead.size == 0 or behind.size == 0:
        missing = "no shorts" if short_side.trades == 0 else "no longs"
        return RegimeEdge(*parts, None, None, None, None, "not enough trades", missing)
    test = welch(behind, ahead)
    gap = float(ahead.mean() - behind.mean())
    if test is None:
        reason = "no spread" if min(ahead.size, behind.size) >= 2 else "2 trades a side needed"
        return RegimeEdge(*parts, gap, None, None, None, "not enough trades", reason)
    found = (*parts, test.diff, test.low, test.high, test.p)
    if test.p >= cfg.significance_alpha:
        more = trades_needed_for_difference(
            behind, ahead, alpha=cfg.significance_alpha, power=cfg.significance_power
        )
        return RegimeEdge(*found, "not enough trades", "not significant", more or None)
    if cols.size < cfg.min_trades_significant:
        need = f"{cfg.min_trades_significant} needed"
        more = cfg.min_trades_significant - cols.size
        return RegimeEdge(*found, "not enough trades", need, more)
    return RegimeEdge(*found, "consistent" if test.diff > 0 else "reverses")


def direction_regime(cols: TradeColumns, cfg: GatesConfig) -> DirectionRegime:
    """Every regime on the trades against the whole journal's leading side (see the module)."""
    overall = DirectionalEdge(
        int(cols.long.sum()),
        int(cols.short.sum()),
        mean_or_none(cols.net[cols.long]),
        mean_or_none(cols.net[cols.short]),
    )
    leader = overall.leader
    if leader is None:
        return DirectionRegime(None, (), "no directional edge to check: trades both ways needed")
    groups = grouped([t.regime or NONE_KEY for t in cols.records])
    names = sorted(k for k in groups if k != NONE_KEY)
    if not names:
        said = "no trade carries a regime: the edge cannot be checked across regimes"
        return DirectionRegime(leader, (), said)
    rows = tuple(_regime(name, cols.take(groups[name]), leader, cfg) for name in names)
    by_verdict = {
        verdict: [r.regime for r in rows if r.verdict == verdict]
        for verdict in ("reverses", "consistent", "not enough trades")
    }
    if len(by_verdict["consistent"]) == len(rows):
        conclusion = f"the {leader} edge holds in every regime ({len(rows)})"
    else:
        parts = [
            f"{words} {', '.join(regimes)}"
            for words, regimes in zip(WORDS, by_verdict.values(), strict=True)
            if regimes
        ]
        conclusion = f"the {leader} edge " + "; ".join(parts)
    return DirectionRegime(leader, rows, conclusion)


def direction_regime_rows(result: DirectionRegime) -> list[tuple[str, ...]]:
    """Per regime, each side (trades, expectancy, its 95 % interval, p, win rate) and the edge
    (trades, gap, Welch's interval, p, verdict): the screen's and the report's rows."""
    out: list[tuple[str, ...]] = []
    for row in result.regimes:
        sides = (("short", row.short), ("long", row.long))
        if result.leader == "long":
            sides = sides[::-1]
        for name, side in sides:
            out.append(
                (
                    f"{row.regime} {name}",
                    str(side.trades),
                    fmt.usd(side.expectancy),
                    _interval(side.low, side.high),
                    fmt.p_value(side.p),
                    f"win {fmt.share(side.win_rate)}",
                )
            )
        out.append(
            (
                f"{row.regime} edge",
                str(row.long.trades + row.short.trades),
                fmt.usd(row.gap),
                _interval(row.gap_low, row.gap_high),
                fmt.p_value(row.p),
                row.text,
            )
        )
    return out


def _interval(low: float | None, high: float | None) -> str:
    return fmt.NA if low is None or high is None else f"{fmt.usd(low)} .. {fmt.usd(high)}"


DIRECTION_REGIME_COLUMNS = ("Regime and side", "Trades", "Avg $", "95% interval", "p", "Verdict")
"""Avg $ is the expectancy (average net P&L per trade); on an edge row, the leader's average
minus the other side's."""

"""What a replay run came to, said once when its data ends, and kept on screen.

A trader replays a file to learn from it: at the end they want the run's own result, not the
journal's (a replay database holds every earlier run too), so only the trades opened in this run
count: those with an id above the last one on record when the run started (its `replay_runs`
row, migration 0016). The result carries the run's decision gates, computed over the run's own
trades like the analytics compute them over the journal's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from state.records import TradeSummary


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """One finished run: the summary panel's content and the event-log line."""

    run_id: int | None
    """The `replay_runs` id; None when the run could not be recorded (the database failed)."""
    source: str
    trades: int
    wins: int
    net_pnl: float
    exits: tuple[tuple[str, int], ...]
    """(exit reason, count), by reason name."""
    still_open: int
    data_end_ms: int | None
    gates: tuple[tuple[str, str, str], ...] = ()
    """(state word, gate, verdict) of each decision gate over this run's trades."""

    @property
    def win_rate_pct(self) -> float | None:
        return 100 * self.wins / self.trades if self.trades else None

    @property
    def line(self) -> str:
        """One line for the event log."""
        if not self.trades:
            head = "no trade closed in this run"
        else:
            by_reason = ", ".join(f"{reason} {n}" for reason, n in self.exits)
            head = (
                f"{self.trades} trade(s), win rate {self.win_rate_pct:.0f} %, "
                f"net P&L {self.net_pnl:+.2f} USDT after fees; exits: {by_reason}"
            )
        tail = (
            f"; {self.still_open} position(s) still open (c closes one)" if self.still_open else ""
        )
        run = f" (run {self.run_id})" if self.run_id is not None else ""
        return f"replay finished: {head}{tail}{run}"


def replay_result(
    trades: Sequence[TradeSummary],
    still_open: int,
    *,
    run_id: int | None = None,
    source: str = "",
    data_end_ms: int | None = None,
    gates: Sequence[tuple[str, str, str]] = (),
) -> ReplayResult:
    """The result of a run from its closed trades (net P&L after fees decides a win)."""
    net = [t.realized_pnl - t.fees for t in trades]
    reasons = Counter(t.exit_reason or "unknown" for t in trades)
    return ReplayResult(
        run_id=run_id,
        source=source,
        trades=len(net),
        wins=sum(1 for pnl in net if pnl > 0),
        net_pnl=sum(net),
        exits=tuple(sorted(reasons.items())),
        still_open=still_open,
        data_end_ms=data_end_ms,
        gates=tuple(gates),
    )

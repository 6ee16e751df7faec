"""The alert rules: what the session says, turned into alerts (cockpit/alerts/center.py).

Two ways in. Exit fills arrive through the router's hook (`exit_filled`): a stop of any role
that fills is `stop_hit`, a TP1/TP2 fill is `tp_fill`. Everything else is a state the watcher
reads once a second, never per tick and without I/O: an exit that keeps failing
(`exit_failing`), a feed down or stale for longer than `feed_down_after_s` (`feed_down`), an
open position whose MFE passes `mfe_pct` (`mfe`: a runner candidate, roadmap Phase 5), and the
daily loss stop (`daily_loss`). `quality` is raised by the signal intake. Each alert names a
subject (the trade, the feed, the day) so the center's cooldown is per rule and subject.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from cockpit.alerts.center import AlertCenter
from cockpit.domain import ExitReason, FeedState, FeedStatus, Fill, PositionState, StopRole

log = logging.getLogger(__name__)

STOP_REASONS = frozenset(role.value for role in StopRole)
TP_REASONS = frozenset({ExitReason.TP1.value, ExitReason.TP2.value})


class AlertWatcher:
    def __init__(
        self,
        center: AlertCenter,
        *,
        feed_status: Callable[[], FeedStatus],
        positions: Callable[[], list[PositionState]],
        failing_exits: Callable[[], dict[int, str]],
        daily_loss: Callable[[int], str | None],
        clock: Callable[[], int],
        each_second: list[Callable[[], Awaitable[None]]] | None = None,
    ) -> None:
        self.center = center
        self._feed_status = feed_status
        self._positions = positions
        self._failing_exits = failing_exits
        self._daily_loss = daily_loss
        self._clock = clock
        self._each_second = each_second or []
        self._feed_bad_since: int | None = None
        self._mfe_seen: set[int] = set()
        self._failing_seen: set[int] = set()

    # ------------------------------------------------------------------ exit fills (hook)
    def exit_filled(self, pos: PositionState, fill: Fill) -> None:
        reason = fill.reason
        left = "closed" if pos.closed else f"{pos.size:.4f} left"
        what = f"{fill.size:.4f} {pos.symbol} @ {fill.price:.4f}; {left}"
        subject = f"#{pos.trade_id} {reason}"
        if reason in STOP_REASONS:
            level = "warning" if reason == StopRole.STOP_LOSS.value else "info"
            self.center.fire("stop_hit", subject, level, f"#{pos.trade_id} {reason} hit: {what}")
        elif reason in TP_REASONS:
            self.center.fire("tp_fill", subject, "info", f"#{pos.trade_id} {reason} filled: {what}")

    # ------------------------------------------------------------------ states (once a second)
    def check(self) -> None:
        """Read the states once; raise what is new."""
        now = self._clock()
        self._check_feed(now)
        failing = self._failing_exits()
        for trade_id, label in failing.items():
            if trade_id not in self._failing_seen:
                self.center.fire("exit_failing", f"#{trade_id}", "error", f"#{trade_id} {label}")
        self._failing_seen = set(failing)
        threshold = self.center.config.mfe_pct
        for pos in self._positions():
            if pos.trade_id is None or pos.closed or pos.trade_id in self._mfe_seen:
                continue
            if pos.mfe_pct > threshold:
                self._mfe_seen.add(pos.trade_id)
                self.center.fire(
                    "mfe",
                    f"#{pos.trade_id}",
                    "info",
                    f"#{pos.trade_id} {pos.side.value} {pos.symbol} MFE {pos.mfe_pct:.2f} % "
                    f"(> {threshold:g} %): runner candidate",
                )
        loss = self._daily_loss(now)
        if loss is not None:
            day = datetime.fromtimestamp(now / 1000, tz=UTC).strftime("%Y-%m-%d")
            self.center.fire("daily_loss", day, "error", loss)

    def _check_feed(self, now: int) -> None:
        status = self._feed_status()
        if status.state not in (FeedState.DOWN, FeedState.STALE):
            self._feed_bad_since = None
            return
        if self._feed_bad_since is None:
            self._feed_bad_since = now
        bad_s = (now - self._feed_bad_since) / 1000
        if bad_s >= self.center.config.feed_down_after_s:
            detail = f" ({status.detail})" if status.detail else ""
            self.center.fire(
                "feed_down",
                "feed",
                "error",
                f"feed {status.state.value} for {bad_s:.0f} s{detail}: no automatic exits "
                "on stale prices",
            )

    async def run(self, every_s: float = 1.0) -> None:
        """Check once every `every_s` until cancelled; a failing check is logged, never fatal."""
        while True:
            try:
                self.check()
                for job in self._each_second:
                    await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alert check failed")
            await asyncio.sleep(every_s)

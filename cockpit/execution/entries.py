"""The entry command: every check before any order row, then the router."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import NoReturn

from adapters.base import MarketFeed
from adapters.csv_candles import timeframe_ms
from cockpit.config import AtrConfig, Settings
from cockpit.domain import FeedState, OrderRequest, PositionState, Side
from cockpit.engine.atr import wilder_atr
from cockpit.engine.policy import PlanRefused
from cockpit.execution.ab import ABAssigner
from cockpit.execution.book import PositionBook
from cockpit.execution.commands import Audit
from cockpit.execution.errors import EntryPending, OrderRejected
from cockpit.execution.events import LatestState
from cockpit.execution.intent import EntryIntent
from cockpit.execution.router import Router, new_client_order_id
from cockpit.execution.venues import Venues
from cockpit.feed_health import StaleGuard, status_of
from cockpit.risk import EntryRequest, RiskGate

log = logging.getLogger(__name__)


class Entries:
    """The entry command: every check before any order row, then the router.

    Whoever asks (the ticket, the palette, a test, later a webhook) goes through `open`: the symbol
    must have a fresh price, the policy must be able to plan the entry, the venue must not hold a
    position on the symbol already (book.py), and the risk gate must allow it. Each refusal is
    audited and logged here once, and raised as `OrderRejected` with the reason.
    """

    def __init__(
        self,
        settings: Settings,
        symbols: list[str],
        feed: MarketFeed,
        book: PositionBook,
        router: Router,
        venues: Venues,
        risk: RiskGate,
        latest: LatestState,
        stale_guard: StaleGuard,
        audit: Audit,
        event: Callable[[str, str], None],
        clock: Callable[[], int],
        ab: ABAssigner | None = None,
    ) -> None:
        self.settings = settings
        self.ab = ab
        self.symbols = symbols
        self.feed = feed
        self.book = book
        self.router = router
        self._one_at_a_time = asyncio.Lock()
        self.venues = venues
        self.risk = risk
        self.latest = latest
        self.stale_guard = stale_guard
        self.audit = audit
        self.event = event
        self.clock = clock

    async def open(
        self,
        symbol: str,
        side: Side,
        notional: float,
        leverage: float,
        who: str = "user",
        *,
        policy: str | None = None,
        quality_score: float | None = None,
        direction_bias: bool = False,
    ) -> PositionState:
        """Open a position of `notional` quote at the current price under an exit policy
        (`policy` defaults to the configured one). The plan is tried at the current price before
        anything is sent; the plan actually used is built from the fill price and frozen.

        One entry at a time, checks and send together: the checks wait on the feed (ATR
        candles), and two entries checked side by side (a ticket and a signal) would both pass
        the one-position rule and both be sent."""
        async with self._one_at_a_time:
            return await self._open(
                symbol,
                side,
                notional,
                leverage,
                who,
                policy=policy,
                quality_score=quality_score,
                direction_bias=direction_bias,
            )

    async def _open(
        self,
        symbol: str,
        side: Side,
        notional: float,
        leverage: float,
        who: str,
        *,
        policy: str | None,
        quality_score: float | None,
        direction_bias: bool,
    ) -> PositionState:
        if symbol not in self.symbols:
            raise OrderRejected(
                f"no feed for {symbol}; this session trades {', '.join(self.symbols)}"
            )
        if notional <= 0:
            raise OrderRejected("notional must be above 0")
        if leverage <= 0:
            raise OrderRejected("leverage must be above 0")
        tick = self.latest.last_tick.get(symbol)
        if tick is None:
            raise OrderRejected(f"no price for {symbol} yet; wait for the feed")
        action = f"open {side.value} {symbol}"
        lock_lost = self.latest.account_lock
        if lock_lost is not None:
            await self._refuse(who, action, lock_lost)
        paused = self.latest.entries_paused
        if paused is not None:
            await self._refuse(
                who, action, f"entries are paused ({paused}); open positions are still managed"
            )
        status = status_of(self.feed, symbol)  # this symbol's own: the others trade on
        if status.state is FeedState.DOWN:
            await self._refuse(
                who,
                action,
                f"{symbol}: the feed is down ({status.detail or 'no detail'}): no entry on a "
                "frozen price",
            )
        stale = self.stale_guard.staleness(tick)
        if stale is not None:
            await self._refuse(
                who, action, f"{symbol}: {stale}; no entry on a stale price (wait for the feed)"
            )
        self.router.require_store()
        policy = policy or self.settings.exits.default_policy
        group = None if self.ab is None else self.ab.peek(self.clock())
        if group is not None:  # the A/B test decides what it tests, whatever was chosen
            policy, direction_bias = group.apply(policy, direction_bias)
        mode = self.latest.mode
        route = self.venues.for_entry(mode)
        intent = EntryIntent(
            symbol=symbol,
            side=side,
            leverage=leverage,
            policy=policy,
            mode=route.mode,
            venue=route.venue.venue,
            atr=await self._entry_atr(symbol, tick.ts_ms),
            timeframe=self.settings.atr.timeframe,
            quality_score=quality_score,
            direction_bias=direction_bias,
            ab_group=None if group is None else group.group,
        )
        try:
            intent.plan(self.settings, tick.price, notional / tick.price)
        except PlanRefused as exc:
            await self._refuse(who, f"{action} ({policy})", str(exc))
        pending = self.venues.pending_entries(route)
        netting = self.book.entry_refusal(route.venue.venue, symbol, side, pending)
        if netting is not None:
            await self._refuse(who, action, netting)
        now_ms = self.clock()
        held = [p for p in self.book.positions if p.venue == intent.venue]
        decision = self.risk.check_entry(
            EntryRequest(symbol, side, notional, leverage, who),
            open_positions=len(held) + pending,
            now_ms=now_ms,
            open_notional_usdt=sum(p.notional for p in held),  # every symbol's, together
        )
        if not decision.allowed:
            await self._refuse(who, action, decision.reason)
        if decision.reason:
            self.event("warning", decision.reason)
        order = OrderRequest(
            client_order_id=new_client_order_id(),
            symbol=symbol,
            side=side.opening_order_side,
            size=notional / tick.price,
            reduce_only=False,
            reason="entry",
            leverage=leverage,
        )
        try:
            pos = await self.router.open(route.venue, intent, order)
        except EntryPending as pending_exc:
            self.risk.record_entry(now_ms)  # it may still land: the cooldown holds
            if group is not None and self.ab is not None:
                pending_exc.ab_group = group.group
                await self.ab.commit(group)
            raise
        self.risk.record_entry(now_ms)
        if group is not None and self.ab is not None:
            await self.ab.commit(group)  # sent and filled: the next entry takes the next turn
        return pos

    async def _refuse(self, who: str, action: str, reason: str) -> NoReturn:
        await self.audit("refusal", who, action, reason)
        self.event("error", f"order refused: {reason}")
        raise OrderRejected(reason)

    async def _entry_atr(self, symbol: str, now_ms: int) -> float | None:
        return await closed_bar_atr(self.feed, symbol, self.settings.atr, now_ms)


async def closed_bar_atr(
    feed: MarketFeed, symbol: str, cfg: AtrConfig, now_ms: int
) -> float | None:
    """Wilder ATR on the configured timeframe from the feed's closed bars, or None (the entry's
    ATR, and the watchlist's column).

    The bar still forming at `now_ms` is dropped (its range is not final). A feed that cannot
    serve candles gives None: `fixed` does not need the ATR, the ATR policies then refuse with
    the reason.
    """
    try:
        tf_ms = timeframe_ms(cfg.timeframe)
        bars = await feed.candles(symbol, cfg.timeframe, None, cfg.period * 3 + 1)
    except Exception as exc:  # a feed error must not block a fixed-policy entry
        log.warning("no candles for ATR on %s: %s", symbol, exc)
        return None
    closed = [bar for bar in bars if bar.ts_ms + tf_ms <= now_ms]
    return wilder_atr(closed, cfg.period)

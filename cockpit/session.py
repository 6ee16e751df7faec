"""The runtime: feed -> engine -> broker -> store, one asyncio task per fed symbol.

The session owns every open position. On each tick it asks the pure engine what to do, sends the
resulting reduce-only orders through the broker (intent row first, then the result), and hands the
UI a `LatestState` to poll. It never imports Textual: the app renders `LatestState` and calls the
session's commands, nothing else (DESIGN.md sections 1 and 6).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NoReturn

from adapters.base import Broker, BrokerError, MarketFeed
from adapters.csv_candles import timeframe_ms
from adapters.drift import DriftBroker
from adapters.paper import PaperBroker
from cockpit.analytics.snapshot import AnalyticsSnapshot
from cockpit.config import Settings
from cockpit.domain import (
    Close,
    ExitPlan,
    ExitReason,
    FeedState,
    FeedStatus,
    Fill,
    Mode,
    MoveStop,
    OrderRequest,
    PositionState,
    Side,
    Tick,
)
from cockpit.engine.atr import wilder_atr
from cockpit.engine.exits import apply_fill, on_price
from cockpit.engine.manual import (
    ManualRefused,
    apply_manual_stop,
    apply_trail_mult,
    close_size,
)
from cockpit.engine.policy import PlanRefused, describe_plan, open_position, plan_for
from cockpit.feed_health import StaleGuard
from cockpit.live_jobs import live_feed_jobs
from cockpit.live_venue import LiveVenue, OrderPending
from cockpit.risk import NO_LIVE_VENUE, EntryRequest, ModeChange, ModeRefused, RiskGate
from state.journal import analytics_snapshot
from state.records import AuditRecord, TradeSummary
from state.store import Store

log = logging.getLogger(__name__)

PRICE_HISTORY_LEN = 600
EVENT_HISTORY_LEN = 500


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One line of the event log; `seq` lets the UI append only what is new."""

    seq: int
    ts_ms: int
    level: str
    text: str


@dataclass
class LatestState:
    """What the UI polls at 4 Hz: the newest value of everything, written by the session only."""

    last_tick: dict[str, Tick] = field(default_factory=dict)
    price_history: dict[str, deque[float]] = field(default_factory=dict)
    positions: list[PositionState] = field(default_factory=list)
    closed_trades: list[TradeSummary] = field(default_factory=list)
    events: deque[LogEvent] = field(default_factory=lambda: deque(maxlen=EVENT_HISTORY_LEN))
    event_seq: int = 0
    history_version: int = 0
    mode: Mode = Mode.SHADOW
    # Metrics and decision gates over every closed trade; None until the first history load.
    analytics: AnalyticsSnapshot | None = None


class OrderRejected(Exception):
    """A user command could not be carried out; the message says why, in trader's words."""


class EntryPending(OrderRejected):
    """The entry went out to the venue but its fill is not confirmed yet: no position is listed
    until the account shows it (the session keeps watching; the message says so)."""


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Session:
    """Runs one feed for one or more symbols against one store and up to two brokers.

    `broker` is the paper broker used in SHADOW; `live_broker` (None until a venue is set up)
    receives orders in LIVE_SMALL. Exits always go to the broker of the position's own venue.
    Every risk-increasing order passes `self.risk` first; nothing else decides on limits.
    """

    def __init__(
        self,
        settings: Settings,
        feed: MarketFeed,
        broker: Broker,
        symbols: list[str],
        *,
        live_broker: Broker | None = None,
        wallet: str | None = None,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.settings = settings
        self.feed = feed
        self.broker = broker
        self.live_broker = live_broker
        self.wallet = wallet
        self.symbols = symbols
        self.clock = clock
        self.risk = RiskGate(settings.risk)
        self.latest = LatestState()
        self.store: Store | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Held while an order is in flight: one at a time, and the venue poll never reads the
        # account halfway through one of ours.
        self.order_lock = asyncio.Lock()
        # Paper brokers fill at the latest price, so they see every tick (live venues do not).
        self._paper_brokers = [b for b in (broker, live_broker) if isinstance(b, PaperBroker)]
        # A live feed's prices go stale: no automatic exits on them (a replay is never stale).
        self._stale_guard = StaleGuard(feed, clock, self.event)
        self._analytics_task: asyncio.Task[None] | None = None
        self._analytics_again = False
        # A venue with on-chain orders (Drift): stops kept on chain, placed orders watched,
        # reconcile at start (cockpit/live_venue.py). None for paper brokers.
        self.venue: LiveVenue | None = (
            LiveVenue(self, live_broker) if isinstance(live_broker, DriftBroker) else None
        )
        self._venue_tried = asyncio.Event()  # set once the first reconcile attempt is over
        # Why the live venue cannot be used right now (None once it is reconciled).
        self.venue_down: str | None = (
            None if self.venue is None else f"{self.venue.venue} is not reconciled yet"
        )

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Open the store, restore open positions, start one feed task per symbol."""
        self.store = await Store.open(
            self.settings.db_url, flush_interval_s=self.settings.state_flush_ms / 1000
        )
        await self._note_forced_shadow()
        restored = await self.store.open_positions()
        for pos in restored:
            self.latest.positions.append(pos)
            broker = self._broker_for(pos.venue)
            if isinstance(broker, PaperBroker):
                broker.adopt_position(pos.symbol, pos.side.sign * pos.size)
            if pos.symbol not in self.symbols:
                managed = "NOT managed: no feed for it"
            elif self.venue is not None and pos.venue == self.venue.venue:
                managed = f"managed on {pos.venue} once reconciled"
            elif broker is None:
                managed = f"NOT managed: no broker for venue {pos.venue}"
            else:
                managed = f"managed on {pos.venue}"
            self.event(
                "info",
                f"restored #{pos.trade_id} {pos.side.value} {pos.size:g} {pos.symbol} "
                f"@ {pos.entry:.4f} SL {pos.stop:.4f} ({managed})",
            )
        await self._reload_history()
        await self._restore_risk_state(restored)
        self._start_venue()
        for symbol in self.symbols:
            self._tasks.append(asyncio.create_task(self._run_feed(symbol), name=f"feed:{symbol}"))
        # Live feeds only: candle recorder, funding on paper positions, feed state in the log.
        for name, job in live_feed_jobs(self):
            self._tasks.append(asyncio.create_task(job, name=name))

    def _start_venue(self) -> None:
        """Connect to the live venue and reconcile with it, in the background.

        Until that has worked, the venue's positions are listed but not managed (their on-chain
        stops still protect them) and LIVE-SMALL cannot be entered, so nothing is ever sent to
        the venue before the comparison. It runs beside the feed so that a slow or dead RPC
        never holds up the dashboard: a failure is said once and retried, backing off.
        """
        venue = self.venue
        if venue is None:
            return
        self._tasks.append(
            asyncio.create_task(self._connect_venue(venue), name=f"venue-connect:{venue.venue}")
        )

    async def _connect_venue(self, venue: LiveVenue) -> None:
        cfg = venue.config
        delay = cfg.backoff_initial_s
        first = True
        while True:
            mine = [p for p in self.latest.positions if p.venue == venue.venue]
            try:
                await venue.start(mine)
            except Exception as exc:
                log.warning("venue reconcile failed: %s", exc)
                self.venue_down = f"{venue.venue} could not be reconciled: {exc}"
                if first:
                    self.event(
                        "error",
                        f"{venue.venue} could not be reconciled ({exc}): its positions are "
                        "listed, not managed, and LIVE-SMALL is off until it is; retrying",
                    )
            else:
                self.venue_down = None
                if not first:
                    self.event("info", f"{venue.venue} reconciled: its positions are managed again")
                self._venue_tried.set()
                self._tasks.append(asyncio.create_task(venue.run(), name=f"venue:{venue.venue}"))
                return
            first = False
            self._venue_tried.set()
            await asyncio.sleep(delay)
            delay = min(cfg.backoff_max_s, delay * 2)

    async def venue_tried(self) -> None:
        """Wait until the first attempt to reconcile with the live venue has finished, well or
        not (tests, and anything that must not act before the comparison was made)."""
        if self.venue is not None:
            await self._venue_tried.wait()

    async def stop(self) -> None:
        """Stop feeds, flush position state, close the store and the feed. Safe to call twice."""
        if self._analytics_task is not None:
            self._analytics_task.cancel()
        for task in self._tasks:
            task.cancel()
        pending = [*self._tasks]
        if self._analytics_task is not None:
            pending.append(self._analytics_task)
        for waiting in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await waiting
        self._tasks.clear()
        self._analytics_task = None
        with contextlib.suppress(Exception):
            await self.feed.close()
        if self.venue is not None:
            with contextlib.suppress(Exception):
                await self.venue.close()
        if self.store is not None:
            for symbol, tick in self.latest.last_tick.items():
                with contextlib.suppress(Exception):
                    await self.store.set_setting(last_price_key(symbol), repr(tick.price))
            for pos in self.latest.positions:
                self.store.update_position(pos)
            await self.store.close()
            self.store = None

    @property
    def feed_status(self) -> FeedStatus:
        return self.feed.status

    # ----------------------------------------------------------------- events
    def event(self, level: str, text: str) -> None:
        """Append to the event log (and to the alerts table for warnings and errors)."""
        self.latest.event_seq += 1
        ts = self.clock()
        self.latest.events.append(LogEvent(self.latest.event_seq, ts, level, text))
        log.log(logging.WARNING if level in ("warning", "error") else logging.INFO, text)
        if level in ("warning", "error") and self.store is not None:
            task = asyncio.get_running_loop().create_task(self.store.record_alert(level, text, ts))
            task.add_done_callback(_swallow)

    # ----------------------------------------------------------------- feed loop
    async def _run_feed(self, symbol: str) -> None:
        """Consume ticks until the feed ends. Errors go to the log and never kill the app."""
        try:
            async for tick in self.feed.ticks(symbol):
                try:
                    await self.on_tick(tick)
                except Exception as exc:  # a bad tick or a store error must not stop the feed
                    log.exception("tick handling failed")
                    self.event("error", f"tick handling failed: {exc}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("feed failed")
            self.event("error", f"feed {symbol} failed: {exc}")
            return
        if self.feed.status.state is FeedState.DOWN:
            self.event("warning", f"feed {symbol}: {self.feed.status.detail or 'ended'}")

    async def on_tick(self, tick: Tick) -> None:
        """One price: update the latest state, run the engine for each position, act."""
        for paper in self._paper_brokers:
            paper.on_tick(tick)
        self.latest.last_tick[tick.symbol] = tick
        history = self.latest.price_history.get(tick.symbol)
        if history is None:
            history = self.latest.price_history[tick.symbol] = deque(maxlen=PRICE_HISTORY_LEN)
        history.append(tick.price)
        if not self._stale_guard.fresh(tick):
            return  # shown and logged; management resumes with the next fresh price
        for pos in list(self.latest.positions):
            if pos.symbol != tick.symbol or pos.closed:
                continue
            if self._broker_for(pos.venue) is None:
                continue  # listed, never acted on: its venue is not connected this session
            # The venue keeping this position's stop on chain, if any (Drift).
            venue = self.venue if self.venue and pos.venue == self.venue.venue else None
            if venue is not None and pos.trade_id in venue.blocked:
                continue  # the venue holds something else: listed, never acted on
            actions = on_price(pos, tick.price, tick.ts_ms)
            stop_through = False
            for action in actions:
                if isinstance(action, MoveStop):
                    await self._record_stop_move(pos, action, tick.ts_ms)
                    if venue is not None:
                        venue.stop_changed(pos)
                elif isinstance(action, Close):
                    if venue is not None:
                        if venue.exit_pending(pos.trade_id):
                            continue  # the same exit is placed and watched: never a second
                        if action.reason.value == pos.stop_role.value:
                            stop_through = True
                            if venue.defers_stop(pos, tick.ts_ms):
                                continue  # the on-chain stop fills it; the poll records it
                    await self._execute_close(pos, action.size, action.reason.value, "engine")
            if venue is not None and not stop_through:
                venue.price_back(pos.trade_id)
            if self.store is not None:
                self.store.update_position(pos)

    # ----------------------------------------------------------------- commands
    async def open_position(
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
        """Open a position of `notional` quote at the current price under an exit policy.

        `policy` defaults to the configured one. The plan is tried at the current price before
        anything is sent, so a policy that cannot plan this entry (score below the lowest tier,
        no ATR yet, no baseline for the symbol) refuses the trade with its reason and no order
        row; the plan actually used is then built from the fill price and frozen.
        """
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
        stale = self._stale_guard.staleness(tick)
        if stale is not None:
            reason = f"{symbol}: {stale}; no entry on a stale price (wait for the feed)"
            await self.audit("refusal", who, f"open {side.value} {symbol}", reason)
            self.event("error", f"order refused: {reason}")
            raise OrderRejected(reason)
        store = self.require_store()
        policy = policy or self.settings.exits.default_policy
        atr = await self._entry_atr(symbol, tick.ts_ms)

        def make_plan(entry: float, size: float) -> ExitPlan:
            return plan_for(
                self.settings,
                policy=policy,
                symbol=symbol,
                side=side,
                entry=entry,
                size=size,
                atr=atr,
                quality_score=quality_score,
                direction_bias=direction_bias,
            )

        try:
            make_plan(tick.price, notional / tick.price)
        except PlanRefused as exc:
            await self.audit("refusal", who, f"open {side.value} {symbol} ({policy})", str(exc))
            self.event("error", f"order refused: {exc}")
            raise OrderRejected(str(exc)) from exc
        mode = self.latest.mode
        broker = self._entry_broker()
        now_ms = self.clock()
        open_here = sum(1 for p in self.latest.positions if p.venue == broker.venue)
        if self.venue is not None and broker is self.live_broker:
            open_here += self.venue.pending_entries  # placed, may still become a position
        decision = self.risk.check_entry(
            EntryRequest(symbol, side, notional, leverage, who),
            open_positions=open_here,
            now_ms=now_ms,
        )
        if not decision.allowed:
            await self.audit("refusal", who, f"open {side.value} {symbol}", decision.reason)
            self.event("error", f"order refused: {decision.reason}")
            raise OrderRejected(decision.reason)
        if decision.reason:
            self.event("warning", decision.reason)
        size = notional / tick.price
        order = OrderRequest(
            client_order_id=_new_client_order_id(),
            symbol=symbol,
            side=side.opening_order_side,
            size=size,
            reduce_only=False,
            reason="entry",
            leverage=leverage,
        )
        features: dict[str, object] = {"atr": atr, "timeframe": self.settings.atr.timeframe}
        if quality_score is not None:
            features["quality_score"] = quality_score

        async def finish(order_id: int, fill: Fill) -> PositionState:
            plan = make_plan(fill.price, fill.size)
            pos = open_position(
                plan,
                symbol=symbol,
                leverage=leverage,
                opened_ms=fill.ts_ms,
                mode=mode,
                venue=broker.venue,
            )
            pos.fees += fill.fee
            pos.trade_id = await store.record_open(order_id, fill, pos, features)
            self.latest.positions.append(pos)
            self.event(
                "trade",
                f"#{pos.trade_id} opened {side.value} {fill.size:.4f} {symbol} @ "
                f"{fill.price:.4f} ({leverage:g}x, fee {fill.fee:.4f}) {describe_plan(plan)}",
            )
            if self.venue is not None and broker is self.live_broker:
                self.venue.track(pos)  # its stop goes on chain
            return pos

        async with self.order_lock:
            try:
                order_id, fill = await self._send(store, broker, order, mode)
            except OrderPending as pending:
                self.risk.record_entry(now_ms)  # it may still land: the cooldown holds
                self._watch_entry(pending, finish)
                raise EntryPending(
                    f"entry {order.client_order_id} is placed on {broker.venue} but not "
                    "confirmed yet; the cockpit keeps watching and lists the position when the "
                    "fill shows"
                ) from pending
            except BrokerError as exc:
                self.event("error", f"open {side.value} {symbol} refused by broker: {exc}")
                raise OrderRejected(str(exc)) from exc
            pos = await finish(order_id, fill)
            self.risk.record_entry(now_ms)
        return pos

    def _watch_entry(
        self,
        pending: OrderPending,
        finish: Callable[[int, Fill], Awaitable[PositionState]],
    ) -> None:
        venue = self.venue
        assert venue is not None
        self.event("warning", f"entry not confirmed yet: {pending}; watching the account")

        async def on_fill(fill: Fill) -> None:
            await finish(pending.order_id, fill)

        async def on_expired(reason: str) -> None:
            self.event("error", f"entry failed: {reason}")

        venue.watch(pending, on_fill=on_fill, on_expired=on_expired)

    async def _entry_atr(self, symbol: str, now_ms: int) -> float | None:
        """Wilder ATR on the configured timeframe from the feed's closed bars, or None.

        The bar still forming at `now_ms` is dropped (its range is not final). A feed that
        cannot serve candles gives None: `fixed` does not need the ATR, the ATR policies then
        refuse with the reason.
        """
        cfg = self.settings.atr
        try:
            tf_ms = timeframe_ms(cfg.timeframe)
            bars = await self.feed.candles(symbol, cfg.timeframe, None, cfg.period * 3 + 1)
        except Exception as exc:  # a feed error must not block a fixed-policy entry
            log.warning("no candles for ATR on %s: %s", symbol, exc)
            return None
        closed = [bar for bar in bars if bar.ts_ms + tf_ms <= now_ms]
        return wilder_atr(closed, cfg.period)

    async def close_position(self, trade_id: int, who: str = "user") -> None:
        """Close what is left of a position now, at market, reduce-only."""
        pos = self.managed(trade_id)
        self._refuse_while_exit_pending(pos)
        await self.audit(
            "manual_action",
            who,
            f"close #{trade_id} now",
            "market close, reduce-only",
            trade_id=trade_id,
        )
        await self._execute_close(pos, pos.size, ExitReason.MANUAL_CLOSE.value, who)

    async def close_part(
        self, trade_id: int, percent: float, who: str = "user", why: str = ""
    ) -> None:
        """Close `percent` % of what is left now, at market, reduce-only (100: all of it)."""
        pos = self.managed(trade_id)
        self._refuse_while_exit_pending(pos)
        try:
            size = close_size(pos, percent)
        except ManualRefused as exc:
            await self._refuse_manual(pos, who, f"close {percent:g} % of #{trade_id}", exc)
        detail = json.dumps({"percent": percent, "size": size, "size_before": pos.size})
        await self.audit(
            "manual_action",
            who,
            f"close {percent:g} % of #{trade_id} now ({size:.6g} of {pos.size:.6g})",
            why or "market close, reduce-only",
            detail,
            trade_id=trade_id,
        )
        await self._execute_close(pos, size, ExitReason.MANUAL_CLOSE.value, who)

    async def move_stop(
        self,
        trade_id: int,
        new_stop: float,
        *,
        confirm_loosen: bool = False,
        who: str = "user",
        why: str = "",
    ) -> MoveStop:
        """Set a position's stop by hand (engine.manual rules: never through the mark; a
        loosening only with `confirm_loosen`). Audited, logged and written at once."""
        pos = self.managed(trade_id)
        mark = self.mark_price(pos)
        try:
            move = apply_manual_stop(pos, new_stop, mark, confirm_loosen=confirm_loosen)
        except ManualRefused as exc:
            await self._refuse_manual(pos, who, f"move stop of #{trade_id} to {new_stop:g}", exc)
        store = self.require_store()
        now = self.clock()
        reason = f"{move.reason}: {why}" if why else move.reason
        await store.record_stop_move(trade_id, move.old, move.new, move.role, reason, who, now)
        detail = json.dumps(
            {
                "from": move.old,
                "to": move.new,
                "mark": mark,
                "loosened": "loosen" in move.reason,
                "trail_paused": pos.trail_paused,
            }
        )
        await self.audit(
            "manual_action",
            who,
            f"move stop of #{trade_id} {move.old:.4f} -> {move.new:.4f}",
            reason,
            detail,
            trade_id=trade_id,
        )
        store.update_position(pos)
        await store.flush()
        if self.venue is not None and pos.venue == self.venue.venue:
            self.venue.stop_changed(pos)
        paused = " (trailing paused)" if pos.trail_paused else ""
        self.event(
            "stop",
            f"#{trade_id} stop {move.old:.4f} -> {move.new:.4f} by {who} ({move.reason}){paused}",
        )
        return move

    async def set_trail_mult(
        self, trade_id: int, mult: float, who: str = "user", why: str = ""
    ) -> None:
        """Change the runner's trailing multiple (k x ATR) and resume a paused trail."""
        pos = self.managed(trade_id)
        try:
            old, new = apply_trail_mult(pos, mult)
        except ManualRefused as exc:
            await self._refuse_manual(
                pos, who, f"trailing multiple of #{trade_id} to {mult:g}", exc
            )
        store = self.require_store()
        old_text = "none" if old is None else f"{old:g}"
        await self.audit(
            "manual_action",
            who,
            f"trailing multiple of #{trade_id} {old_text} -> {new:g} x ATR",
            why or "trail changed by hand; the engine applies it only where it tightens",
            json.dumps({"from": old, "to": new, "atr": pos.plan.atr}),
            trade_id=trade_id,
        )
        store.update_position(pos)
        await store.flush()
        self.event("stop", f"#{trade_id} trailing {old_text} -> {new:g} x ATR by {who}")

    def mark_price(self, pos: PositionState) -> float:
        """The price manual rules are checked against: the newest tick, else the last seen."""
        tick = self.latest.last_tick.get(pos.symbol)
        if tick is not None:
            return tick.price
        if pos.last_price is not None:
            return pos.last_price
        raise OrderRejected(f"no price for {pos.symbol} yet; wait for the feed")

    def managed(self, trade_id: int) -> PositionState:
        """The open position a manual command is for, if this session manages it."""
        pos = self.find_position(trade_id)
        if pos is None:
            raise OrderRejected(f"no open position #{trade_id}")
        if self._broker_for(pos.venue) is None:
            raise OrderRejected(
                f"#{trade_id} is on {pos.venue}, which is not connected: it is listed, not managed"
            )
        venue = self.venue
        if venue is not None and pos.venue == venue.venue and trade_id in venue.blocked:
            raise OrderRejected(
                f"#{trade_id}: {venue.blocked[trade_id]}; resolve it on the venue first"
            )
        return pos

    def _refuse_while_exit_pending(self, pos: PositionState) -> None:
        if self.venue is not None and self.venue.exit_pending(pos.trade_id):
            raise OrderRejected(
                f"an exit of #{pos.trade_id} is placed on {pos.venue} and not confirmed yet; "
                "wait for it (a second exit could close more than you meant)"
            )

    async def put_stop_on_chain(self, trade_id: int, who: str = "user") -> None:
        """Put the venue's stop where the engine's stop is, now (after a start-up difference
        was shown, or while the chain is behind). Audited; only on a venue with on-chain stops."""
        pos = self.managed(trade_id)
        venue = self.venue
        if venue is None or pos.venue != venue.venue:
            raise OrderRejected(f"#{trade_id} is on {pos.venue}: it has no on-chain stop")
        await self.audit(
            "manual_action",
            who,
            f"put the on-chain stop of #{trade_id} at {pos.stop:.4f}",
            "trader asked to bring the venue's stop in step with the engine's",
            trade_id=trade_id,
        )
        venue.put_in_step(trade_id)
        await venue.sync_stops()

    def venue_alerts(self) -> dict[int, str]:
        """Trade id -> a short red label (stop not on chain, venue differs, exit placed)."""
        return {} if self.venue is None else self.venue.venue_alerts

    def venue_note(self, trade_id: int | None) -> str | None:
        """The long form of a position's venue state for the levels line, or None."""
        if self.venue is None or trade_id is None:
            return None
        return self.venue.stop_note(trade_id)

    async def _refuse_manual(
        self, pos: PositionState, who: str, action: str, exc: ManualRefused
    ) -> NoReturn:
        await self.audit("refusal", who, action, str(exc), trade_id=pos.trade_id)
        self.event("error", f"refused: {exc}")
        raise OrderRejected(str(exc)) from exc

    # ----------------------------------------------------------------- modes
    def live_precondition(self) -> str | None:
        """Why LIVE-SMALL cannot be entered right now (None if it can), before any typing."""
        if self.venue_down is not None:
            return self.venue_down
        if self.live_broker is None:
            return NO_LIVE_VENUE
        if self.wallet is None:
            return "no wallet is configured"
        status = self.feed.status
        if status.simulated:
            return "the feed is simulated or a replay: LIVE-SMALL needs the live market"
        if status.state is not FeedState.CONNECTED:
            return f"the feed is {status.state.value}: LIVE-SMALL needs a healthy feed"
        return None

    async def enter_live(self, typed: str, who: str = "user") -> None:
        """Switch to LIVE-SMALL after the typed confirmation; refusals are audited and raised."""
        status = self.feed.status
        try:
            change = self.risk.enter_live(
                typed=typed,
                live_broker=self.live_broker is not None,
                wallet=self.wallet is not None,
                feed_healthy=status.state is FeedState.CONNECTED and not status.simulated,
                who=who,
                now_ms=self.clock(),
            )
        except ModeRefused as exc:
            await self.audit("refusal", who, "enter LIVE-SMALL", str(exc))
            self.event("error", f"LIVE-SMALL refused: {exc}")
            raise
        await self._record_mode_change(change)
        await self.audit(
            "confirmation", who, "typed LIVE", "entered LIVE-SMALL", change.limits_json
        )

    async def leave_live(self, who: str = "user", reason: str = "back to SHADOW") -> None:
        """Back to SHADOW at once; open live positions stay listed and managed on their venue."""
        change = self.risk.leave_live(who=who, reason=reason, now_ms=self.clock())
        await self._record_mode_change(change)

    async def audit(
        self,
        kind: str,
        who: str,
        action: str,
        reason: str,
        detail_json: str | None = None,
        *,
        trade_id: int | None = None,
    ) -> None:
        """An audit row: every mode change, refusal, confirmation and manual action."""
        if self.store is not None:
            await self.store.record_audit(
                kind, who, action, reason, self.clock(), detail_json, trade_id
            )

    async def recent_audit(self, limit: int = 200) -> list[AuditRecord]:
        return await self.require_store().recent_audit(limit)

    async def _record_mode_change(self, change: ModeChange) -> None:
        self.latest.mode = change.to_mode
        store = self.require_store()
        await store.record_mode_change(
            change.from_mode,
            change.to_mode,
            change.who,
            change.reason,
            change.ts_ms,
            change.limits_json,
        )
        await self.audit(
            "mode_change",
            change.who,
            f"{change.from_mode.value} -> {change.to_mode.value}",
            change.reason,
            change.limits_json,
        )
        level = "warning" if change.to_mode is Mode.LIVE_SMALL else "info"
        self.event(
            level,
            f"mode {change.from_mode.value} -> {change.to_mode.value} "
            f"by {change.who}: {change.reason}",
        )

    async def _note_forced_shadow(self) -> None:
        """Every start is SHADOW; if the last session ended in LIVE-SMALL, say so and audit it."""
        store = self.require_store()
        changes = await store.mode_changes(limit=1)
        if changes and changes[0].to_mode == Mode.LIVE_SMALL.value:
            now = self.clock()
            await store.record_mode_change(
                Mode.LIVE_SMALL, Mode.SHADOW, "system", "restart: every start is SHADOW", now
            )
            await self.audit(
                "mode_change", "system", "live_small -> shadow", "restart: every start is SHADOW"
            )
            self.event("warning", "the last session ended in LIVE-SMALL; this one starts in SHADOW")

    async def _restore_risk_state(self, open_positions: list[PositionState]) -> None:
        """A restart must not reset the LIVE-SMALL cooldown or today's loss stop: rebuild both
        from the live trades on record (closed trades' net P&L by exit time, last live entry)."""
        store = self.require_store()
        closed = await store.closed_trades(limit=1000, mode=Mode.LIVE_SMALL)
        for trade in sorted(closed, key=lambda t: t.exit_ts_ms or 0):
            if trade.exit_ts_ms is not None:
                self.risk.record_realized(trade.realized_pnl - trade.fees, trade.exit_ts_ms)
        entries = [t.entry_ts_ms for t in closed]
        entries += [p.opened_ms for p in open_positions if p.mode is Mode.LIVE_SMALL]
        if entries:
            self.risk.record_entry(max(entries))

    def _entry_broker(self) -> Broker:
        if self.latest.mode is Mode.LIVE_SMALL:
            if self.live_broker is None:
                raise OrderRejected("LIVE-SMALL without a live broker")
            return self.live_broker
        return self.broker

    def _broker_for(self, venue: str) -> Broker | None:
        for broker in (self.broker, self.live_broker):
            if broker is not None and broker.venue == venue:
                if broker is self.live_broker and self.venue_down is not None:
                    return None  # not reconciled: what it holds is not known to be ours
                return broker
        return None

    # ----------------------------------------------------------------- internals
    async def _execute_close(self, pos: PositionState, size: float, reason: str, who: str) -> None:
        """Send one reduce-only exit: intent row, broker, result row, position update."""
        store = self.require_store()
        size = min(size, pos.size)
        if size <= 0 or pos.closed:
            return
        broker = self._broker_for(pos.venue)
        if broker is None:
            self.event(
                "error", f"#{pos.trade_id} exit ({reason}) impossible: {pos.venue} is not connected"
            )
            return
        mode = Mode.LIVE_SMALL if broker is self.live_broker else Mode.SHADOW
        order = OrderRequest(
            client_order_id=_new_client_order_id(),
            symbol=pos.symbol,
            side=pos.side.closing_order_side,
            size=size,
            reduce_only=True,
            reason=reason,
            leverage=pos.leverage,
            trade_id=pos.trade_id,
        )
        async with self.order_lock:
            try:
                order_id, fill = await self._send(store, broker, order, mode)
            except OrderPending as pending:
                self._watch_exit(pos, pending, reason, who)
                return
            except BrokerError as exc:
                self.event("error", f"#{pos.trade_id} exit ({reason}) failed: {exc}; will retry")
                _rearm_target(pos, reason)
                return
            await self.apply_exit(pos, order_id, fill, who)

    async def apply_exit(self, pos: PositionState, order_id: int, fill: Fill, who: str) -> None:
        """An exit fill (ours, or one the venue made): position, fill row, risk, log, close.

        Called with the order lock held."""
        store = self.require_store()
        apply_fill(pos, fill)
        await store.record_exit_fill(order_id, fill, pos)
        self.risk.record_realized(
            pos.side.sign * (fill.price - pos.entry) * fill.size - fill.fee, self.clock()
        )
        venue = self.venue
        on_venue = venue is not None and pos.venue == venue.venue
        if on_venue and venue is not None:
            venue.agreed(pos)
        self._log_exit(pos, fill, who)
        if pos.closed:
            self.latest.positions.remove(pos)
            if on_venue and venue is not None:
                await venue.release(pos)
            await self._reload_history()

    def _watch_exit(self, pos: PositionState, pending: OrderPending, reason: str, who: str) -> None:
        """An exit placed but not confirmed: no second exit for this position until the account
        decides (a second one could close more than planned); expired means it never landed."""
        venue = self.venue
        assert venue is not None
        self.event(
            "warning",
            f"#{pos.trade_id} exit ({reason}) placed, not confirmed yet: {pending}; watching",
        )

        async def on_fill(fill: Fill) -> None:
            if not pos.closed:
                await self.apply_exit(pos, pending.order_id, fill, who)

        async def on_expired(why: str) -> None:
            self.event("error", f"#{pos.trade_id} exit ({reason}) failed: {why}; will retry")
            _rearm_target(pos, reason)

        venue.watch(pending, on_fill=on_fill, on_expired=on_expired, trade_id=pos.trade_id)

    async def _send(
        self, store: Store, broker: Broker, order: OrderRequest, mode: Mode
    ) -> tuple[int, Fill]:
        """The one way an order leaves: its row is committed first (with the venue's handle for
        it, where the venue has one), then the broker is asked; a refusal is recorded on the row
        and re-raised for the caller to explain. On a venue with on-chain orders a sent order
        is `placed` until the account shows its fill; OrderPending means it still is."""
        venue = self.venue if broker is self.live_broker else None
        order_id = await store.record_order_intent(
            order,
            mode=mode,
            venue=broker.venue,
            status=_intent_status(mode),
            user_order_id=None if venue is None else venue.user_order_id(order.client_order_id),
        )
        try:
            if venue is not None:
                fill = await venue.send(order_id, order)
            else:
                fill = await (broker.close(order) if order.reduce_only else broker.open(order))
        except OrderPending:
            raise
        except BrokerError as exc:
            await store.record_order_failed(order_id, str(exc))
            raise
        return order_id, fill

    async def _record_stop_move(self, pos: PositionState, move: MoveStop, ts_ms: int) -> None:
        if self.store is not None and pos.trade_id is not None:
            await self.store.record_stop_move(
                pos.trade_id, move.old, move.new, move.role, move.reason, "engine", ts_ms
            )
        self.event(
            "stop",
            f"#{pos.trade_id} stop {move.old:.4f} -> {move.new:.4f} "
            f"({move.role.value}: {move.reason})",
        )

    def _log_exit(self, pos: PositionState, fill: Fill, who: str) -> None:
        pnl = pos.side.sign * (fill.price - pos.entry) * fill.size
        left = "closed" if pos.closed else f"{pos.size:.4f} left"
        self.event(
            "trade",
            f"#{pos.trade_id} {fill.reason} {fill.size:.4f} @ {fill.price:.4f} "
            f"P&L {pnl:+.4f} fee {fill.fee:.4f} by {who}; {left}",
        )

    async def _reload_history(self) -> None:
        store = self.require_store()
        self.latest.closed_trades = await store.closed_trades(limit=50)
        self.latest.history_version += 1
        self._refresh_analytics_soon()

    def _refresh_analytics_soon(self) -> None:
        """Recompute analytics in the background: at start and after each close, never per tick.

        Not awaited, because it runs from the tick that closed a trade: re-reading a long
        journal (with its after-exit candles) can take a second, and the other positions'
        ticks must not wait for it. Closes that arrive meanwhile are folded into one more run.
        """
        if self._analytics_task is not None and not self._analytics_task.done():
            self._analytics_again = True
            return
        self._analytics_task = asyncio.create_task(self._refresh_analytics(), name="analytics")

    async def _refresh_analytics(self) -> None:
        while True:
            self._analytics_again = False
            store = self.store
            if store is None:
                return
            try:
                snapshot = await analytics_snapshot(store, self.settings)
            except Exception as exc:  # a failed analysis must never stop trading
                log.exception("analytics failed")
                self.event("error", f"analytics not updated: {exc}")
            else:
                self.latest.analytics = snapshot
                self.latest.history_version += 1
            if not self._analytics_again:
                return

    async def analytics_settled(self) -> None:
        """Wait until the analytics reflect every trade closed so far (for reports and tests)."""
        while self._analytics_task is not None and not self._analytics_task.done():
            await asyncio.shield(self._analytics_task)

    def find_position(self, trade_id: int) -> PositionState | None:
        return next((p for p in self.latest.positions if p.trade_id == trade_id), None)

    def require_store(self) -> Store:
        if self.store is None:
            raise OrderRejected("the session is not running (starting up or shut down)")
        return self.store


def _intent_status(mode: Mode) -> str:
    """SHADOW orders are stored as what would have been submitted, for later comparison."""
    return "would_submit" if mode is Mode.SHADOW else "intent"


def _rearm_target(pos: PositionState, reason: str) -> None:
    """A take-profit whose order failed is armed again so the next price through it retries.

    (Stops need nothing: the engine re-emits a stop close on every price through the stop.)
    """
    if reason == ExitReason.TP1.value:
        pos.tp1_filled = False
    elif reason == ExitReason.TP2.value:
        pos.tp2_filled = False


def last_price_key(symbol: str) -> str:
    return f"last_price:{symbol}"


async def last_price(db_url: str, symbol: str) -> float | None:
    """The last price a previous session saw for `symbol`, so a demo market resumes from it."""
    store = await Store.open(db_url)
    try:
        value = await store.get_setting(last_price_key(symbol))
    finally:
        await store.close()
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _new_client_order_id() -> str:
    return f"ck-{uuid.uuid4().hex[:20]}"


def _swallow(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not store alert: %s", task.exception())

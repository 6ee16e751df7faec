"""The composition root and the feed loop: feed -> engine -> execution -> store.

The session wires the parts (cockpit/execution/: book, router, commands, modes; the venues; the
store) and runs one task per fed symbol: on each tick it asks the pure engine what to do for each
position and hands the decisions to the router. It never imports Textual: the app renders
`LatestState` and calls the session's commands, nothing else (DESIGN.md sections 1 and 6). Nothing
here knows which venue a position is on beyond asking `Venues` for its route.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from adapters.base import Broker, ExecutionVenue, MarketFeed
from adapters.paper import PaperBroker
from cockpit.alerts.center import AlertCenter
from cockpit.alerts.rules import AlertWatcher
from cockpit.alerts.telegram import build_sender
from cockpit.backtest.ledger_job import Ledger
from cockpit.baseline_chooser import BaselineChooser
from cockpit.config import Settings
from cockpit.domain import (
    Action,
    ExitReason,
    FeedState,
    FeedStatus,
    Mode,
    MoveStop,
    PositionState,
    TargetState,
    Tick,
)
from cockpit.engine.exits import on_price, rearm
from cockpit.execution.ab import ABAssigner
from cockpit.execution.account_lock import AccountLockGuard
from cockpit.execution.alerts import PositionAlerts
from cockpit.execution.audit_log import AuditLog
from cockpit.execution.book import PositionBook
from cockpit.execution.commands import Audit, Commands
from cockpit.execution.early_ticks import EarlyTicks
from cockpit.execution.entries import Entries
from cockpit.execution.errors import EntryPending, OrderRejected
from cockpit.execution.events import PRICE_HISTORY_LEN, EventLog, LatestState, LogEvent
from cockpit.execution.modes import Modes
from cockpit.execution.paper_twin import PaperTwins
from cockpit.execution.pause import EntryPause
from cockpit.execution.router import ENGINE, Router
from cockpit.execution.startup import close_earlier_run, restore
from cockpit.execution.venues import Keeper, Route, Venues
from cockpit.feed_health import StaleGuard
from cockpit.history import History
from cockpit.last_price import last_price_key, last_tick_ms_key
from cockpit.live_jobs import live_feed_jobs
from cockpit.replay_run import ReplayRun
from cockpit.risk import RiskGate
from cockpit.signals.intake import SignalIntake
from cockpit.signals.replay import SignalSchedule
from cockpit.watchlist import Watchlist
from state.records import AuditRecord
from state.store import Store

if TYPE_CHECKING:
    from cockpit.signals.webhook import WebhookServer

__all__ = ["EntryPending", "LatestState", "LogEvent", "OrderRejected", "Session"]

log = logging.getLogger(__name__)


KeeperFactory = Callable[[Router, PositionBook, Audit, Broker], Keeper]
"""Builds the keeper of a live venue with on-chain orders from the session's parts."""


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Session:
    """Runs one feed for one or more symbols against one store and up to two brokers.

    `broker` is the paper broker used in SHADOW; `live_broker` (None until a venue is set up)
    receives orders in LIVE_SMALL. Exits always go to the venue of the position's own venue.
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
        keeper: KeeperFactory | None = None,
        wallet: str | None = None,
        clock: Callable[[], int] = wall_clock_ms,
        fresh_run: bool = False,
        replay_source: str | None = None,
    ) -> None:
        self.settings = settings
        # A replay that starts clean: positions an earlier run left open are closed at start.
        self.fresh_run = fresh_run
        self._summarized = False
        self.feed = feed
        # The feed's ticks taken while the session was built (the app shows them at once): the
        # feed tasks take them over in order (cockpit/execution/early_ticks.py).
        self.early_ticks: EarlyTicks | None = None
        self.broker = broker
        self.live_broker = live_broker
        self.wallet = wallet
        self.symbols = symbols
        self.clock = clock
        self.risk = RiskGate(settings.risk)
        self.latest = LatestState()
        self.store: Store | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.event = EventLog(self.latest, clock, lambda: self.store)
        self.audit = AuditLog(lambda: self.store, lambda: self.router.durable, clock)
        # This session's run: which trades are its own; a replay file's run has its own id.
        self.run = ReplayRun(replay_source, self.event)
        self.book = PositionBook(self.latest.positions)
        self.router = Router(
            settings,
            self.book,
            self.risk,
            store=self.require_store,
            event=self.event,
            clock=clock,
            on_db_failing=self._db_failing,
            on_closed=self._trade_closed,
        )
        self.twins = self.router.twins = PaperTwins(settings.paper, self.latest.last_tick)
        # A live venue with on-chain orders (Drift) comes with its keeper, built here by the
        # factory the caller names (cli.py: cockpit.live_venue.LiveVenue).
        self.venue: Keeper | None = None
        if keeper is not None:
            if live_broker is None:
                raise ValueError("a venue keeper needs the live broker it keeps")
            self.venue = keeper(self.router, self.book, self.audit, live_broker)
        elif live_broker is not None and not isinstance(live_broker, ExecutionVenue):
            raise ValueError(f"live broker {live_broker.venue} needs a keeper to receive orders")
        self.router.keeper = self.venue
        self.venues = Venues(broker, live_broker, self.venue)
        self._paper_brokers = [b for b in (broker, live_broker) if isinstance(b, PaperBroker)]
        # A live feed's prices go stale: no automatic exits on them (a replay is never stale).
        self._stale_guard = StaleGuard(feed, clock, self.event)
        self.commands = Commands(
            self.book,
            self.router,
            self.venues,
            self.latest.last_tick,
            self.audit,
            self.event,
            clock,
        )
        # The A/B test each entry is assigned to (issue 18 item 4, cockpit/execution/ab.py).
        self.ab = ABAssigner(settings.ab, settings.account, self.event, self.audit)
        self.entries = Entries(
            settings,
            symbols,
            feed,
            self.book,
            self.router,
            self.venues,
            self.risk,
            self.latest,
            self._stale_guard,
            self.audit,
            self.event,
            clock,
            self.ab,
        )
        # One row per symbol: last, 24 h change, ATR, its own feed state (issue 16 item 5).
        self.watchlist = Watchlist(
            symbols, feed, self.latest.last_tick, self._stale_guard, settings.atr, clock
        )
        self.modes = Modes(
            self.risk,
            self.latest,
            self.venues,
            feed,
            wallet,
            store=self.require_store,
            audit=self.audit,
            durable=self.router.durable.write,
            event=self.event,
            clock=clock,
        )
        self.order_lock = self.router.order_lock
        # The commands the app (and a test, later a webhook) call; each is documented where it
        # lives: entries.py for the entry's checks, commands.py for the rest, modes.py for modes.
        self.open_position = self.entries.open
        self.close_position = self.commands.close_now
        self.close_part = self.commands.close_part
        self.move_stop = self.commands.move_stop
        self.set_trail_mult = self.commands.set_trail_mult
        self.put_stop_on_chain = self.commands.put_stop_on_chain
        self.mark_price = self.commands.mark_price
        self.min_order_size = self.venues.min_order_size
        alerts = PositionAlerts(self.book, self.router.retries, self.venue)
        self.venue_alerts = alerts.labels  # the positions table's red labels
        self.venue_note = alerts.note  # the note under the chart
        self.managed = self.commands.managed
        self.live_precondition = self.modes.live_precondition
        self.enter_live = self.modes.enter_live
        self.leave_live = self.modes.leave_live
        self.history = History(settings, self.latest, lambda: self.store, self.event)
        # The account's lock on a shared PostgreSQL journal, set by the caller that took it
        # (cli.py); what a lost lock stops is decided in account_lock.py.
        self.account_lock = AccountLockGuard(self.latest, self.audit, self.event)
        self.account_lock.on_taken = self._stand_down
        self.router.account_check = self.account_lock.before_order
        self.commands.stood_down = lambda: self.account_lock.stood_down
        self.baseline = BaselineChooser(
            self.history, self.latest, self.require_store, self.audit, self.event
        )
        self.choose_baseline = self.baseline.choose  # the analytics screen's `b`
        # The counterfactual ledger (issue 15): each closed trade under every policy, off-loop.
        self.ledger = Ledger(settings, lambda: self.store, self.event, clock)
        self._setup_outside(settings, clock)

    def _setup_outside(self, settings: Settings, clock: Callable[[], int]) -> None:
        """Pause, alerts and signals in (issue 16): what talks to the world beyond the venue."""
        self.pause = EntryPause(
            self.latest, self.audit, self.event, clock, audit_now=self.audit.now
        )
        self.pause_entries = self.pause.pause
        self.resume_entries = self.pause.resume
        self._outside_problems: list[str] = []
        try:
            sender = build_sender(settings.alerts.telegram, dict(os.environ))
        except ValueError as exc:
            sender = None
            self._outside_problems.append(f"alerts not sent to Telegram: {exc}")
        self.alerts = AlertCenter(settings.alerts, lambda: self.store, self.event, clock, sender)
        self.signals = SignalIntake(
            settings,
            self.symbols,
            self.open_position,
            self.require_store,
            self.latest,
            self.book.of_symbol,
            self.event,
            clock,
            self.alerts.fire,
        )
        retries = self.router.retries
        self.alert_watcher = AlertWatcher(
            self.alerts,
            feed_status=lambda: self.feed.status,
            positions=lambda: self.book.positions,
            failing_exits=lambda: {
                t: retries.why(t) or label for t, label in retries.alerts.items()
            },
            daily_loss=self.risk.daily_loss_reached,
            clock=clock,
            each_second=[self.signals.expire],
        )
        self.router.on_exit_fill = self.alert_watcher.exit_filled
        self.account_lock.alert = self.alerts.fire
        self.webhook: WebhookServer | None = None
        # A replay's signals file (cockpit replay --signals): fed as market time reaches them.
        self.signal_schedule: SignalSchedule | None = None

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Open the store, restore open positions, start one feed task per symbol."""
        self.store = await Store.open(
            self.settings.db_url,
            flush_interval_s=self.settings.state_flush_ms / 1000,
            clock=self.clock,  # rows are stamped in the session's time (an order's age counts)
            account=self.settings.account,
        )
        self.account_lock.start()
        await self.modes.note_forced_shadow()
        await self.run.begin(self.store)
        restored = await restore(self.store, self.book, self.venues, self.symbols, self.event)
        if self.fresh_run and restored:
            await close_earlier_run(self.store, self.book, self.venues, self.router, self.event)
            restored = [p for p in restored if not p.closed]
        await self.baseline.load()
        await self.history.reload()
        await self.ab.load(self.store, self.clock())
        self._spawn(self.ledger.run(), "ledger")
        await self.modes.restore_risk_state(restored)
        if self.venue is not None:
            self._spawn(self._keep_venue(self.venue), f"venue-connect:{self.venue.venue}")
        for symbol in self.symbols:
            self._spawn(self._run_feed(symbol), f"feed:{symbol}")
        self._spawn(self.watchlist.run(), "watchlist")
        # Live feeds only: candle recorder, funding on paper positions, feed state in the log.
        for name, job in live_feed_jobs(self):
            self._spawn(job, name)
        for problem in self._outside_problems:
            self.event("error", problem)
        self._spawn(self.alert_watcher.run(), "alerts")
        await self._start_webhook()

    async def _start_webhook(self) -> None:
        """The signals webhook, when `[webhook] enabled`; a webhook that cannot start is said in
        the event log and the cockpit runs without it (trading never depends on it)."""
        cfg = self.settings.webhook
        if not cfg.enabled:
            return
        # aiohttp's server, only when the webhook is on; imported off the event loop
        webhook = await asyncio.to_thread(importlib.import_module, "cockpit.signals.webhook")
        token = webhook.webhook_token(cfg, dict(os.environ))
        if token is None:
            self.event("error", f"webhook not started: no token (set ${cfg.token_env})")
            return
        server: WebhookServer = webhook.WebhookServer(
            cfg, token, self.signals, self.pause, self.audit, self.event, self.clock
        )
        try:
            await server.start()
        except OSError as exc:
            self.event("error", f"webhook not started on {cfg.listen}: {exc}")
            return
        self.webhook = server
        self.event(
            "info",
            f"webhook listening on {cfg.host}:{server.port} ({cfg.mode} mode): POST /signal",
        )

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(job, name=name))

    def _stand_down(self) -> None:
        """Another cockpit holds the account now: the venue keeper stops too (its poll would
        put back stops and book fills the other cockpit manages); ticks only show prices."""
        for task in self._tasks:
            if task.get_name().startswith("venue"):
                task.cancel()

    async def _keep_venue(self, venue: Keeper) -> None:
        await self.venues.connect(lambda: self.book.positions, self.event)
        self._spawn(venue.run(), f"venue:{venue.venue}")

    async def venue_tried(self) -> None:
        """Wait until the first attempt to reconcile with the live venue has finished, well or
        not (tests, and anything that must not act before the comparison was made)."""
        if self.venue is not None:
            await self.venues.tried.wait()

    @property
    def venue_down(self) -> str | None:
        return self.venues.down

    async def stop(self) -> None:
        """Stop feeds, flush position state, close the store and the feed. Safe to call twice."""
        self.account_lock.stop()
        if self.webhook is not None:  # first: nothing new arrives while the rest winds down
            with contextlib.suppress(Exception):
                await self.webhook.stop()
            self.webhook = None
        for task in self._tasks:
            task.cancel()
        for waiting in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await waiting
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.signals.stop()
        with contextlib.suppress(Exception):
            await self.alerts.stop()
        await self.history.stop()
        with contextlib.suppress(Exception):
            await self.feed.close()
        if self.venue is not None:
            with contextlib.suppress(Exception):
                await self.venue.close()
        if self.store is not None:
            await self.router.durable.close()
            if self.account_lock.stood_down is None:  # else the account is another cockpit's
                await self._save_last_state(self.store)
            with contextlib.suppress(Exception):
                await self.store.close()
            self.store = None

    async def _save_last_state(self, store: Store) -> None:
        for symbol, tick in self.latest.last_tick.items():
            with contextlib.suppress(Exception):
                await store.set_setting(last_price_key(symbol), repr(tick.price))
                await store.set_setting(last_tick_ms_key(symbol), str(tick.ts_ms))
        for pos in self.latest.positions:
            store.update_position(pos)

    @property
    def feed_status(self) -> FeedStatus:
        return self.feed.status

    # ----------------------------------------------------------------- feed loop
    async def _run_feed(self, symbol: str) -> None:
        """Consume ticks until the feed ends. Errors go to the log and never kill the app."""
        try:
            early = self.early_ticks
            ticks = self.feed.ticks(symbol) if early is None else early.ticks(symbol)
            async for tick in ticks:
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
            if self.feed.status.simulated and not self._summarized:
                self._summarized = True  # once, when the last symbol's data has ended
                await self._summarize_run()

    async def _summarize_run(self) -> None:
        """A replay's own result (only this run's trades: the file's database holds the earlier
        runs too): a line in the log, and the summary panel that stays on screen."""
        if self.store is None:
            return
        result = await self.run.finish(
            self.store, self.book.positions, self.settings, self._data_end_ms()
        )
        if result is None:
            return
        self.event("info", result.line)
        self.latest.replay_result = result
        self.latest.touch()

    def _data_end_ms(self) -> int | None:
        ticks = [t.ts_ms for t in self.latest.last_tick.values()]
        return max(ticks) if ticks else None

    async def on_tick(self, tick: Tick) -> None:
        """One price: update the latest state, run the engine for each position, act."""
        # Every tick runs this: locals instead of repeated lookups, and a comparison where a
        # call would do nothing (bench/tick_path.py measures it against the engine alone).
        for paper in self._paper_brokers:
            paper.on_tick(tick)
        latest = self.latest
        symbol, price, ts_ms = tick.symbol, tick.price, tick.ts_ms
        latest.last_tick[symbol] = tick
        waker = latest.waker  # the UI redraws (at most one frame per ~33 ms), never waited for
        if waker is not None:
            waker()
        history = latest.price_history.get(symbol)
        if history is None:
            history = latest.price_history[symbol] = deque(maxlen=PRICE_HISTORY_LEN)
        history.append((ts_ms, price))
        guard = self._stale_guard
        if guard.active and not guard.fresh(tick):
            return  # shown and logged; management resumes with the next fresh price
        if latest.account_lock is not None and self.account_lock.stood_down is not None:
            return  # another cockpit holds the account and manages its positions
        store = self.store
        route_of = self.venues.route
        for pos in self.book.of_symbol(symbol):
            if pos.closed:
                continue
            route = route_of(pos)
            if route is None or (route.keeper is not None and self.venues.blocked(pos)):
                continue  # listed, never acted on: not connected, or the venue holds another
            actions = on_price(pos, price, ts_ms, tick.trigger_price)
            if actions:  # the quiet path (nearly every tick) creates no coroutine
                await self._act(pos, actions, route, ts_ms, tick.source)
            elif route.keeper is not None:
                route.keeper.price_back(pos.trade_id)
                if self.twins.stop_ticks:  # a live stop's paper twin waits for the next time
                    self.twins.price_back(pos.trade_id)
            if store is not None and not pos.closed:
                store.update_position(pos)
        schedule = self.signal_schedule  # one comparison per tick; a due signal is rare
        if schedule is not None and (due := schedule.due_ms) is not None and tick.ts_ms >= due:
            await schedule.deliver(tick.ts_ms)

    async def _act(
        self,
        pos: PositionState,
        actions: list[Action],
        route: Route,
        ts_ms: int,
        trigger_source: str = "last",
    ) -> None:
        """Carry out the engine's decisions for one position on one price; a stop's fill
        records what price it triggered on (`trigger_source`: the tick's source)."""
        keeper = route.keeper
        stop_through = False
        tp1_held = False
        for action in actions:
            if isinstance(action, MoveStop):
                await self.router.record_stop_move(pos, action, ENGINE, ts_ms)
                if keeper is not None:
                    keeper.stop_changed(pos)
                continue
            reason = action.reason.value
            if reason == ExitReason.TP2.value and tp1_held:
                rearm(pos, reason)  # TP2 never goes out before TP1 has (DESIGN.md section 2)
                continue
            if keeper is not None:
                if keeper.exit_pending(pos.trade_id):
                    rearm(pos, reason)  # one exit at a time on the venue: decided again later
                    continue
                if reason == pos.stop_role.value:
                    stop_through = True
                    if route.mode is Mode.LIVE_SMALL:  # the paper stop would fill on this tick
                        self.twins.stop_through(pos.trade_id, pos.symbol)
                    if keeper.defers_stop(pos, ts_ms):
                        continue  # the on-chain stop fills it; the poll records it
            stop = reason == pos.stop_role.value
            await self.router.close(
                route.venue,
                route.mode,
                pos,
                action.size,
                reason,
                ENGINE,
                trigger_source=trigger_source if stop else None,
            )
            tp1_held = tp1_held or (
                reason == ExitReason.TP1.value and pos.tp1_state is TargetState.ARMED
            )
        if keeper is not None and not stop_through:
            keeper.price_back(pos.trade_id)

    # ----------------------------------------------------------------- modes and audit
    def unwritten(self) -> int:
        """Rows (fills, stop moves, audit rows) held in memory while the database fails them."""
        return self.router.durable.pending

    async def recent_audit(self, limit: int = 200) -> list[AuditRecord]:
        return await self.require_store().recent_audit(limit)

    # ----------------------------------------------------------------- history and analytics
    def _db_failing(self, why: str | None) -> None:
        self.latest.db_failing = why
        self.latest.touch()
        if why is not None:
            self.account_lock.kick()  # a lost connection shows here first

    async def _trade_closed(self) -> None:
        self.ledger.kick()
        with contextlib.suppress(Exception):  # the trade is closed whether or not this reads
            await self.history.reload()

    async def start_phase(self, phase: int) -> bool:
        """ "Start Phase N now" from the analytics screen: the phase starts at the session's
        time, with an audit row (who: ui); a refusal (twice, out of order) is said in the event
        log and nothing is written. The analytics are recomputed either way."""
        from state.phase_rows import PhaseRefused, start_phase

        now = self.clock()
        try:
            await start_phase(self.require_store(), phase, at_ms=now, now_ms=now, who="ui")
        except PhaseRefused as exc:
            self.event("warning", f"phase not started: {exc}")
            return False
        self.event("info", f"Phase {phase} started now")
        await self.history.reload()
        return True

    async def analytics_settled(self) -> None:
        """Wait until the analytics reflect every trade closed so far (for reports and tests)."""
        await self.history.settled()

    def find_position(self, trade_id: int) -> PositionState | None:
        return self.book.find(trade_id)

    def require_store(self) -> Store:
        if self.store is None:
            raise OrderRejected("the session is not running (starting up or shut down)")
        return self.store

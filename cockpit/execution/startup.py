"""At start: open positions restored, paper orders a kill left unfinished resolved.

Restored positions go back into the book (a paper one is adopted by the paper venue as its own
leg, so two on one symbol restored from before the one-position rule can each be closed, and
both are flagged).

A paper fill lives in memory until its row is written; a cockpit killed in between leaves the row
at `would_submit` (or `intent`) with no fill, and the position as it was before the order. Such a
row is marked failed with the reason, so no order row is ever left dangling and the journal says
what happened. Venue orders (Drift) are not touched here: the venue's keeper compares them with
the account before anything is sent (cockpit/live_venue/).
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.paper import PaperBroker
from cockpit.domain import ExitReason, PositionState, Tick
from cockpit.execution.book import PositionBook
from cockpit.execution.errors import OrderRejected
from cockpit.execution.router import Router
from cockpit.execution.venues import Venues
from cockpit.last_price import last_price_key, last_tick_ms_key
from cockpit.orders import OrderStatus
from state.store import Store

UNSENT = "the cockpit stopped before this paper order was filled and recorded: not executed"


async def resolve_unsent_orders(
    store: Store, venues: Venues, event: Callable[[str, str], None]
) -> int:
    """Mark the paper venue's unfinished rows failed; returns how many there were."""
    keeper = venues.keeper
    paper = {venues.paper.venue} | (
        {venues.live.venue} if venues.live is not None and keeper is None else set()
    )
    count = 0
    for venue in sorted(paper):
        for row in await store.unfinished_orders(venue):
            await store.resolve_order(row.id, OrderStatus.FAILED, UNSENT)
            event(
                "warning",
                f"{row.reason} order {row.client_order_id} ({row.side} {row.size:g} {row.symbol}) "
                f"was left {row.status} by the last session: {UNSENT}",
            )
            count += 1
    return count


async def restore(
    store: Store,
    book: PositionBook,
    venues: Venues,
    symbols: list[str],
    event: Callable[[str, str], None],
) -> list[PositionState]:
    """Resolve unsent paper orders, then put every open trade back into the book."""
    await resolve_unsent_orders(store, venues, event)
    restored = await store.open_positions()
    for pos in restored:
        book.add(pos)
        broker = venues.broker_for(pos.venue)
        if isinstance(broker, PaperBroker):
            broker.adopt_position(pos.symbol, pos.side.sign * pos.size, pos.trade_id)
        event("info", _restored_line(pos, venues, symbols))
    for line in book.flag_hedged():
        event("error", line)
    return restored


def _restored_line(pos: PositionState, venues: Venues, symbols: list[str]) -> str:
    keeper = venues.keeper
    if pos.symbol not in symbols:
        managed = "NOT managed: no feed for it"
    elif keeper is not None and pos.venue == keeper.venue:
        managed = f"managed on {pos.venue} once reconciled"
    elif venues.broker_for(pos.venue) is None:
        managed = f"NOT managed: no broker for venue {pos.venue}"
    else:
        managed = f"managed on {pos.venue}"
    return (
        f"restored #{pos.trade_id} {pos.side.value} {pos.size:g} {pos.symbol} "
        f"@ {pos.entry:.4f} SL {pos.stop:.4f} ({managed})"
    )


async def close_earlier_run(
    store: Store,
    book: PositionBook,
    venues: Venues,
    router: Router,
    event: Callable[[str, str], None],
) -> int:
    """A new replay starts clean: each paper position an earlier run left open is closed as
    `end_of_data` at that run's last price and time (a fill never before its entry), through
    the router like any exit (order row first), and stays in the history. Returns how many."""
    closed = 0
    for pos in list(book.positions):
        route = venues.route(pos)
        broker = venues.broker_for(pos.venue)
        if route is None or not isinstance(broker, PaperBroker):
            continue
        price = _number(await store.get_setting(last_price_key(pos.symbol)))
        ts = _number(await store.get_setting(last_tick_ms_key(pos.symbol)))
        price = price if price is not None else pos.last_price or pos.entry
        ts_ms = max(int(ts) if ts is not None else pos.opened_ms, pos.opened_ms)
        broker.on_tick(Tick(pos.symbol, ts_ms, price, source=ExitReason.END_OF_DATA.value))
        try:
            await router.close(
                route.venue, route.mode, pos, pos.size, ExitReason.END_OF_DATA.value, "system"
            )
        except OrderRejected as exc:
            event("error", f"#{pos.trade_id} left open by an earlier run: {exc}")
            continue
        event(
            "info",
            f"#{pos.trade_id} {pos.side.value} {pos.symbol} left open by an earlier replay: "
            f"closed as end_of_data at {price:.4f} (its last price); --resume keeps it open",
        )
        closed += 1
    return closed


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None

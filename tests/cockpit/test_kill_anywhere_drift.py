"""A LIVE-SMALL session on the offline Drift abandoned mid-order, then started again.

The "kill" happens in-process: the session is stopped where it stands (every task cancelled,
the store's writer with it, no snapshot flushed, no stop()), at one of three points of an order's
way out (entry, TP1, a partial close):
- `unsent`: the intent row is committed, the broker has not sent the transaction;
- `landed`: the transaction landed (the chain filled it), the row is still `intent`;
- `confirmed`: the row says `submitted`, the broker has read the fill, it is not written;
and once after a manual stop move, before the poll that would modify the on-chain stop.
A new Session then starts on the same SQLite file and the same FakeChain (in SHADOW, as every
start), and the database is checked with sqlite3 as tests/cockpit/test_kill_anywhere.py checks
the paper one, plus the chain; after the first poll, again once every watched order has had
`unconfirmed_expiry_s` to land or expire, and again after the market went on (TP2, the stop):
- the venue is reconciled (LIVE-SMALL possible again); no market order row is left live
  (intent, submitted, ...) unless the keeper watches it, and none once its expiry has passed;
- every fill has its order row `filled`; a trade's exits never exceed its entry; tp flags
  match the fills; an open trade's size is its initial size less its exits;
- the venue's position and the database's open Drift trades agree, or the difference is
  shown (an alert on the position, a reconcile row in the audit table), never silent;
- the interrupted order: if its transaction landed, its row ends `filled` with its fill (what
  follows a fill is derived from the order row, so it survives a restart: DESIGN.md 4); if it
  was never sent, it does not end filled unless the keeper re-sent it;
- the restarted session is in SHADOW: it sends no risk-increasing order to Drift (DESIGN.md 3:
  SHADOW routes orders to the paper venue; every risk-increasing order passes cockpit.risk).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.drift import DriftBroker
from cockpit.domain import Mode, Side
from cockpit.session import Session
from tests.cockpit.drift_rig import SYMBOL, Rig, build_session, open_rig
from tests.waiting import CEILING_S

LIVE = ("intent", "would_submit", "submitted", "accepted", "partially_filled")
EPS = 1e-9


class Blocker:
    """Holds the broker at one point of a send, forever: the session is abandoned there."""

    def __init__(self, broker: DriftBroker, where: str) -> None:
        self.reached = asyncio.Event()
        self.where = where
        self.armed = False
        self.client_order_id: str | None = None  # the order the session was abandoned in
        real_submit, real_wait = broker.submit, broker.wait_filled

        async def submit(order: Any) -> Any:
            if self.armed:
                self.client_order_id = order.client_order_id
            if self.armed and where == "unsent":
                await self._hold()
            placed = await real_submit(order)
            if self.armed and where == "landed":
                await self._hold()
            return placed

        async def wait_filled(placed: Any, timeout_s: float | None = None) -> Any:
            fill = await real_wait(placed, timeout_s)
            if self.armed and where == "confirmed":
                await self._hold()
            return fill

        broker.submit = submit  # type: ignore[method-assign]
        broker.wait_filled = wait_filled  # type: ignore[method-assign]

    async def _hold(self) -> None:
        self.reached.set()
        await asyncio.Event().wait()


async def abandon(session: Session) -> None:
    """What SIGKILL leaves: nothing more is written (queued writes and throttled snapshots are
    lost), no task of the session goes on, nothing is closed cleanly. Every other task on the
    loop is the session's (its feed, venue, store writer, the order in flight)."""
    store = session.store
    assert store is not None
    store._positions.cancel_timer()
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(BaseException):
            await task
    await store.engine.dispose()


@dataclass(frozen=True)
class Interrupted:
    """The order a session was abandoned in."""

    client_order_id: str
    landed: bool
    sent_before: int
    """How many transactions had gone out when the session was abandoned."""


async def crash_restart(
    r: Rig, op: Callable[[], Awaitable[Any]], where: str
) -> tuple[Rig, Interrupted]:
    """Run `op` until the broker reaches `where`, abandon the session there, start a new one.
    Returns the new rig and the order it was abandoned in."""
    blocker = Blocker(r.h.broker, where)
    blocker.armed = True
    task = asyncio.ensure_future(op())
    await asyncio.wait_for(blocker.reached.wait(), CEILING_S)
    await abandon(r.session)
    assert task.cancelled() and blocker.client_order_id is not None
    sent_before = len(r.h.sender.sent)
    return await start_again(r), Interrupted(
        blocker.client_order_id, where != "unsent", sent_before
    )


async def start_again(r: Rig) -> Rig:
    """A new cockpit on the same database and chain, with a new broker that remembers nothing;
    the venue poll loop is left to the test (`settle`), as in drift_rig."""
    r.h.markets._load()
    session, gate = build_session(r.db, r.h, r.wallet, r.h.config, r.clock, 2.0)
    await session.start()
    await session.venue_tried()
    for t in session._tasks:
        if t.get_name().startswith("venue:"):
            t.cancel()
    await gate.first()
    return Rig(r.db, r.h, session, r.clock, gate, r.wallet)


def check(r: Rig, interrupted: Interrupted | None = None) -> list[str]:
    """The invariants of the module docstring; `interrupted`: the order the last session was
    abandoned in."""
    conn = sqlite3.connect(r.db)
    conn.row_factory = sqlite3.Row
    try:
        orders = conn.execute("SELECT * FROM orders ORDER BY id").fetchall()
        fills = conn.execute("SELECT * FROM fills ORDER BY id").fetchall()
        trades = conn.execute("SELECT * FROM trades ORDER BY id").fetchall()
        audit = conn.execute("SELECT * FROM audit_events WHERE kind = 'reconcile'").fetchall()
    finally:
        conn.close()
    for o in orders:  # shown with -s, and on failure
        print(dict(o))
    for t in trades:
        print({k: t[k] for k in ("id", "status", "policy", "size", "initial_size", "stop_price")})
    bad: list[str] = []
    if interrupted is not None and r.session.latest.mode is Mode.SHADOW:
        entries = [
            ix.args["params"].user_order_id
            for tx in r.h.sender.sent[interrupted.sent_before :]
            for ix in tx.instructions
            if ix.name == "place_perp_order" and not ix.args["params"].reduce_only
        ]
        if entries:
            bad.append(
                f"the restarted session is in SHADOW and sent a risk-increasing order to Drift "
                f"(user_order_id {entries}): {[e for e in r.events() if 're-sent' in e]}"
            )
    if r.session.venue_down is not None:
        bad.append(f"the venue is not reconciled after the restart: {r.session.venue_down}")
    by_id = {o["id"]: o for o in orders}
    # A market order the restarted keeper watches (it may still land) may stay live until it
    # lands or expires; `resent`: the keeper re-sent the interrupted order meanwhile.
    watched = set(r.venue.pending)
    resent = interrupted is not None and any(
        f"{interrupted.client_order_id} not confirmed: re-sent" in e for e in r.events()
    )
    for o in orders:
        what = f"order {o['id']} ({o['reason']}, {o['order_type']}, {o['status']})"
        if o["order_type"] == "market" and o["status"] in LIVE and o["id"] not in watched:
            bad.append(f"{what} left live after the restart, and nothing watches it")
        n = sum(1 for f in fills if f["order_id"] == o["id"])
        if o["status"] == "filled" and o["order_type"] == "market" and n != 1:
            bad.append(f"{what} has {n} fill rows")
        if interrupted is not None and o["client_order_id"] == interrupted.client_order_id:
            if interrupted.landed and (o["status"] != "filled" or n != 1):
                bad.append(f"{what}: its transaction landed and filled on the chain ({o['error']})")
            if not interrupted.landed and o["status"] == "filled" and not resent:
                bad.append(f"{what}: it was never sent")
    for f in fills:
        o = by_id[f["order_id"]]
        if o["status"] != "filled" or o["trade_id"] != f["trade_id"]:
            bad.append(f"fill {f['id']} ({f['reason']}): order {o['id']} is {o['status']}")
    chain = r.chain_size()
    held = 0.0
    for t in trades:
        exits = sum(f["size"] for f in fills if f["trade_id"] == t["id"] and f["reduce_only"])
        where = f"trade #{t['id']} ({t['status']}, {t['policy']}, size {t['size']:g})"
        if exits > t["initial_size"] + EPS:
            bad.append(f"{where}: exits {exits:g} above the initial size")
        if t["status"] == "open":
            held += (1 if t["side"] == "long" else -1) * t["size"]
            if abs(t["size"] - (t["initial_size"] - exits)) > EPS:
                bad.append(f"{where}: initial {t['initial_size']:g} less exits {exits:g}")
        for target in ("tp1", "tp2"):
            has = any(f["reason"] == target for f in fills if f["trade_id"] == t["id"])
            if bool(t[f"{target}_filled"]) != has:
                bad.append(f"{where}: {target}_filled {t[f'{target}_filled']}, fill row: {has}")
    if abs(held - chain) > 1e-6:
        shown = bool(r.session.venue_alerts()) and bool(audit)
        if not shown:
            bad.append(f"the chain holds {chain:g}, the database {held:g}, and nothing says so")
    return bad


async def settled_then_played_on(r: Rig, interrupted: Interrupted) -> None:
    """Checked after the restart's first poll; again once every order the restart watches has
    had the time to land or expire (`unconfirmed_expiry_s`, nothing watched is left live); and
    again after the market went on: through TP2 (a restored position is managed on) and down
    through its stop."""
    await r.settle()
    assert check(r, interrupted) == []
    await past_expiry(r)
    assert check(r, interrupted) == []
    assert not r.venue.pending
    for price in (155.0, 151.0, 146.0):
        await r.price(price)
        await r.settle()
    assert check(r, interrupted) == []
    assert r.session.latest.positions == [] and r.chain_size() == 0


async def past_expiry(r: Rig) -> None:
    """Ten seconds at a time, one poll each, until every watched order has expired."""
    for _ in range(int(r.h.config.unconfirmed_expiry_s // 10) + 2):
        r.clock.now += 10_000
        await r.settle()


async def open_live(r: Rig) -> int:
    await r.session.enter_live("LIVE")
    pos = await r.session.open_position(SYMBOL, Side.LONG, 40, 2)
    await r.settle()
    assert pos.trade_id is not None
    return pos.trade_id


WINDOWS = ("unsent", "landed", "confirmed")


@pytest.mark.parametrize("where", WINDOWS)
async def test_an_entry_abandoned_mid_send(tmp_path: Path, where: str) -> None:
    r = await open_rig(tmp_path / "d.db")
    await r.session.enter_live("LIVE")
    r, interrupted = await crash_restart(
        r, lambda: r.session.open_position(SYMBOL, Side.LONG, 40, 2), where
    )
    try:
        await settled_then_played_on(r, interrupted)
    finally:
        await r.session.stop()


@pytest.mark.parametrize("where", WINDOWS)
async def test_a_take_profit_abandoned_mid_send(tmp_path: Path, where: str) -> None:
    r = await open_rig(tmp_path / "d.db")
    await open_live(r)
    r, interrupted = await crash_restart(
        r, lambda: r.price(152.6), where
    )  # TP1 of `fixed` at +1.5 %
    try:
        await settled_then_played_on(r, interrupted)
    finally:
        await r.session.stop()


@pytest.mark.parametrize("where", WINDOWS)
async def test_a_partial_close_abandoned_mid_send(tmp_path: Path, where: str) -> None:
    r = await open_rig(tmp_path / "d.db")
    trade_id = await open_live(r)
    r, interrupted = await crash_restart(r, lambda: r.session.close_part(trade_id, 50), where)
    try:
        await settled_then_played_on(r, interrupted)
    finally:
        await r.session.stop()


async def test_a_stop_move_abandoned_before_the_chain_has_it(tmp_path: Path) -> None:
    """The move is written, the poll that would modify the on-chain stop never runs."""
    r = await open_rig(tmp_path / "d.db")
    trade_id = await open_live(r)
    await r.price(150.4)
    await r.session.move_stop(trade_id, 149.0)
    await abandon(r.session)
    r = await start_again(r)
    session = r.session
    try:
        [pos] = session.latest.positions
        assert pos.stop == 149.0, "the database's stop is the one restored"
        assert r.chain_stops()[0][1] != 149.0
        assert trade_id in session.venue_alerts() or session.venue_note(trade_id), (
            "the chain's stop differs from the engine's: shown"
        )
        assert check(r) == []
        await r.price(148.9)  # through the engine's stop, above the chain's: the software stop
        await r.settle()
        assert check(r) == []
        assert session.latest.positions == [] and r.chain_size() == 0 and r.chain_stops() == []
    finally:
        await session.stop()


@pytest.mark.parametrize("order", ["entry", "tp1"])
async def test_an_unsent_order_first_polled_after_its_expiry_ends(
    tmp_path: Path, order: str
) -> None:
    """The restart watches the `intent` row (it may have gone out); the account cannot be read
    until the order's expiry has passed (an RPC outage, the poll backing off). The first poll
    after that must end the row, whatever state it was left in."""
    r = await open_rig(tmp_path / "d.db")
    if order == "entry":
        await r.session.enter_live("LIVE")
    else:
        await open_live(r)

    def op() -> Awaitable[Any]:
        if order == "entry":
            return r.session.open_position(SYMBOL, Side.LONG, 40, 2)
        return r.price(152.6)

    r, interrupted = await crash_restart(r, op, "unsent")
    try:
        r.clock.now += int(r.h.config.unconfirmed_expiry_s * 1000) + 10_000
        problems: list[str] = []
        try:
            await r.settle()
        except Exception as exc:  # the poll loop logs it and polls on; the row stays as it is
            problems.append(f"the first poll raised {exc!r}")
        problems += check(r, interrupted)
        assert problems == []
        assert not r.venue.pending
    finally:
        await r.session.stop()

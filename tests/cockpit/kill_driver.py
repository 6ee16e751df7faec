"""Child side of tests/cockpit/test_kill_anywhere.py: a real session played fast, killed anywhere.

Run as `python -m tests.cockpit.kill_driver serve` from the repository root. It imports the
cockpit once and then forks one child per segment (a fresh interpreter per kill would spend most
of the test's time importing SQLAlchemy). Protocol, one line each, on stdin/stdout:

    parent -> server   {"db": ..., "segment": i, "seed": s, "steps": n, "kill": {...}}
    child  -> parent   child <pid>
    child  -> parent   started {"positions": [...], "unfinished": [...]}   (after start())
    parent -> child    go | stop                                     (the DB is quiet meanwhile)
    child  -> parent   step {...}    one per step of the script
    child  -> parent   KILL {...}    right before it SIGKILLs itself at a targeted point
    child  -> parent   done          (script over; it then waits to be killed)
    server -> parent   exit <pid> <wait status>
    parent -> server   quit

A segment is a real `Session` (ReplayFeed stepped tick by tick, PaperBroker, a SQLite file): it
restarts on whatever the last kill left, then plays a seeded script of entries (one position per
symbol), partial closes, tightening stop moves and ticks that the engine turns into TP1, TP2 and
stop exits. The price path steers toward the open position's levels so those exits happen.

Kill points (`kill`), all inside this process only, nothing in the product is wrapped:
- {"kind": "lines"}: the parent kills after N progress lines (wherever the child is then);
- {"kind": "submit", "reason": r, "k": k, "when": "before"|"after"}: the k-th order of reason
  `r` ("stop" = any stop exit, "*" = any) reaching PaperBroker.submit: before = the intent row is
  committed and nothing is sent; after = the paper venue filled it, the fill is not written;
- {"kind": "call", "method": m, "k": k, "when": "before"|"after", "match": {...}}: around the
  k-th matching call of Store.m (after = its transaction committed, the caller not resumed);
- {"kind": "write", "k": k, "when": ...}: around the k-th Store._write of the script.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from adapters.paper import PaperBroker
from adapters.replay import ReplayFeed
from cockpit.config import FixedPolicyConfig, Settings
from cockpit.domain import OrderRequest, PositionState, Side, Tick
from cockpit.execution.errors import OrderRejected
from cockpit.session import Session
from state.store import Store

SYMBOL = "SOL-PERP"
BASE_MS = 1_750_000_000_000
SEGMENT_MS = 10_000_000  # each segment's market time starts after the previous one's
EXIT_REASONS_STOP = ("stop_loss", "breakeven", "profit_lock", "trailing_stop", "manual_stop")


# --------------------------------------------------------------------------- line I/O on fds
def read_line(fd: int = 0) -> str:
    """One line from `fd`, unbuffered (the server and its children share stdin: no read-ahead)."""
    out = bytearray()
    while True:
        b = os.read(fd, 1)
        if not b:
            return out.decode() if out else ""
        if b == b"\n":
            return out.decode()
        out += b


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def die(spec: dict[str, Any], where: str) -> None:
    say("KILL " + json.dumps({**spec, "where": where}))
    os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- kill hooks
def install_kill(spec: dict[str, Any]) -> None:
    """Patch this process's Store / PaperBroker so it SIGKILLs itself at the point `spec` names."""
    kind = spec["kind"]
    when = spec.get("when", "after")
    k = int(spec.get("k", 1))
    count = 0

    def hit() -> bool:
        nonlocal count
        count += 1
        return count == k

    if kind == "submit":
        original_submit = PaperBroker.submit
        reason = spec["reason"]

        def matches(order: OrderRequest) -> bool:
            if reason == "*":
                return True
            if reason == "stop":
                return order.reason in EXIT_REASONS_STOP
            return bool(order.reason == reason)

        @functools.wraps(original_submit)
        async def submit(self: PaperBroker, order_id: int, order: OrderRequest) -> Any:
            now = matches(order) and hit()
            if now and when == "before":
                die(spec, f"order {order_id} {order.reason}: intent row committed, not sent")
            event = await original_submit(self, order_id, order)
            if now:
                die(
                    spec,
                    f"order {order_id} {order.reason}: {event.kind.value} on paper, not written",
                )
            return event

        PaperBroker.submit = submit  # type: ignore[method-assign]
    elif kind in ("call", "write"):
        method = "_write" if kind == "write" else spec["method"]
        match: dict[str, Any] = spec.get("match", {})
        original: Callable[..., Any] = getattr(Store, method)

        @functools.wraps(original)
        async def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
            now = _call_matches(method, match, args, kwargs) and hit()
            if now and when == "before":
                die(spec, f"before {method} #{k}")
            result = await original(self, *args, **kwargs)
            if now:
                die(spec, f"after {method} #{k} committed")
            return result

        setattr(Store, method, wrapper)
    elif kind != "lines":
        raise ValueError(f"unknown kill kind {kind!r}")


def _call_matches(
    method: str, match: dict[str, Any], args: tuple[Any, ...], kw: dict[str, Any]
) -> bool:
    if not match:
        return True
    facts: dict[str, Any] = {}
    if method == "record_order_intent":
        facts["reason"] = args[0].reason
    elif method in ("record_exit_fill", "record_open"):
        facts["reason"] = args[1].reason
    elif method == "record_stop_move":
        facts["who"] = args[5] if len(args) > 5 else kw.get("who")
    return all(facts.get(key) == value for key, value in match.items())


# --------------------------------------------------------------------------- the segment
def position_json(pos: PositionState) -> dict[str, Any]:
    return {
        "trade_id": pos.trade_id,
        "side": pos.side.value,
        "size": pos.size,
        "initial_size": pos.initial_size,
        "stop": pos.stop,
        "stop_role": pos.stop_role.value,
        "tp1_filled": pos.tp1_filled,
        "tp2_filled": pos.tp2_filled,
        "trailing_active": pos.trailing_active,
        "breakeven_done": pos.breakeven_done,
        "profit_lock_done": pos.profit_lock_done,
        "peak": pos.peak,
        "realized_pnl": pos.realized_pnl,
        "fees": pos.fees,
        "closed": pos.closed,
    }


class PricePath:
    """A seeded walk that heads for the open position's levels (TP2, TP1, its stop) in turn."""

    def __init__(self, rng: random.Random, session: Session, t0: int) -> None:
        self.rng = rng
        self.session = session
        self.price = 100.0
        self.ts = t0
        self.goal: float | None = None

    def _position(self) -> PositionState | None:
        return next((p for p in self.session.book.positions if not p.closed), None)

    def _new_goal(self) -> float:
        pos, rng = self._position(), self.rng
        if pos is None:
            return self.price * (1 + rng.uniform(-0.02, 0.02))
        plan, s = pos.plan, pos.side.sign
        choices = [plan.tp1_price + s * 0.002 * pos.entry, pos.stop - s * 0.003 * pos.entry]
        if plan.tp2_price is not None:
            choices.append(plan.tp2_price + s * 0.004 * pos.entry)
        choices.append(pos.entry * (1 + rng.uniform(-0.01, 0.01)))
        return rng.choices(choices, weights=[3, 2, 3, 1][: len(choices)])[0]

    def __iter__(self) -> Iterator[Tick]:
        # Pulled first once start() has restored the positions: a restored one's last price.
        pos = self._position()
        if pos is not None and pos.last_price:
            self.price = pos.last_price
        while True:
            if self.goal is None or abs(self.goal - self.price) < 0.001 * self.price:
                self.goal = self._new_goal()
            gap = self.goal - self.price
            step = min(abs(gap), self.price * self.rng.uniform(0.002, 0.006))
            self.price += (step if gap > 0 else -step) + self.price * self.rng.gauss(0, 0.001)
            self.price = round(self.price, 4)
            self.ts += 1000
            yield Tick(SYMBOL, self.ts, self.price, bid=self.price - 0.005, ask=self.price + 0.005)


async def run_segment(cfg: dict[str, Any]) -> int:
    url = f"sqlite+aiosqlite:///{cfg['db']}"
    settings = Settings(
        db_url=url,
        state_flush_ms=int(cfg.get("flush_ms", 20)),
        policy=FixedPolicyConfig(tp1_fraction=0.5, tp2_fraction=0.3),  # a 20 % runner rides on
    )
    segment = int(cfg["segment"])
    t0 = BASE_MS + segment * SEGMENT_MS
    rng = random.Random(f"{cfg['seed']}:{segment}:script")
    holder: dict[str, Session] = {}

    def clock() -> int:
        ticks = holder["s"].latest.last_tick.values()
        return max((t.ts_ms for t in ticks), default=t0)

    broker = PaperBroker(settings.paper)
    path: list[PricePath] = []
    feed = ReplayFeed(
        {SYMBOL: (tick for tick in _lazy(path))},
        speed=None,
        simulated=True,
        label="kill-test",
        paused=True,
    )
    session = Session(settings, feed, broker, [SYMBOL], clock=clock)
    holder["s"] = session
    path.append(PricePath(random.Random(f"{cfg['seed']}:{segment}:path"), session, t0))
    await session.start()
    assert session.store is not None
    for _ in range(5):
        await asyncio.sleep(0)
    await session.store.flush()
    await session.analytics_settled()
    restored = [position_json(p) for p in session.book.positions]
    unfinished = await session.store.unfinished_orders()
    say(
        "started "
        + json.dumps(
            {
                "positions": restored,
                "unfinished": [(o.id, o.status) for o in unfinished],
            }
        )
    )
    command = await asyncio.get_running_loop().run_in_executor(None, read_line)
    if command == "stop":
        await session.stop()
        say("stopped")
        return 0
    install_kill(cfg["kill"])
    await play(session, feed, rng, int(cfg.get("steps", 60)))
    say("done")
    await asyncio.get_running_loop().run_in_executor(None, read_line)  # killed while waiting
    return 0


def _lazy(box: list[PricePath]) -> Iterator[Tick]:
    yield from box[0]


async def play(session: Session, feed: ReplayFeed, rng: random.Random, steps: int) -> None:
    await feed.step(1)  # a price first
    for i in range(steps):
        pos = next((p for p in session.book.positions if not p.closed), None)
        r = rng.random()
        op: dict[str, Any]
        command: Awaitable[object]
        try:
            if pos is None:
                if r < 0.45:
                    side = Side.LONG if rng.random() < 0.6 else Side.SHORT
                    new = await session.open_position(SYMBOL, side, 30.0, 2.0)
                    op = {"op": "open", "side": side.value, "trade_id": new.trade_id}
                else:
                    await feed.step(1)
                    op = {"op": "tick"}
            else:
                assert pos.trade_id is not None
                # A command and a tick at once, as in the app (the feed task runs on while the
                # trader acts), a third of the time.
                together = rng.random() < 0.35
                if r < 0.06:
                    percent = rng.choice([25.0, 50.0, 50.0, 100.0])
                    command = session.close_part(pos.trade_id, percent, why="kill test")
                    op = {"op": "close_part", "percent": percent, "trade_id": pos.trade_id}
                elif r < 0.16:
                    mark = session.mark_price(pos)
                    new_stop = round(pos.stop + rng.uniform(0.2, 0.6) * (mark - pos.stop), 4)
                    command = session.move_stop(pos.trade_id, new_stop, why="kill test")
                    op = {"op": "move_stop", "to": new_stop, "trade_id": pos.trade_id}
                else:
                    command, together = feed.step(1), False
                    op = {"op": "tick"}
                if together:
                    op["with_tick"] = True
                    for result in await asyncio.gather(
                        command, feed.step(1), return_exceptions=True
                    ):
                        if isinstance(result, BaseException):
                            raise result
                else:
                    await command
        except OrderRejected as exc:
            op = {"op": "refused", "why": str(exc)[:80]}
        tick = session.latest.last_tick.get(SYMBOL)
        op["i"] = i
        op["price"] = tick.price if tick is not None else None
        say("step " + json.dumps(op))


# --------------------------------------------------------------------------- the fork server
def serve() -> int:
    say("ready")
    while True:
        line = read_line()
        if not line or line == "quit":
            return 0
        cfg = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: one segment, then out without running the server's exit code
            code = 1
            try:
                say(f"child {os.getpid()}")
                code = asyncio.run(run_segment(cfg))
            except BaseException:
                traceback.print_exc()
                say("error")
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        say(f"exit {pid} {status}")


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        sys.exit(serve())
    # One segment by hand (debugging): python -m tests.cockpit.kill_driver '<json cfg>'
    sys.exit(asyncio.run(run_segment(json.loads(sys.argv[1]))))

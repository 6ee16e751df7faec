"""SIGKILL a real paper session at 20+ points of a fast replay, restart it, check the database.

A fork server (tests/cockpit/kill_driver.py) runs one segment per kill: each segment restarts a
real `Session` (ReplayFeed stepped tick by tick, PaperBroker, one SQLite file shared by every
segment) on whatever the previous kill left, then plays a seeded script of entries, partial
closes, tightening stop moves and ticks the engine turns into TP1, TP2 and stop exits, until it
is killed with SIGKILL. Kill points, from a seeded schedule:
- after N progress lines, N random (the child is wherever it is when the signal lands);
- targeted windows, where the child kills itself: an order's intent row committed and nothing
  sent; the paper venue filled it and the fill is not written; an entry or exit fill committed
  and nothing after it (stop moves, snapshot, log); a stop move committed before its audit row
  and snapshot flush; before a snapshot flush; the k-th store write of the script, k random.

After each kill the database at rest, and again after the next segment's `Session.start()`
(which must settle every paper row the kill left unfinished), is checked with sqlite3:
- no paper order row in intent / would_submit / submitted / accepted / partially_filled after
  a start, and the rows a kill left so are `failed` with the startup's reason; at most one
  unfinished row at rest (one order in flight at a time);
- every fill has its order row `filled`, same trade and client order id; one fill per filled
  order; every trade has exactly one entry fill of its initial size;
- exit fills never exceed the initial size; a closed trade's exits sum to it (size 0); an open
  trade's size is its initial size less its exits; realized P&L and fees agree with the fills;
- tp1_filled / tp2_filled exactly when a tp1 / tp2 fill exists;
- at most one open trade on the symbol; an open long's stop is not below its last stop-move row
  (a short's not above);
- the positions the restarted session holds are the open trades, field for field.
No assertion depends on timing: a kill lands wherever it lands, the invariants hold everywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cockpit.execution.startup import UNSENT

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("KILL_SEED", "12"))
STEPS = 60
LINE_KILLS = 7
WRITE_KILLS = 3
MAX_SEGMENTS = 40
DEADLINE_S = 150.0  # a hung child fails the test instead of hanging it
EPS = 1e-9
# What the sessions' own log (stderr) must never say: a product error, not a kill.
LOG_PROBLEMS = ("Traceback", "illegal", "tick handling failed", "database write failed", "lost")
UNFINISHED = ("intent", "would_submit", "submitted", "accepted", "partially_filled")

# The windows every run must cover (each retried in a later segment if its script never got
# there: a segment that reached its end is killed there instead).
TARGETED: list[dict[str, Any]] = [
    {"kind": "submit", "reason": "entry", "when": "before"},
    {"kind": "submit", "reason": "entry", "when": "after"},
    {"kind": "submit", "reason": "tp1", "when": "before"},
    {"kind": "submit", "reason": "tp1", "when": "after"},
    {"kind": "submit", "reason": "tp2", "when": "after"},
    {"kind": "submit", "reason": "stop", "when": "before"},
    {"kind": "submit", "reason": "stop", "when": "after"},
    {"kind": "submit", "reason": "manual_close", "when": "after"},
    {"kind": "call", "method": "record_open", "when": "after"},
    {"kind": "call", "method": "record_exit_fill", "when": "after", "match": {"reason": "tp1"}},
    {"kind": "call", "method": "record_exit_fill", "when": "after", "match": {"reason": "tp2"}},
    {
        "kind": "call",
        "method": "record_exit_fill",
        "when": "after",
        "match": {"reason": "manual_close"},
    },
    {"kind": "call", "method": "record_stop_move", "when": "after", "match": {"who": "user"}},
    {"kind": "call", "method": "record_stop_move", "when": "after", "match": {"who": "engine"}},
    {"kind": "call", "method": "flush", "when": "before"},
]


def schedule(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    specs = [dict(s, k=1 if rng.random() < 0.7 else 2) for s in TARGETED]
    specs += [
        {"kind": "write", "k": rng.randint(1, 60), "when": "after"} for _ in range(WRITE_KILLS)
    ]
    specs += [{"kind": "lines", "n": rng.randint(1, STEPS)} for _ in range(LINE_KILLS)]
    rng.shuffle(specs)
    return specs


class Server:
    """The fork server's pipes, read line by line with a deadline."""

    def __init__(self, err_path: Path) -> None:
        self.err_path = err_path
        self.err = err_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.cockpit.kill_driver", "serve"],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.buf = b""
        self.deadline = time.monotonic() + DEADLINE_S
        self.child: int | None = None

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def line(self) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"kill driver timed out; stderr:\n{self.stderr_tail()}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"kill driver ended; stderr:\n{self.stderr_tail()}")
            self.buf += chunk
        out, self.buf = self.buf.split(b"\n", 1)
        return out.decode()

    def expect(self, prefix: str) -> str:
        text = self.line()
        if not text.startswith(prefix):
            raise AssertionError(
                f"expected {prefix!r} from the driver, got {text!r}\n{self.stderr_tail()}"
            )
        return text[len(prefix) :].strip()

    def stderr_tail(self) -> str:
        self.err.flush()
        return self.err_path.read_text()[-4000:]

    def close(self) -> None:
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child, signal.SIGKILL)
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.err.close()


# --------------------------------------------------------------------------- invariants
def read_db(db: Path) -> dict[str, list[sqlite3.Row]]:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("BEGIN")  # one snapshot for every table
        out = {
            "orders": conn.execute("SELECT * FROM orders ORDER BY id").fetchall(),
            "fills": conn.execute("SELECT * FROM fills ORDER BY id").fetchall(),
            "trades": conn.execute("SELECT * FROM trades ORDER BY id").fetchall(),
            "moves": conn.execute("SELECT * FROM stop_moves ORDER BY id").fetchall(),
        }
        conn.execute("COMMIT")
    finally:
        conn.close()
    return out


def check_db(db: Path, *, started: bool) -> list[str]:
    """Every invariant of the module docstring that the database alone can show."""
    data = read_db(db)
    orders = {o["id"]: o for o in data["orders"]}
    bad: list[str] = []
    unfinished = [o for o in data["orders"] if o["status"] in UNFINISHED]
    if started and unfinished:
        bad += [
            f"order {o['id']} ({o['reason']}) left {o['status']} after start" for o in unfinished
        ]
    if not started and len(unfinished) > 1:
        bad.append(f"{len(unfinished)} orders in flight at once: {[o['id'] for o in unfinished]}")
    fills_of_order: dict[int, int] = {}
    for f in data["fills"]:
        fills_of_order[f["order_id"]] = fills_of_order.get(f["order_id"], 0) + 1
        o = orders.get(f["order_id"])
        if o is None:
            bad.append(f"fill {f['id']} has no order row")
            continue
        if o["status"] != "filled":
            bad.append(f"fill {f['id']} ({f['reason']}): its order {o['id']} is {o['status']}")
        if o["trade_id"] != f["trade_id"] or o["client_order_id"] != f["client_order_id"]:
            bad.append(f"fill {f['id']} and its order {o['id']} disagree on trade or client id")
    for o in data["orders"]:
        n = fills_of_order.get(o["id"], 0)
        if o["status"] == "filled" and n != 1:
            bad.append(f"order {o['id']} ({o['reason']}) is filled with {n} fill rows")
    moves: dict[int, list[sqlite3.Row]] = {}
    for m in data["moves"]:
        moves.setdefault(m["trade_id"], []).append(m)
    open_trades = [t for t in data["trades"] if t["status"] == "open"]
    if len({t["symbol"] for t in open_trades}) != len(open_trades):
        bad.append(f"more than one open trade on a symbol: {[t['id'] for t in open_trades]}")
    for t in data["trades"]:
        tid, initial = t["id"], t["initial_size"]
        fills = [f for f in data["fills"] if f["trade_id"] == tid]
        entries = [f for f in fills if not f["reduce_only"]]
        exits = [f for f in fills if f["reduce_only"]]
        out = sum(f["size"] for f in exits)
        where = f"trade #{tid} ({t['status']}, initial {initial!r}, size {t['size']!r})"
        if len(entries) != 1 or abs(entries[0]["size"] - initial) > EPS:
            bad.append(f"{where}: entry fills {[f['size'] for f in entries]}")
        if out > initial + EPS:
            bad.append(f"{where}: exit fills sum to {out!r}, above the initial size")
        if t["status"] == "closed" and (abs(out - initial) > EPS or t["size"] != 0):
            bad.append(f"{where}: closed with exit fills summing to {out!r}")
        if t["status"] == "open" and abs(t["size"] - (initial - out)) > EPS:
            bad.append(f"{where}: open, but initial less exit fills is {initial - out!r}")
        for target in ("tp1", "tp2"):
            has_fill = any(f["reason"] == target for f in exits)
            if bool(t[f"{target}_filled"]) != has_fill:
                bad.append(
                    f"{where}: {target}_filled={t[f'{target}_filled']}, {target} fill: {has_fill}"
                )
        sign = 1.0 if t["side"] == "long" else -1.0
        pnl = sum(sign * (f["price"] - t["entry_price"]) * f["size"] for f in exits)
        fees = sum(f["fee"] for f in fills)
        if abs(pnl - t["realized_pnl"]) > 1e-6 or abs(fees - t["fees"]) > 1e-6:
            bad.append(
                f"{where}: realized {t['realized_pnl']!r} / fees {t['fees']!r}, "
                f"the fills say {pnl!r} / {fees!r}"
            )
        if t["status"] == "open" and moves.get(tid):
            last = moves[tid][-1]["new_price"]
            if sign * (t["stop_price"] - last) < -EPS:
                bad.append(f"{where}: stop {t['stop_price']!r} looser than its last move {last!r}")
    return bad


def check_restored(db: Path, positions: list[dict[str, Any]]) -> list[str]:
    """The restarted session holds exactly the open trades, as the database has them."""
    trades = {t["id"]: t for t in read_db(db)["trades"] if t["status"] == "open"}
    held = {p["trade_id"]: p for p in positions}
    bad: list[str] = []
    if set(held) != set(trades):
        bad.append(f"restored {sorted(held)}, the database has open {sorted(trades)}")
    columns = {
        "size": "size",
        "initial_size": "initial_size",
        "stop": "stop_price",
        "stop_role": "stop_role",
        "tp1_filled": "tp1_filled",
        "tp2_filled": "tp2_filled",
        "trailing_active": "trailing_active",
        "breakeven_done": "breakeven_done",
        "profit_lock_done": "profit_lock_done",
        "peak": "peak",
        "realized_pnl": "realized_pnl",
        "fees": "fees",
    }
    for tid in set(held) & set(trades):
        p, t = held[tid], trades[tid]
        for field, column in columns.items():
            value = t[column]
            if isinstance(p[field], bool):
                value = bool(value)
            if p[field] != value:
                bad.append(f"restored #{tid} {field}={p[field]!r}, the database says {value!r}")
    return bad


# --------------------------------------------------------------------------- the test
def test_sigkill_anywhere_then_restart_keeps_the_database_consistent(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    queue = schedule(SEED)
    server = Server(tmp_path / "driver.err")
    fired: list[dict[str, Any]] = []
    missed: list[dict[str, Any]] = []
    problems: list[str] = []
    segment = 0
    try:
        server.expect("ready")
        while True:
            final = not queue
            spec: dict[str, Any] = {"kind": "lines", "n": 0} if final else queue.pop(0)
            cfg = {"db": str(db), "segment": segment, "seed": SEED, "steps": STEPS, "kill": spec}
            before = {o["id"]: o["status"] for o in read_db(db)["orders"]} if db.exists() else {}
            server.send(json.dumps(cfg))
            server.child = int(server.expect("child"))
            started = json.loads(server.expect("started"))
            context = f"seed {SEED} segment {segment} (after {fired[-1] if fired else 'nothing'})"
            found = check_db(db, started=True) + check_restored(db, started["positions"])
            after = {o["id"]: o for o in read_db(db)["orders"]}
            for oid, status in before.items():
                if status in UNFINISHED and (
                    after[oid]["status"] != "failed" or after[oid]["error"] != UNSENT
                ):
                    found.append(f"order {oid} left {status} became {after[oid]['status']}")
            problems += [f"{context}, after restart: {p}" for p in found]
            if final:
                server.send("stop")
                server.expect("stopped")
                server.expect(f"exit {server.child} 0")
                break
            server.send("go")
            seen, outcome = 0, None
            while outcome is None:
                text = server.line()
                if text.startswith("step "):
                    seen += 1
                    if spec["kind"] == "lines" and seen >= spec["n"]:
                        os.kill(server.child, signal.SIGKILL)
                        outcome = dict(spec, where=f"after {seen} steps ({text[5:]})")
                elif text.startswith("KILL "):
                    outcome = json.loads(text[5:])
                elif text == "done":
                    os.kill(server.child, signal.SIGKILL)
                    outcome = dict(spec, where="script over")
                    if spec["kind"] != "lines":
                        missed.append(spec)
                        if segment < MAX_SEGMENTS:
                            queue.append(spec)  # try that window again later
                else:
                    raise AssertionError(f"unexpected driver line {text!r}\n{server.stderr_tail()}")
            while True:  # lines printed before the signal landed, then the reaping
                text = server.line()
                if text.startswith("exit "):
                    break
            status = int(text.split()[2])
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, text
            server.child = None
            fired.append(outcome)
            problems += [
                f"seed {SEED} segment {segment}, killed {outcome}: {p}"
                for p in check_db(db, started=False)
            ]
            segment += 1
    finally:
        server.close()

    for n, outcome in enumerate(fired):  # shown with -s, and on failure
        print(f"kill {n}: {outcome}")
    log = (tmp_path / "driver.err").read_text()
    problems += [
        f"seed {SEED}: the driver's log says {line!r}"
        for line in log.splitlines()
        if any(word in line for word in LOG_PROBLEMS)
    ]
    assert not problems, "\n".join(problems[:20])
    assert len([f for f in fired if f.get("where") != "script over"]) >= 20, fired
    never = [t for t in TARGETED if not any(_same_window(t, f) for f in fired)]
    assert not never, f"targeted windows never reached: {never}; missed {missed}"
    with sqlite3.connect(db) as conn:
        (n_trades,) = conn.execute("SELECT count(*) FROM trades").fetchone()
        reasons = {r for (r,) in conn.execute("SELECT DISTINCT reason FROM fills")}
    assert n_trades >= 10 and {"entry", "tp1", "tp2", "manual_close"} <= reasons, reasons


def _same_window(target: dict[str, Any], fired: dict[str, Any]) -> bool:
    if fired.get("where") == "script over":
        return False
    return all(fired.get(key) == value for key, value in target.items())

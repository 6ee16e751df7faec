"""`cockpit phase start N [--at DATE]` and `cockpit phase list`: the roadmap phases' starts.

A start is written with an audit row (who: cli, on the `--account`'s audit), under the same
lock as every writer: the SQLite file's lock, or on PostgreSQL that account's advisory lock (a
cockpit running on the account refuses it, exit 2 with who holds it); the phases themselves are
the desk's, one roadmap per database. A refused start (in the future, twice, out of order, not
a phase) is one line and exit status 2, with nothing written (`state.phase_rows`).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime

from cockpit.config import Settings, load_settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    phase = sub.add_parser("phase", help="start a roadmap phase, or list the phases' starts")
    actions = phase.add_subparsers(dest="phase_action", metavar="ACTION", required=True)
    start = actions.add_parser("start", help="record that phase N starts now (or at --at)")
    start.add_argument("number", type=int, help="the roadmap phase, 1 to 6")
    start.add_argument(
        "--at", type=parse_when, help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC; default: now)"
    )
    start.add_argument("--note", default="", help="why, for the audit log")
    actions.add_parser("list", help="every phase started so far")


def parse_when(text: str) -> int:
    """A UTC day or minute as epoch ms; anything else is refused by argparse (exit 2)."""
    for pattern in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            moment = datetime.strptime(text.strip(), pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(moment.timestamp() * 1000)
    raise argparse.ArgumentTypeError(f"'{text}' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)")


def run(args: argparse.Namespace) -> int:
    from state.locks import database_lock

    overrides: dict[str, object] = {"db_url": args.db} if args.db else {}
    if getattr(args, "account", None) and args.phase_action == "start":
        overrides["account"] = args.account  # 'all' is refused: a writer writes for one
    settings = load_settings(args.config, **overrides)
    if args.phase_action == "list":
        for line in asyncio.run(_list(settings)):
            print(line)
        return 0
    now_ms = int(time.time() * 1000)
    at_ms = now_ms if args.at is None else args.at
    with database_lock(settings.db_url, account=settings.account):
        asyncio.run(_start(settings, args.number, at_ms, now_ms, args.note))
    from cockpit.analytics.phases import PHASE_NAMES

    when = datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"Phase {args.number} ({PHASE_NAMES[args.number]}) started at {when}")
    return 0


async def _start(settings: Settings, phase: int, at_ms: int, now_ms: int, note: str) -> None:
    from state.phase_rows import start_phase
    from state.store import Store

    store = await Store.open(settings.db_url, account=settings.account)
    try:
        await start_phase(store, phase, at_ms=at_ms, now_ms=now_ms, who="cli", note=note)
    finally:
        await store.close()


async def _list(settings: Settings) -> list[str]:
    from cockpit.analytics.phases import PHASE_NAMES
    from state.phase_rows import phase_starts
    from state.store import Store

    store = await Store.open(settings.db_url)
    try:
        starts = await phase_starts(store)
    finally:
        await store.close()
    if not starts:
        return ["no phase started yet"]
    return [
        f"Phase {s.phase} ({PHASE_NAMES[s.phase]}) since "
        + datetime.fromtimestamp(s.started_at_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        for s in starts
    ]

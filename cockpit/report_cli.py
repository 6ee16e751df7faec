"""`cockpit report`: the analytics of the trader's journal as Markdown, read without touching it.

- Without `--out` the Markdown goes to stdout (nothing is written unannounced); with `--out` the
  whole report goes to that file, or, with `--kind`, the proof document goes into that folder
  under the seed's name (`cockpit.analytics.report.KINDS`), and one line says where.
- The database is opened read-only and never migrated: a report can run while a cockpit is
  starting on the same file (and migrating it). A file at another schema revision is refused
  with one line (exit 2); a missing file is an empty journal and is not created.
- On a SQLite file the journal is read by `state.journal_reader` (plain sqlite3, the after-exit
  windows from each symbol's bars read once); another database through the store, unmigrated.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.config import Settings, load_settings

if TYPE_CHECKING:
    from cockpit.analytics.snapshot import AnalyticsSnapshot

PROG = "report"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report` to the cockpit's sub-commands."""
    from cockpit.analytics.report import KINDS

    report = sub.add_parser(PROG, help="the analytics and decision gates as Markdown")
    report.add_argument(
        "--kind",
        choices=tuple(KINDS),
        help="one proof document under the seed's name: "
        + ", ".join(f"{k} ({v.file_name})" for k, v in KINDS.items()),
    )
    report.add_argument(
        "--out",
        type=Path,
        help="a file for the whole report, a folder with --kind (default: print to stdout)",
    )


def run(args: argparse.Namespace) -> int:
    from cockpit.analytics.present import gate_line
    from cockpit.analytics.report import KINDS, render_kind, render_markdown

    overrides: dict[str, object] = {"db_url": args.db} if args.db else {}
    settings = load_settings(args.config, **overrides)
    source = shown_url(settings.db_url)
    snapshot = read_snapshot(settings)
    now_ms = int(time.time() * 1000)
    if args.kind is None:
        text = render_markdown(snapshot, source=source, generated_ms=now_ms)
    else:
        text = render_kind(snapshot, args.kind, source=source, generated_ms=now_ms)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    out: Path = args.out
    if args.kind is not None:
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out with --kind is a folder, and {out} is a file")
        out = out / KINDS[args.kind].file_name
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    print(f"wrote {out.resolve()} ({snapshot.trades} closed trades, {source})")
    for gate in snapshot.gates:
        state, label, summary = gate_line(gate)
        print(f"  {state}  {label:<18} {summary}")
    return 0


def shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def read_snapshot(settings: Settings) -> AnalyticsSnapshot:
    """The snapshot of the journal, read without migrating (see the module docstring)."""
    from sqlalchemy.engine import make_url

    from cockpit.analytics.snapshot import snapshot_for
    from state.db import sqlite_file_path
    from state.journal_reader import JournalReader, connect_read_only, stamped_revision
    from state.migrate import HEAD_REVISION

    url = make_url(settings.db_url)
    path = sqlite_file_path(url) if url.get_backend_name() == "sqlite" else None
    if path is None:
        return asyncio.run(_snapshot_through_store(settings))
    if not path.exists():
        return snapshot_for([], settings)
    conn = connect_read_only(path)
    try:
        revision = stamped_revision(conn)
    finally:
        conn.close()
    _check_revision(revision, HEAD_REVISION, shown_url(settings.db_url))
    reader = JournalReader(path, missed_window_h=settings.analytics.missed_window_h)
    records = reader.refresh()
    return snapshot_for(records, settings, reader.phases)


def _check_revision(revision: str | None, head: str, source: str) -> None:
    if revision != head:
        found = "no schema" if revision is None else f"schema revision {revision}"
        raise ValueError(
            f"{source} has {found}, this cockpit reads {head}: start the cockpit on it once "
            "(it migrates at start), or wait until a starting cockpit has, then report again"
        )


async def _snapshot_through_store(settings: Settings) -> AnalyticsSnapshot:
    from state.journal import analytics_snapshot
    from state.migrate import HEAD_REVISION, current_revision
    from state.store import Store

    store = await Store.open(settings.db_url, migrate=False)
    try:
        _check_revision(
            await current_revision(store.engine), HEAD_REVISION, shown_url(settings.db_url)
        )
        return await analytics_snapshot(store, settings)
    finally:
        await store.close()

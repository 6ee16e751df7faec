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
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.config import Settings, load_settings

if TYPE_CHECKING:
    from cockpit.analytics.baseline import BaselineChoice
    from cockpit.analytics.snapshot import AnalyticsSnapshot
    from state.ledger_totals import LedgerTotals

PROG = "report"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report` to the cockpit's sub-commands."""
    from cockpit.analytics.report_kinds import KIND_FILES  # not report.KINDS: numpy

    report = sub.add_parser(PROG, help="the analytics and decision gates as Markdown")
    report.add_argument(
        "--kind",
        choices=tuple(KIND_FILES),
        help="one proof document under the seed's name: "
        + ", ".join(f"{k} ({name})" for k, name in KIND_FILES.items()),
    )
    report.add_argument(
        "--baseline",
        metavar="SPEC",
        help="the P2 win condition's baseline: date:YYYY-MM-DD, phase:N, group:NAME or "
        "policy:NAME (default: the one chosen on the analytics screen, else "
        "analytics.baseline_end)",
    )
    report.add_argument(
        "--out",
        type=Path,
        help="a file for the whole report, a folder with --kind (default: print to stdout)",
    )


def run(args: argparse.Namespace) -> int:
    from cockpit.analytics.baseline import parse_baseline
    from cockpit.analytics.present import gate_line
    from cockpit.analytics.report import KINDS, render_kind, render_markdown
    from state.accounts import account_filter

    overrides: dict[str, object] = {"db_url": args.db} if args.db else {}
    settings = load_settings(args.config, **overrides)
    account = account_filter(getattr(args, "account", None) or "all")
    source = shown_url(settings.db_url)
    baseline = None if args.baseline is None else parse_baseline(args.baseline)
    snapshot = read_snapshot(settings, baseline, account)
    now_ms = int(time.time() * 1000)
    if args.kind is None:
        text = render_markdown(snapshot, source=source, generated_ms=now_ms)
    else:
        text = render_kind(snapshot, args.kind, source=source, generated_ms=now_ms)
    if args.kind in (None, "exit"):
        from cockpit.backtest.ledger_present import markdown

        text += "\n" + "\n".join(markdown(read_ledger(settings))) + "\n"
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
    scope = "every account" if account is None else f"account {account}"
    print(f"wrote {out.resolve()} ({snapshot.trades} closed trades of {scope}, {source})")
    for gate in snapshot.gates:
        state, label, summary = gate_line(gate)
        print(f"  {state}  {label:<18} {summary}")
    return 0


def shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def read_snapshot(
    settings: Settings, baseline: BaselineChoice | None = None, account: str | None = None
) -> AnalyticsSnapshot:
    """The snapshot of the journal (one desk account's, or every account's when None), read
    without migrating (see the module docstring)."""
    from sqlalchemy.engine import make_url

    from cockpit.analytics.fidelity import fidelity_report
    from cockpit.analytics.snapshot import snapshot_for
    from state.baseline_setting import remembered_baseline_at
    from state.db import sqlite_file_path
    from state.fidelity_rows import live_fills_at
    from state.journal_reader import JournalReader, connect_read_only, stamped_revision
    from state.migrate import HEAD_REVISION

    url = make_url(settings.db_url)
    path = sqlite_file_path(url) if url.get_backend_name() == "sqlite" else None
    if path is None:
        return asyncio.run(_snapshot_through_store(settings, baseline, account))
    if not path.exists():
        return snapshot_for([], settings, baseline=baseline)
    conn = connect_read_only(path)
    try:
        revision = stamped_revision(conn)
    finally:
        conn.close()
    _check_revision(revision, HEAD_REVISION, shown_url(settings.db_url))
    reader = JournalReader(
        path, missed_window_h=settings.analytics.missed_window_h, account=account
    )
    records = reader.refresh()
    if baseline is None:  # the one chosen on the analytics screen, if any
        baseline = remembered_baseline_at(path)
    snapshot = snapshot_for(records, settings, reader.phases, baseline)
    return replace(snapshot, fidelity=fidelity_report(live_fills_at(path, account)))


def read_ledger(settings: Settings) -> LedgerTotals | None:
    """The counterfactual ledger's totals for the configured policies (None: no database).
    A SQLite file is opened read-only (a URI with mode=ro), like the rest of the report."""
    from sqlalchemy.engine import make_url

    from state.db import sqlite_file_path

    url = make_url(settings.db_url)
    db_url = settings.db_url
    if url.get_backend_name() == "sqlite":
        path = sqlite_file_path(url)
        if path is None or not path.exists():
            return None
        db_url = f"sqlite+aiosqlite:///{path.resolve().as_uri()}?mode=ro&uri=true"
    return asyncio.run(_ledger_totals(settings, db_url))


async def _ledger_totals(settings: Settings, db_url: str) -> LedgerTotals:
    from cockpit.backtest.ledger import ledger_sets
    from state.ledger_totals import summary
    from state.store import Store

    sets = ledger_sets(settings)
    store = await Store.open(db_url, migrate=False)
    try:
        return await summary(store, [s.key for s in sets], sets[-1].key)
    finally:
        await store.close()


def _check_revision(revision: str | None, head: str, source: str) -> None:
    if revision != head:
        found = "no schema" if revision is None else f"schema revision {revision}"
        raise ValueError(
            f"{source} has {found}, this cockpit reads {head}: start the cockpit on it once "
            "(it migrates at start), or wait until a starting cockpit has, then report again"
        )


async def _snapshot_through_store(
    settings: Settings, baseline: BaselineChoice | None, account: str | None
) -> AnalyticsSnapshot:
    from cockpit.analytics.fidelity import fidelity_report
    from cockpit.analytics.snapshot import snapshot_for
    from state.baseline_setting import remembered_baseline
    from state.fidelity_rows import live_fills
    from state.journal import closed_trade_records
    from state.migrate import HEAD_REVISION, current_revision
    from state.phase_rows import phase_starts
    from state.store import Store

    store = await Store.open(settings.db_url, migrate=False)
    try:
        _check_revision(
            await current_revision(store.engine), HEAD_REVISION, shown_url(settings.db_url)
        )
        records = await closed_trade_records(
            store, missed_window_h=settings.analytics.missed_window_h, account=account
        )
        phases = await phase_starts(store)
        if baseline is None:  # the one chosen on the analytics screen, if any
            baseline = await remembered_baseline(store)
        fills = await live_fills(store, account)
        snapshot = await asyncio.to_thread(snapshot_for, records, settings, phases, baseline)
        return replace(snapshot, fidelity=fidelity_report(fills))
    finally:
        await store.close()

"""`cockpit backtest --journal`: bring the counterfactual ledger up to date, then print it.

One pass of the same ledger job the cockpit runs in the background (`ledger_job`): the closed
trades not yet in the ledger, or waiting for candles that have arrived since, are run
under every configured policy and their own plan, then every trade's rows are printed with the
totals per policy, the discretion line and the e-ratio (`ledger_present`). The database is never
migrated: one at another schema revision is refused with one line (exit 2). A pass that fails
(the database refuses a write) is said on stderr and what is stored is printed anyway.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from cockpit.config import Settings


def run_journal(settings: Settings, out: TextIO | None = None) -> int:
    from sqlalchemy.engine import make_url

    from state.db import sqlite_file_path

    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite":
        path = sqlite_file_path(url)
        if path is not None and not path.exists():
            raise ValueError(f"no journal at {path}: nothing to put in the ledger")
    return asyncio.run(_run(settings, out if out is not None else sys.stdout))


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell: the first left-aligned, the numbers right."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: tuple[str, ...]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in pairs)

    return [line(header), *(line(row) for row in rows)]


async def _run(settings: Settings, out: TextIO) -> int:
    from cockpit.backtest.ledger import actual_pct
    from cockpit.backtest.ledger_job import Ledger
    from cockpit.backtest.ledger_present import (
        NOTE,
        SET_COLUMNS,
        discretion_line,
        e_ratio_line,
        set_rows,
        trade_lines,
    )
    from state.ledger_rows import all_rows
    from state.ledger_totals import summary
    from state.migrate import HEAD_REVISION, current_revision
    from state.store import Store

    store = await Store.open(settings.db_url, migrate=False)
    try:
        revision = await current_revision(store.engine)
        if revision != HEAD_REVISION:
            found = "no schema" if revision is None else f"schema revision {revision}"
            raise ValueError(
                f"the journal has {found}, this cockpit reads {HEAD_REVISION}: start the "
                "cockpit on it once (it migrates at start), then run this again"
            )

        def said(level: str, text: str) -> None:
            print(f"{level}: {text}", file=sys.stderr)

        ledger = Ledger(settings, lambda: store, said, lambda: int(time.time() * 1000))
        try:
            computed = await ledger.refresh()
        except Exception as exc:  # print what is stored; the next pass (or run) redoes it
            print(f"the ledger could not be brought up to date: {exc}", file=sys.stderr)
            computed = 0
        assert ledger.sets is not None
        keys = [s.key for s in ledger.sets]
        own = ledger.sets[-1].key
        listed = await all_rows(store, keys)
        for trade, rows in listed:
            for line in trade_lines(trade, rows, actual_pct(trade), own):
                print(line, file=out)
        totals = await summary(store, keys, own)
        print("", file=out)
        print(
            f"{len(listed)} trades in the ledger ({computed} computed now). {NOTE}",
            file=out,
        )
        if totals.sets:
            print("", file=out)
            for line in _table(SET_COLUMNS, set_rows(totals)):
                print(line, file=out)
        print("", file=out)
        print(discretion_line(totals), file=out)
        print(e_ratio_line(totals), file=out)
        return 0
    finally:
        await store.close()

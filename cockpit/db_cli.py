"""`cockpit db copy SRC DST [--append]` and `cockpit db check`: the journal's own tools.

Kept apart from `cockpit.cli` (which only registers them) so the entry point stays small. Both
print one line per table or finding; a problem with the input (unreachable database, wrong
password, non-empty destination) is one line on stderr and exit status 2; `check` exits 1 when it
ran and found something wrong. URLs are shown with the password masked, always.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from state.check import Finding


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `db copy` and `db check` to the main parser's subcommands."""
    db = sub.add_parser("db", help="copy a journal between databases, or check one")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    copy = actions.add_parser(
        "copy", help="copy a whole journal into another database (all or nothing)"
    )
    copy.add_argument("src", metavar="SRC_URL", help="SQLAlchemy async URL to read")
    copy.add_argument("dst", metavar="DST_URL", help="SQLAlchemy async URL to write")
    copy.add_argument(
        "--append",
        action="store_true",
        help="write into a non-empty database, skipping rows it already has",
    )
    actions.add_parser("check", help="schema version, fills, unfinished orders (of --db)")


def shown_url(url: str) -> str:
    """A URL fit to print: the password replaced by ***."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def run_db(args: argparse.Namespace, journal_url: str) -> int:
    """Dispatch `db ACTION`; `journal_url` is --db (or the configured journal) for `check`."""
    if args.db_command == "copy":
        return _copy(args.src, args.dst, append=args.append)
    return _check(journal_url)


def _copy(src: str, dst: str, *, append: bool) -> int:
    from state.copy import CopyFailed, CopyRefused, TableCount, copy_journal
    from state.locks import database_lock

    if _same(src, dst):
        raise ValueError("SRC and DST are the same database")

    def show(count: TableCount) -> None:
        skipped = f", {count.skipped} already there" if count.skipped else ""
        print(f"  {count.table:<14} {count.copied} copied{skipped}")

    print(f"copying {shown_url(src)} -> {shown_url(dst)}")
    try:
        with database_lock(dst, account=None):
            asyncio.run(copy_journal(src, dst, append=append, on_table=show))
    except CopyRefused as exc:
        print(f"cockpit: {exc}; nothing copied", file=sys.stderr)
        return 2
    except CopyFailed as exc:
        print(f"cockpit: copy failed, {shown_url(dst)} left as it was: {exc}", file=sys.stderr)
        return 2
    print("copy done: one transaction, all rows or none")
    return 0


def _same(a: str, b: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return make_url(a) == make_url(b)
    except Exception:
        return False


def _check(url: str) -> int:
    from state.check import check_journal
    from state.db import create_engine_for

    async def run() -> list[Finding]:
        engine = create_engine_for(url)
        try:
            return await check_journal(engine, live_accounts=await _live_accounts(url, engine))
        finally:
            await engine.dispose()

    findings = asyncio.run(run())
    print(f"checking {shown_url(url)}")
    for finding in findings:
        print(f"  {'ok  ' if finding.ok else 'FAIL'}  {finding.name:<7} {finding.detail}")
    return 0 if all(f.ok for f in findings) else 1


async def _live_accounts(url: str, engine: object) -> set[str]:
    """The accounts a running cockpit holds: asked of the locks themselves (taken and let go)."""
    from state.instance_lock import DatabaseInUse
    from state.locks import lock_for_url
    from state.migrate import HEAD_REVISION, current_revision

    if await current_revision(engine) != HEAD_REVISION:  # type: ignore[arg-type]
        return set()
    accounts = await _order_accounts(engine)
    live: set[str] = set()
    for account in accounts:
        lock = lock_for_url(url, account=account)
        if lock is None:
            continue
        try:
            await asyncio.to_thread(lock.acquire)
        except DatabaseInUse:
            live.add(account)
        else:
            await asyncio.to_thread(lock.release)
    return live


async def _order_accounts(engine: object) -> set[str]:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncEngine

    from state.models import Order

    assert isinstance(engine, AsyncEngine)
    async with engine.connect() as conn:
        return {str(a) for a in (await conn.execute(select(Order.account).distinct())).scalars()}


def database_problem(exc: BaseException) -> str | None:
    """One line for an error that means "cannot use this database" (unreachable server, wrong
    password, missing database or driver), or None for anything else. Built from the driver's
    own first line: it never contains the URL, so never the password."""
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from state.advisory_lock import connect_problem

    if isinstance(exc, NoSuchModuleError | ArgumentError):
        return f"bad database URL: {exc}"
    if isinstance(exc, ModuleNotFoundError) and exc.name == "asyncpg":
        return "PostgreSQL needs the asyncpg driver: install cockpit[postgres]"
    if isinstance(exc, DBAPIError) and exc.connection_invalidated is False and exc.statement:
        return None  # a statement failed on a working connection: a bug, not the input
    if isinstance(exc, DBAPIError | OSError) or _is_pg_connect_error(exc):
        return f"cannot use the database: {connect_problem(exc)}"
    return None


def _is_pg_connect_error(exc: BaseException) -> bool:
    try:
        import asyncpg
    except ModuleNotFoundError:
        return False
    return isinstance(
        exc,
        asyncpg.InvalidAuthorizationSpecificationError
        | asyncpg.InvalidCatalogNameError
        | asyncpg.InvalidPasswordError
        | asyncpg.CannotConnectNowError,
    )

"""Command line: `cockpit demo`, `cockpit replay FILE --speed N`, `cockpit --feed EXCHANGE`
(SHADOW on live data), `cockpit --venue drift` (SHADOW and LIVE-SMALL on Drift), report, import,
backtest (cockpit/backtest/cli.py).

Bad input is refused here with one clear line and exit status 2, before any screen opens. What
needs the heavy libraries to check (a replay's candle file, the live symbols on the exchange) is
checked right after the first frame instead: said on the screen, then printed on one line when
it closes, exit status 2 (`_launch`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from pydantic import ValidationError

from adapters.drift.wallet import WalletError
from cockpit import db_cli, phase_cli, report_cli
from cockpit.backtest.cli import add_parser as add_backtest_parser
from cockpit.config import APP_NAME, Settings, default_data_dir, load_settings
from cockpit.feeds import demo_start, demo_symbols, live_start
from cockpit.secret_scan import looks_like_key
from cockpit.session_builds import drift_session, replay_session
from state.advisory_lock import AdvisoryLock
from state.instance_lock import DatabaseInUse, InstanceLockError
from state.locks import Lock, database_lock

if TYPE_CHECKING:
    from adapters.replay import ReplayFeed
    from adapters.trades_csv import TradesFile
    from cockpit.app import CockpitApp
    from cockpit.session import Session
    from state.journal import ImportResult

DEMO_DB_FILE = "demo.db"
REPLAY_DB_FILE = "replay.db"
LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5


def parse_speed(text: str) -> float | None:
    """'1', '10', '100', '2.5' or 'max' (None = as fast as the machine goes)."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"speed must be a number or 'max', not '{text}'") from None
    if not speed > 0:
        raise argparse.ArgumentTypeError("speed must be above 0")
    return speed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cockpit", description="Terminal trading cockpit for perpetual futures."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--config", type=Path, help="TOML settings file (default: user config dir)")
    parser.add_argument("--db", help="SQLAlchemy async database URL (default: user data dir)")
    parser.add_argument(
        "--account",
        metavar="NAME",
        help="the desk account (drift:1, paper:alice; default 'default'); for report: NAME or "
        "'all' (the default there)",
    )
    parser.add_argument(
        "--feed",
        metavar="EXCHANGE",
        help="without a COMMAND: SHADOW on this exchange's live data (binanceusdm, bybit)",
    )
    parser.add_argument(
        "--venue",
        choices=("drift",),
        help="without a COMMAND: the cockpit on Drift (oracle prices, paper fills in SHADOW, "
        "real orders in LIVE-SMALL); a [drift] section in the config does the same",
    )
    parser.add_argument(
        "--symbol",
        dest="feed_symbol",
        action="append",
        metavar="SYMBOL",
        help="the live feed's perp symbol in ccxt form (default SOL/USDT:USDT); repeat it for "
        "several symbols in one session",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="open the cockpit on an offline simulated SOL-PERP market")
    demo.add_argument("--seed", type=int, help="seed of the simulated market (default: random)")
    demo.add_argument(
        "--symbol",
        dest="demo_symbols",
        action="append",
        metavar="SYMBOL",
        help="a simulated market (SOL-PERP, BTC-PERP, ETH-PERP); repeat it for several",
    )
    demo.add_argument("--speed", type=parse_speed, default=1.0, help="1, 10, 100, ... or max")

    replay = sub.add_parser("replay", help="play a CSV of candles as a market")
    replay.add_argument(
        "file", type=Path, help="timestamp_ms,open,high,low,close,volume (.csv/.gz)"
    )
    replay.add_argument("--speed", type=parse_speed, default=1.0, help="1, 10, 100, ... or max")
    replay.add_argument("--symbol", default="SOL-PERP", help="symbol to label the data with")
    replay.add_argument(
        "--resume",
        action="store_true",
        help="keep positions an earlier replay left open (default: close them as end_of_data)",
    )
    replay.add_argument(
        "--signals",
        type=Path,
        metavar="SIGNALS.csv",
        help="entry signals fed at their ts_ms (the webhook's fields as columns; README)",
    )

    report_cli.register(sub)
    phase_cli.register(sub)
    journal = sub.add_parser("import", help="load past closed trades from a CSV journal")
    journal.add_argument("file", type=Path, help="CSV with a header line (docs/analytics.md)")
    add_backtest_parser(sub)
    db_cli.register(sub)
    return parser


def _version() -> str:
    try:
        return version(APP_NAME)
    except PackageNotFoundError:
        return "unknown"


def _settings(args: argparse.Namespace, default_db_file: str) -> Settings:
    """Settings with the DB chosen as: --db, else config/env, else a per-command file.

    Demo and replay trades go to their own files by default so that simulated fills never mix
    with the trader's real shadow/live journal that feeds the decision gates.
    """
    overrides: dict[str, object] = {}
    if args.db:
        overrides["db_url"] = args.db
    if args.account:
        overrides["account"] = args.account
    settings = load_settings(args.config, **overrides)
    if "db_url" not in settings.model_fields_set:
        settings.db_url = f"sqlite+aiosqlite:///{default_data_dir() / default_db_file}"
    return settings


def _setup_logging() -> Path:
    """Log to a file: the terminal belongs to the UI. Secrets are never logged anywhere."""
    log_dir = Path(
        os.environ.get("COCKPIT_LOG_DIR") or platformdirs.user_log_dir(APP_NAME, appauthor=False)
    )
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "cockpit.log"
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):
        return path  # already set up (main() run twice in one process)
    # A cockpit runs for days: the log rotates (cockpit.log.1 ... .5) instead of filling the disk.
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    pasted = next((n for n, arg in enumerate(arguments, 1) if looks_like_key(arg)), None)
    if pasted is not None:  # before argparse, whose errors echo a bad argument
        print(
            f"cockpit: argument {pasted} on the command line looks like a secret key; it is "
            "not shown. A key belongs only in the keypair file (drift.keypair_path) or in the "
            "environment variable named by drift.keypair_env. It is now in your shell history: "
            "treat it as exposed.",
            file=sys.stderr,
        )
        return 2
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.command is not None and (args.feed or args.feed_symbol or args.venue):
        parser.error(
            "--feed, --symbol and --venue start the live cockpit: use them without a COMMAND"
        )
    if args.venue and args.feed:
        parser.error("--venue drift trades on Drift's oracle prices: it takes no --feed")
    try:
        if args.command is None:
            settings = live_settings(args)
            if settings is None:
                parser.print_help()
                return 0
            if on_drift(args, settings):
                return run_drift(settings)
            return run_live(settings)
        if args.command == "demo":
            return run_demo(args)
        if args.command == "replay":
            return run_replay(args)
        if args.command == "report":
            return report_cli.run(args)
        if args.command == "phase":
            return phase_cli.run(args)
        if args.command == "import":
            return run_import(args)
        if args.command == "backtest":
            from cockpit.backtest.cli import run as run_backtest

            return run_backtest(args, load_settings(args.config))
        if args.command == "db":
            return db_cli.run_db(args, _journal_settings(args).db_url)
    except DatabaseInUse as exc:
        print(f"cockpit: {exc}\n  {exc.hint}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"cockpit: {settings_errors(exc)}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, WalletError, InstanceLockError) as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        problem = db_cli.database_problem(exc)
        if problem is None:
            raise
        print(f"cockpit: {problem}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command}")
    return 2


def settings_errors(exc: ValidationError) -> str:
    """pydantic's errors on one line, without its ``input_value=...`` (which would echo whatever
    was pasted into a setting, a secret key included): each setting and what is wrong with it."""
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    return "invalid settings: " + "; ".join(problems)


def run_demo(args: argparse.Namespace) -> int:
    settings = _settings(args, DEMO_DB_FILE)
    _setup_logging()
    with database_lock(settings.db_url, account=settings.account) as lock:
        app = demo_app(settings, seed=args.seed, speed=args.speed, symbols=args.demo_symbols)
        return _launch(_watched(lock, app))


def demo_app(
    settings: Settings,
    *,
    seed: int | None,
    speed: float | None,
    paused: bool = False,
    symbols: list[str] | None = None,
) -> CockpitApp:
    """The cockpit on the simulated markets; the symbols are checked here (a duplicate or a
    market the demo does not simulate: exit 2). After the first frame the markets are built and
    their prices shown, then the session is built on them (`cockpit.feeds.demo_start`)."""
    from cockpit.app import CockpitApp
    from cockpit.starting import SessionStart

    markets = list(demo_symbols(settings, symbols))
    parts = demo_start(settings, seed=seed, speed=speed, paused=paused, symbols=markets)
    return CockpitApp(
        SessionStart(settings, markets, parts.session, simulated=True, feed=parts.feed)
    )


def run_replay(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise FileNotFoundError(f"no such candle file: {args.file}")
    settings = _settings(args, REPLAY_DB_FILE)
    _setup_logging()
    with database_lock(settings.db_url, account=settings.account) as lock:
        return _launch(
            _watched(
                lock,
                replay_app(
                    settings,
                    args.file,
                    args.symbol,
                    args.speed,
                    resume=args.resume,
                    signals=args.signals,
                ),
            )
        )


def replay_app(
    settings: Settings,
    path: Path,
    symbol: str,
    speed: float | None,
    paused: bool = False,
    *,
    resume: bool = False,
    signals: Path | None = None,
) -> CockpitApp:
    """The cockpit on a candle file played as ticks (see adapters/replay.py for the path), with
    the entry signals of `signals` fed at their times (cockpit/signals/replay.py).

    The session runs on the data's time (entries, fills, the header clock), and a new replay
    starts clean: what an earlier run left open is closed as end_of_data at that run's last
    price, unless `resume`. The signals file is read here (a bad line: exit 2, before any
    screen); the candle file (numpy, seconds for a big one) after the first frame, in the
    worker that then builds the session: a bad line there is said on the starting screen and
    printed, exit 2."""
    from cockpit.app import CockpitApp
    from cockpit.signals.replay import read_signals_csv
    from cockpit.starting import FeedFirst, SessionStart

    timed = read_signals_csv(signals) if signals is not None else None  # bad line: exit 2

    def feed() -> ReplayFeed:
        from adapters.replay import candle_replay

        return candle_replay(path, symbol, speed, paused=paused)

    def session(played: ReplayFeed) -> Session:
        return replay_session(settings, played, symbol, path, speed, resume, signals, timed)

    parts = FeedFirst(feed, session)
    return CockpitApp(
        SessionStart(settings, [symbol], parts.session, simulated=True, feed=parts.feed)
    )


def live_settings(args: argparse.Namespace) -> Settings | None:
    """Settings for SHADOW on live data, or None when neither the command line (--feed,
    --symbol) nor the config ([feed]) asks for it. The database is the trader's real journal
    (--db, else config/env, else the default cockpit.db), never the demo's."""
    from cockpit.config import FeedConfig
    from cockpit.symbols import check_symbol_list

    overrides: dict[str, object] = {"db_url": args.db} if args.db else {}
    if args.account:
        overrides["account"] = args.account
    settings = load_settings(args.config, **overrides)
    asked = args.feed or args.feed_symbol or args.venue
    if not (asked or "feed" in settings.model_fields_set or "drift" in settings.model_fields_set):
        return None
    feed = settings.feed.model_dump()
    if args.feed:
        feed["exchange"] = args.feed
    if args.feed_symbol:  # the command line's list replaces the config's
        feed["symbol"] = args.feed_symbol[0]
        feed["symbols"] = check_symbol_list(args.feed_symbol, "--symbol")
    settings.feed = FeedConfig(**feed)
    _check_exchange(settings.feed.exchange)
    return settings


def _check_exchange(exchange_id: str) -> None:
    """Refuse an exchange ccxt.pro does not have, without importing ccxt (slow) to find out."""
    import importlib.util

    spec = importlib.util.find_spec("ccxt")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ValueError("ccxt is not installed; the live feed needs it")
    module = Path(locations[0]) / "pro" / f"{exchange_id}.py"
    if not exchange_id.isidentifier() or not module.is_file():
        raise ValueError(f"ccxt.pro has no exchange {exchange_id!r} (tested: binanceusdm, bybit)")


def on_drift(args: argparse.Namespace, settings: Settings) -> bool:
    """Drift when asked with --venue, or when the config has a [drift] section and the command
    line does not ask for a ccxt feed instead."""
    if args.venue == "drift":
        return True
    return "drift" in settings.model_fields_set and not (args.feed or args.feed_symbol)


def run_drift(settings: Settings) -> int:
    _setup_logging()
    with database_lock(settings.db_url, account=settings.account) as lock:
        return _launch(_watched(lock, drift_app(settings)))


def drift_app(settings: Settings) -> CockpitApp:
    """The cockpit on Drift: ticks are the oracle price (what Drift triggers stops on), SHADOW
    fills on paper at it, LIVE-SMALL sends real orders with on-chain stops. The wallet is loaded
    and checked here, before any screen; the RPC is first used when the session starts (the
    dashboard is up by then, and a dead RPC shows in the feed status instead of a crash). Market
    names are checked against driftpy's table first (a wrong index would trade another market).
    Bars for the ATR come from the `[feed]` exchange's REST history of `drift.candle_symbols`.
    The session (driftpy's client) is built after the first frame."""
    from adapters.drift.market_names import check_markets
    from adapters.drift.wallet import load_wallet
    from cockpit.app import CockpitApp
    from cockpit.starting import SessionStart

    cfg = settings.drift
    check_markets(cfg)
    wallet = load_wallet(path=cfg.keypair_path, env_var=cfg.keypair_env)
    build = functools.partial(drift_session, settings, wallet)
    return CockpitApp(SessionStart(settings, list(cfg.markets), build))


def run_live(settings: Settings) -> int:
    _setup_logging()
    with database_lock(settings.db_url, account=settings.account) as lock:
        return _launch(_watched(lock, live_app(settings)))


def live_app(
    settings: Settings,
    *,
    clock: Callable[[], int] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> CockpitApp:
    """SHADOW on live data for every symbol. After the first frame the symbols are checked
    against the exchange ("checking markets ..."; an unknown one is said and exits 2 with the
    closest names), the feed started and its prices shown, then the session built on it
    (`cockpit.feeds.live_start`, where `clock` and `monotonic` are explained)."""
    from cockpit.app import CockpitApp
    from cockpit.starting import SessionStart

    cfg = settings.feed
    parts = live_start(settings, clock=clock, monotonic=monotonic)
    checking = f"checking markets {', '.join(cfg.symbol_list)} on {cfg.exchange} ..."
    return CockpitApp(
        SessionStart(settings, cfg.symbol_list, parts.session, feed=parts.feed, checking=checking)
    )


def _journal_settings(args: argparse.Namespace) -> Settings:
    """`report` and `import` work on the trader's real journal: --db, else config/env, else the
    default cockpit.db (never the demo or replay files, whose fills are simulated)."""
    overrides: dict[str, object] = {"db_url": args.db} if args.db else {}
    if args.account and not (args.command in ("report", "db") and args.account == "all"):
        overrides["account"] = args.account  # 'all' is for readers; a writer is refused it
    return load_settings(args.config, **overrides)


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run_import(args: argparse.Namespace) -> int:
    """Validate the whole file first; only a file without a single bad row is written, in one
    transaction. Exit status 2 and every problem on stderr otherwise."""
    from adapters.trades_csv import TradesFileError, load_trades_csv

    path: Path = args.file
    if not path.is_file():
        raise FileNotFoundError(f"no such trades file: {path}")
    try:
        journal = load_trades_csv(path)
    except TradesFileError as exc:
        count = len(exc.errors) + exc.more
        print(
            f"cockpit: {path} refused, nothing imported ({count} problem"
            f"{'' if count == 1 else 's'}):",
            file=sys.stderr,
        )
        print(str(exc), file=sys.stderr)
        return 2
    settings = _journal_settings(args)
    with database_lock(settings.db_url, account=settings.account):
        result = asyncio.run(_import(settings, journal))
    skipped = f"; {result.skipped} already there, skipped" if result.skipped else ""
    print(
        f"imported {result.imported} trades from {path} into {_shown_url(settings.db_url)}{skipped}"
    )
    return 0


async def _import(settings: Settings, journal: TradesFile) -> ImportResult:
    from state.journal import import_trades
    from state.store import Store

    store = await Store.open(settings.db_url, account=settings.account)
    try:
        return await import_trades(store, journal, now_ms=int(time.time() * 1000))
    finally:
        await store.close()


def _watched(lock: Lock | None, app: CockpitApp) -> CockpitApp:
    """A PostgreSQL account lock is handed to the session, which follows it (a lost lock
    stops entries: cockpit/execution/account_lock.py); a file lock cannot be lost."""
    if not isinstance(lock, AdvisoryLock):
        return app
    build = app.start.build

    def build_watched() -> Session:  # the session is built after the first frame
        session = build()
        session.account_lock.lock = lock
        return session

    app.start = dataclasses.replace(app.start, build=build_watched)
    return app


def _run(app: CockpitApp) -> int:
    app.run()
    return app.return_code or 0


def _launch(app: CockpitApp) -> int:
    """Run the app; a start that failed after the first frame (a bad candle file, a market the
    exchange does not list, a journal that cannot be opened) is printed on one line once the
    screen is closed, as a refusal before it would be."""
    code = _run(app)
    if app.starter.failure is not None:
        print(app.starter.failure, file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

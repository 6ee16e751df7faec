"""Command line: `cockpit demo`, `cockpit replay FILE --speed N`, `cockpit --feed EXCHANGE`
(SHADOW on live data), `cockpit --venue drift` (SHADOW and LIVE-SMALL on Drift), report, import.

Bad input is refused here with one clear line and exit status 2, before any screen opens.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from pydantic import ValidationError

from adapters.drift.wallet import WalletError
from cockpit.config import APP_NAME, Settings, default_data_dir, load_settings
from state.instance_lock import DatabaseInUse, InstanceLockError, database_lock

if TYPE_CHECKING:
    from adapters.base import Broker
    from adapters.trades_csv import TradesFile
    from cockpit.analytics.snapshot import AnalyticsSnapshot
    from cockpit.app import CockpitApp
    from cockpit.execution.book import PositionBook
    from cockpit.execution.commands import Audit
    from cockpit.execution.router import Router
    from cockpit.live_venue import LiveVenue
    from state.journal import ImportResult

DEMO_DB_FILE = "demo.db"
REPLAY_DB_FILE = "replay.db"
REPORT_FILE = "cockpit-report.md"


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
        metavar="SYMBOL",
        help="the live feed's perp symbol in ccxt form (default SOL/USDT:USDT)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="open the cockpit on an offline simulated SOL-PERP market")
    demo.add_argument("--seed", type=int, help="seed of the simulated market (default: random)")
    demo.add_argument("--speed", type=parse_speed, default=1.0, help="1, 10, 100, ... or max")

    replay = sub.add_parser("replay", help="play a CSV of candles as a market")
    replay.add_argument(
        "file", type=Path, help="timestamp_ms,open,high,low,close,volume (.csv/.gz)"
    )
    replay.add_argument("--speed", type=parse_speed, default=1.0, help="1, 10, 100, ... or max")
    replay.add_argument("--symbol", default="SOL-PERP", help="symbol to label the data with")

    report = sub.add_parser("report", help="write the analytics and decision gates as Markdown")
    report.add_argument(
        "--out", type=Path, default=Path(REPORT_FILE), help=f"default: ./{REPORT_FILE}"
    )
    journal = sub.add_parser("import", help="load past closed trades from a CSV journal")
    journal.add_argument("file", type=Path, help="CSV with a header line (docs/analytics.md)")
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
    settings = load_settings(args.config, **overrides)
    if "db_url" not in settings.model_fields_set:
        settings.db_url = f"sqlite+aiosqlite:///{default_data_dir() / default_db_file}"
    return settings


def _setup_logging() -> Path:
    """Log to a file: the terminal belongs to the UI. Secrets are never logged anywhere."""
    log_dir = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "cockpit.log"
    logging.basicConfig(
        filename=path,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
            return run_report(args)
        if args.command == "import":
            return run_import(args)
    except DatabaseInUse as exc:
        print(f"cockpit: {exc}\n  {exc.hint}", file=sys.stderr)
        return 2
    except (ValidationError, FileNotFoundError, ValueError, WalletError, InstanceLockError) as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command}")
    return 2


def run_demo(args: argparse.Namespace) -> int:
    settings = _settings(args, DEMO_DB_FILE)
    _setup_logging()
    with database_lock(settings.db_url):
        return _run(demo_app(settings, seed=args.seed, speed=args.speed))


def demo_app(
    settings: Settings, *, seed: int | None, speed: float | None, paused: bool = False
) -> CockpitApp:
    """The cockpit on the simulated market, resuming from the last price the demo saw."""
    from adapters.paper import PaperBroker
    from adapters.replay import simulated_market
    from cockpit.app import CockpitApp
    from cockpit.last_price import last_price
    from cockpit.session import Session

    demo = settings.demo
    if seed is None:
        seed = demo.seed
    if seed is None:
        seed = random.SystemRandom().randrange(1_000_000)
    start_price = asyncio.run(last_price(settings.db_url, demo.symbol)) or demo.start_price
    feed = simulated_market(
        symbol=demo.symbol,
        start_price=start_price,
        seed=seed,
        start_ms=_minute_floor(int(time.time() * 1000)),
        speed=speed,
        paused=paused,
    )
    session = Session(settings, feed, PaperBroker(settings.paper), [demo.symbol])
    session.event("info", f"demo: simulated {demo.symbol} from {start_price:.4f}, seed {seed}")
    return CockpitApp(session)


def _minute_floor(ms: int) -> int:
    """The simulated market starts on a bar boundary so its candles line up with real ones."""
    return ms - ms % 60_000


def run_replay(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise FileNotFoundError(f"no such candle file: {args.file}")
    settings = _settings(args, REPLAY_DB_FILE)
    _setup_logging()
    with database_lock(settings.db_url):
        return _run(replay_app(settings, args.file, args.symbol, args.speed))


def replay_app(
    settings: Settings, path: Path, symbol: str, speed: float | None, paused: bool = False
) -> CockpitApp:
    """The cockpit on a candle file played as ticks (see adapters/replay.py for the path)."""
    from adapters.paper import PaperBroker
    from adapters.replay import candle_replay
    from cockpit.app import CockpitApp
    from cockpit.session import Session

    feed = candle_replay(path, symbol, speed, paused=paused)
    session = Session(settings, feed, PaperBroker(settings.paper), [symbol])
    speed_text = "max" if speed is None else f"{speed:g}x"
    session.event("info", f"replay of {path.name} as {symbol} at {speed_text}")
    return CockpitApp(session)


def live_settings(args: argparse.Namespace) -> Settings | None:
    """Settings for SHADOW on live data, or None when neither the command line (--feed,
    --symbol) nor the config ([feed]) asks for it. The database is the trader's real journal
    (--db, else config/env, else the default cockpit.db), never the demo's."""
    from cockpit.config import FeedConfig

    overrides: dict[str, object] = {"db_url": args.db} if args.db else {}
    settings = load_settings(args.config, **overrides)
    asked = args.feed or args.feed_symbol or args.venue
    if not (asked or "feed" in settings.model_fields_set or "drift" in settings.model_fields_set):
        return None
    feed = settings.feed.model_dump()
    if args.feed:
        feed["exchange"] = args.feed
    if args.feed_symbol:
        feed["symbol"] = args.feed_symbol
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
    with database_lock(settings.db_url):
        return _run(drift_app(settings))


def drift_keeper(router: Router, book: PositionBook, audit: Audit, broker: Broker) -> LiveVenue:
    """The keeper of a Drift broker: its stops, unconfirmed orders and reconcile."""
    from adapters.drift import DriftBroker
    from cockpit.live_venue import LiveVenue

    if not isinstance(broker, DriftBroker):
        raise TypeError(f"the Drift keeper needs a DriftBroker, not {type(broker).__name__}")
    return LiveVenue(router, book, audit, broker)


def drift_app(settings: Settings) -> CockpitApp:
    """The cockpit on Drift: ticks are the oracle price (what Drift triggers stops on), SHADOW
    fills on paper at it, LIVE-SMALL sends real orders with on-chain stops. The wallet is loaded
    and checked here, before any screen; the RPC is first used when the session starts (the
    dashboard is up by then, and a dead RPC shows in the feed status instead of a crash). Bars
    for the ATR come from the `[feed]` exchange's REST history of `drift.candle_symbols`."""
    from adapters.ccxt_candles import CcxtCandles
    from adapters.drift import DriftBroker, DriftOracleFeed
    from adapters.drift.wallet import load_wallet
    from adapters.paper import PaperBroker
    from cockpit.app import CockpitApp
    from cockpit.session import Session, wall_clock_ms

    cfg = settings.drift
    wallet = load_wallet(path=cfg.keypair_path, env_var=cfg.keypair_env)
    broker = DriftBroker.unconnected(cfg, wallet)
    feed = DriftOracleFeed(
        broker.client,
        cfg,
        candle_source=CcxtCandles(settings.feed),
        rpc=broker.rpc,
        loader=broker.loader_watch,
    )
    paper = PaperBroker(
        settings.paper, max_price_age_ms=int(cfg.stale_after_s * 1000), clock=wall_clock_ms
    )
    session = Session(
        settings,
        feed,
        paper,
        list(cfg.markets),
        live_broker=broker,
        keeper=drift_keeper,
        wallet=wallet.short,
    )
    session.event(
        "info",
        f"Drift {cfg.env} as {wallet.short}: SHADOW fills on paper at the oracle price; "
        "m + typed LIVE for real orders under the LIVE-SMALL limits",
    )
    return CockpitApp(session)


def run_live(settings: Settings) -> int:
    _setup_logging()
    with database_lock(settings.db_url):
        return _run(live_app(settings))


def live_app(settings: Settings) -> CockpitApp:
    """SHADOW on live mainnet data: the ccxt.pro feed, paper fills, every candle recorded."""
    from adapters.ccxt_feed import CcxtFeed
    from adapters.paper import PaperBroker
    from cockpit.app import CockpitApp
    from cockpit.session import Session, wall_clock_ms

    cfg = settings.feed
    feed = CcxtFeed(cfg)
    broker = PaperBroker(
        settings.paper,
        max_price_age_ms=int(cfg.stale_after_s * 1000),
        clock=wall_clock_ms,
    )
    session = Session(settings, feed, broker, [cfg.symbol])
    session.event(
        "info",
        f"SHADOW on {cfg.exchange} {cfg.symbol}: paper fills on live prices "
        f"(exits act on the {feed.trigger} price)",
    )
    return CockpitApp(session)


def _journal_settings(args: argparse.Namespace) -> Settings:
    """`report` and `import` work on the trader's real journal: --db, else config/env, else the
    default cockpit.db (never the demo or replay files, whose fills are simulated)."""
    overrides: dict[str, object] = {"db_url": args.db} if args.db else {}
    return load_settings(args.config, **overrides)


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run_report(args: argparse.Namespace) -> int:
    """Compute the analytics from the journal and write them as Markdown; print where."""
    from cockpit.analytics.present import gate_line

    settings = _journal_settings(args)
    out: Path = args.out
    snapshot = asyncio.run(_write_report(settings, out))
    print(f"wrote {out.resolve()} ({snapshot.trades} closed trades, {_shown_url(settings.db_url)})")
    for gate in snapshot.gates:
        state, label, summary = gate_line(gate)
        print(f"  {state}  {label:<18} {summary}")
    return 0


async def _write_report(settings: Settings, out: Path) -> AnalyticsSnapshot:
    from cockpit.analytics.report import render_markdown
    from state.journal import analytics_snapshot
    from state.store import Store

    store = await Store.open(settings.db_url)
    try:
        snapshot = await analytics_snapshot(store, settings)
    finally:
        await store.close()
    text = render_markdown(
        snapshot, source=_shown_url(settings.db_url), generated_ms=int(time.time() * 1000)
    )
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    return snapshot


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
    with database_lock(settings.db_url):
        result = asyncio.run(_import(settings, journal))
    skipped = f"; {result.skipped} already there, skipped" if result.skipped else ""
    print(
        f"imported {result.imported} trades from {path} into {_shown_url(settings.db_url)}{skipped}"
    )
    return 0


async def _import(settings: Settings, journal: TradesFile) -> ImportResult:
    from state.journal import import_trades
    from state.store import Store

    store = await Store.open(settings.db_url)
    try:
        return await import_trades(store, journal, now_ms=int(time.time() * 1000))
    finally:
        await store.close()


def _run(app: CockpitApp) -> int:
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())

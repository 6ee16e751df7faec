"""Command line: `cockpit demo`, `cockpit replay FILE --speed N`.

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

from cockpit.config import APP_NAME, Settings, default_data_dir, load_settings

if TYPE_CHECKING:
    from cockpit.app import CockpitApp

DEMO_DB_FILE = "demo.db"
REPLAY_DB_FILE = "replay.db"


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
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "demo":
            return run_demo(args)
        if args.command == "replay":
            return run_replay(args)
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command}")
    return 2


def run_demo(args: argparse.Namespace) -> int:
    settings = _settings(args, DEMO_DB_FILE)
    _setup_logging()
    return _run(demo_app(settings, seed=args.seed, speed=args.speed))


def demo_app(
    settings: Settings, *, seed: int | None, speed: float | None, paused: bool = False
) -> CockpitApp:
    """The cockpit on the simulated market, resuming from the last price the demo saw."""
    from adapters.paper import PaperBroker
    from adapters.replay import simulated_market
    from cockpit.app import CockpitApp
    from cockpit.session import Session, last_price

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


def _run(app: CockpitApp) -> int:
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())

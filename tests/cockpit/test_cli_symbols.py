"""Several symbols from the command line and the config (issue 16 item 5): `--symbol` repeated,
`[feed] symbols`, the old single `symbol` still read; a bad list (a duplicate, a market the
exchange or the demo does not have) is one clear line and exit status 2, before any screen."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.cli import build_parser, live_settings, main
from cockpit.config import load_settings
from cockpit.feeds import check_live_markets
from tests.fakes.binance_usdm import FakeBinanceUSDM

pytestmark = pytest.mark.usefixtures("guard")

SOL, BTC, ETH = "SOL/USDT:USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"


@pytest.fixture
def exchange() -> Iterator[FakeBinanceUSDM]:
    """The fake exchange on its own thread and loop: `main()` runs its own asyncio.run."""
    fake = FakeBinanceUSDM(("SOLUSDT", "BTCUSDT"))
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(60)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)
        loop.close()


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_symbol_repeated_on_the_command_line_gives_the_sessions_symbols(tmp_path: Path) -> None:
    config = config_file(tmp_path, f'[feed]\nsymbols = ["{ETH}"]\n')
    args = build_parser().parse_args(["--config", str(config), "--symbol", SOL, "--symbol", BTC])
    settings = live_settings(args)
    assert settings is not None
    assert settings.feed.symbol_list == [SOL, BTC]  # the command line replaces the config's


def test_the_config_lists_symbols_and_the_old_single_symbol_still_works(tmp_path: Path) -> None:
    listed = load_settings(config_file(tmp_path, f'[feed]\nsymbols = ["{SOL}", "{ETH}"]\n'))
    assert listed.feed.symbol_list == [SOL, ETH]
    single = load_settings(config_file(tmp_path, f'[feed]\nsymbol = "{BTC}"\n'))
    assert single.feed.symbol_list == [BTC]


@pytest.mark.parametrize(
    ("argv", "config", "message"),
    [
        (["--symbol", SOL, "--symbol", SOL], "", f"--symbol: {SOL} is named twice"),
        ([], f'[feed]\nsymbols = ["{BTC}", "{BTC}"]\n', f"feed.symbols: {BTC} is named twice"),
        ([], '[feed]\nsymbols = ["SOLUSDT"]\n', "ccxt perp symbol like SOL/USDT:USDT"),
        (["--symbol", SOL, "--symbol", "BTCUSDT"], "", "ccxt perp symbol like SOL/USDT:USDT"),
        (["demo", "--symbol", "SOL-PERP", "--symbol", "SOL-PERP"], "", "SOL-PERP is named twice"),
        (["demo", "--symbol", "XRP-PERP"], "", "the demo does not simulate XRP-PERP"),
    ],
)
def test_a_bad_symbol_list_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    config: str,
    message: str,
) -> None:
    path = config_file(tmp_path, config)
    db = ["--db", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"]
    assert main(["--config", str(path), *db, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.usefixtures("headless_cli")
def test_a_market_the_exchange_does_not_list_is_exit_2_with_the_closest(
    tmp_path: Path, exchange: FakeBinanceUSDM, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked after the first frame ("checking markets ..."), before the feed or the journal:
    said on one line once the screen is closed, exit 2."""
    config = config_file(
        tmp_path,
        f'[feed]\norigin = "{exchange.origin}"\nsymbols = ["{SOL}", "BTC/USDT:USDC"]\n',
    )
    db = ["--db", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"]
    assert main(["--config", str(config), *db]) == 2
    err = capsys.readouterr().err
    assert "binanceusdm has no market BTC/USDT:USDC (closest: BTC/USDT:USDT" in err
    assert err.startswith("cockpit could not start: ") and err.count("\n") == 1
    assert not (tmp_path / "c.db").exists()  # refused before the journal was opened


def test_listed_markets_pass_and_an_unreachable_exchange_is_only_a_note(
    tmp_path: Path, exchange: FakeBinanceUSDM
) -> None:
    good = load_settings(
        config_file(
            tmp_path, f'[feed]\norigin = "{exchange.origin}"\nsymbols = ["{SOL}", "{BTC}"]\n'
        )
    )
    assert check_live_markets(good.feed) is None
    offline = good.feed.model_copy(update={"origin": "http://127.0.0.1:9", "request_timeout_s": 2})
    note = check_live_markets(offline)
    assert note is not None and note.startswith("markets not checked (")

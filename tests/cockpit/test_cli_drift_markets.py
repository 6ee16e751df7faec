"""`drift.markets` checked against driftpy's market table at start, and the ATR candles of a
Drift market fetched under its ccxt symbol (issue 13, item 4), through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solders.keypair import Keypair

from cockpit.cli import build_parser, drift_app, live_settings, main
from tests.adapters.live_feed_harness import running
from tests.fakes.binance_usdm import FakeBinanceUSDM
from tests.fakes.drift_harness import CLOSED_RPC

pytestmark = pytest.mark.usefixtures("guard")


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COCKPIT_DRIFT_KEYPAIR", raising=False)


def write_config(tmp_path: Path, drift: str, extra: str = "") -> Path:
    key = tmp_path / "id.json"
    key.write_text(json.dumps(list(bytes(Keypair()))))
    key.chmod(0o600)
    path = tmp_path / "c.toml"
    path.write_text(
        f'db_url = "sqlite+aiosqlite:///{tmp_path / "j.db"}"\n{extra}'
        f'[drift]\nrpc_url = "{CLOSED_RPC}"\nkeypair_path = "{key}"\n{drift}'
    )
    return path


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], drift: str) -> str:
    assert main(["--config", str(write_config(tmp_path, drift))]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert not (tmp_path / "j.db").exists(), "refused before the journal was opened"
    return captured.err


def test_a_wrong_index_is_refused_with_the_right_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(tmp_path, capsys, 'markets = { "ETH-PERP" = 1 }\n')
    assert "ETH-PERP is perp market 2 on mainnet, not 1 (1 is BTC-PERP)" in err
    assert '"ETH-PERP" = 2' in err


def test_devnet_indexes_are_devnet_s_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # W-PERP is market 27 on mainnet and 23 on devnet (driftpy's constants)
    err = refused(tmp_path, capsys, 'env = "devnet"\nmarkets = { "W-PERP" = 27 }\n')
    assert "W-PERP is perp market 23 on devnet, not 27" in err
    settings = live_settings(
        build_parser().parse_args(
            [
                "--config",
                str(write_config(tmp_path, 'env = "devnet"\nmarkets = { "W-PERP" = 23 }\n')),
            ]
        )
    )
    assert settings is not None
    assert drift_app(settings).session.symbols == ["W-PERP"]


def test_an_unknown_market_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(tmp_path, capsys, 'markets = { "SOL-PERP" = 0, "FOO-PERP" = 5 }\n')
    assert "FOO-PERP is not a Drift mainnet perp market" in err
    err = refused(tmp_path, capsys, 'markets = { "eth-perp" = 2 }\n')
    assert "did you mean ETH-PERP?" in err


async def test_atr_candles_are_asked_under_the_ccxt_symbol(tmp_path: Path) -> None:
    """ETH-PERP's bars come from ETH/USDT:USDT (the default table), APT-PERP's from the config's
    entry, and a market with no entry asks for nothing rather than for "XYZ-PERP"."""
    async with running(
        FakeBinanceUSDM(("ETHUSDT", "APTUSDT", "SOLUSDT"), history_minutes=15 * 30)
    ) as fake:
        feed = f'[feed]\nexchange = "binanceusdm"\norigin = "{fake.origin}"\n'
        config = write_config(
            tmp_path,
            'markets = { "ETH-PERP" = 2, "APT-PERP" = 3, "SOL-PERP" = 0 }\n'
            'candle_symbols = { "APT-PERP" = "APT/USDT:USDT", "SOL-PERP" = "" }\n',
            feed,
        )
        settings = live_settings(build_parser().parse_args(["--config", str(config)]))
        assert settings is not None
        app = drift_app(settings)
        source = app.session.feed
        try:
            eth = await source.candles("ETH-PERP", "15m", None, 20)
            apt = await source.candles("APT-PERP", "15m", None, 20)
            sol = await source.candles("SOL-PERP", "15m", None, 20)
        finally:
            await source.close()
    assert len(eth) == 20 and {b.symbol for b in eth} == {"ETH-PERP"}
    assert len(apt) == 20 and {b.symbol for b in apt} == {"APT-PERP"}
    assert sol == []
    klines = [r for r in fake.rest_requests if r.startswith("GET /fapi/v1/klines")]
    assert any("symbol=ETHUSDT" in r for r in klines)
    assert any("symbol=APTUSDT" in r for r in klines)
    assert not any("SOLUSDT" in r or "PERP" in r for r in klines)
    warnings = [e.text for e in app.session.latest.events if "no candles" in e.text]
    assert len(warnings) == 1 and "SOL-PERP" in warnings[0]

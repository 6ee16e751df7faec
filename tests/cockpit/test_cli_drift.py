"""`cockpit --venue drift` (or a [drift] section): the wallet is checked before any screen, bad
input is one line and exit status 2 with the key never echoed, and the app is built on the
Drift oracle feed, the Drift broker and the paper broker without touching the network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solders.keypair import Keypair

from adapters.drift import DriftBroker, DriftOracleFeed
from adapters.paper import PaperBroker
from cockpit.cli import build_parser, drift_app, live_settings, main, on_drift
from tests.fakes.drift_harness import CLOSED_RPC
from tests.waiting import pilot_until


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COCKPIT_DRIFT_KEYPAIR", raising=False)


def key_file(tmp_path: Path, mode: int = 0o600) -> tuple[Path, Keypair]:
    keypair = Keypair()
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(bytes(keypair))))
    path.chmod(mode)
    return path, keypair


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(body)
    return path


def test_no_wallet_is_refused_before_any_screen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(tmp_path, f'[drift]\nrpc_url = "{CLOSED_RPC}"\n')
    assert main(["--config", str(cfg), "--db", f"sqlite:///{tmp_path / 'j.db'}"]) == 2
    err = capsys.readouterr().err
    assert "no wallet: drift.keypair_path is not set" in err and "COCKPIT_DRIFT_KEYPAIR" in err


def test_a_key_file_others_can_read_is_refused_and_never_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, keypair = key_file(tmp_path, 0o644)
    cfg = config(tmp_path, f'[drift]\nrpc_url = "{CLOSED_RPC}"\nkeypair_path = "{path}"\n')
    assert main(["--config", str(cfg), "--venue", "drift"]) == 2
    err = capsys.readouterr().err
    assert "chmod 600" in err
    assert str(keypair) not in err and path.read_text() not in err


def test_venue_takes_no_feed_and_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--venue", "drift", "--feed", "binanceusdm"])
    assert "takes no --feed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--venue", "drift", "demo"])
    assert "without a COMMAND" in capsys.readouterr().err


def test_a_drift_section_chooses_drift_unless_a_feed_is_asked_for(tmp_path: Path) -> None:
    cfg = config(tmp_path, f'[drift]\nrpc_url = "{CLOSED_RPC}"\n')
    args = build_parser().parse_args(["--config", str(cfg)])
    settings = live_settings(args)
    assert settings is not None and on_drift(args, settings)
    args = build_parser().parse_args(["--config", str(cfg), "--feed", "bybit"])
    settings = live_settings(args)
    assert settings is not None and not on_drift(args, settings)


async def test_the_app_is_built_on_drift_without_the_network(tmp_path: Path) -> None:
    path, keypair = key_file(tmp_path)
    cfg = config(
        tmp_path,
        f'db_url = "sqlite+aiosqlite:///{tmp_path / "j.db"}"\n'
        f'[drift]\nrpc_url = "{CLOSED_RPC}"\nkeypair_path = "{path}"\n',
    )
    args = build_parser().parse_args(["--config", str(cfg)])
    settings = live_settings(args)
    assert settings is not None
    app = drift_app(settings)
    session = app.session
    assert isinstance(session.feed, DriftOracleFeed)
    assert isinstance(session.live_broker, DriftBroker)
    assert isinstance(session.broker, PaperBroker)
    assert session.symbols == ["SOL-PERP"]
    assert session.wallet == f"{str(keypair.pubkey())[:4]}…{str(keypair.pubkey())[-4:]}"
    assert "not reconciled" in (session.live_precondition() or "")
    await session.feed.close()


async def test_a_dead_rpc_at_start_shows_and_the_cockpit_runs_on(tmp_path: Path) -> None:
    path, _ = key_file(tmp_path)
    cfg = config(
        tmp_path,
        f'db_url = "sqlite+aiosqlite:///{tmp_path / "j.db"}"\n'
        f'[drift]\nrpc_url = "{CLOSED_RPC}"\nkeypair_path = "{path}"\n'
        "backoff_initial_s = 0.05\nbackoff_max_s = 0.1\n",
    )
    settings = live_settings(build_parser().parse_args(["--config", str(cfg)]))
    assert settings is not None
    app = drift_app(settings)
    async with app.run_test() as pilot:
        # the session (driftpy's client) is built behind the first frame, in a worker thread
        await pilot_until(pilot, lambda: app.starter.started, what="the session started")
        first = app.session.live_precondition() or ""
        assert "not reconciled yet" in first or "could not be reconciled" in first
        for _ in range(1200):  # driftpy's subscriber waits a few seconds before it gives up
            await pilot.pause(0.05)
            if any("could not be reconciled" in e.text for e in app.session.latest.events):
                break
        assert "could not be reconciled" in (app.session.live_precondition() or "")
        await pilot.press("m")
        await pilot_until(
            pilot,
            lambda: any("LIVE-SMALL refused" in e.text for e in app.session.latest.events),
            what="the refusal",
        )
        assert app.session.latest.mode.value == "shadow"
        assert app.session.feed_status.state.value in ("reconnecting", "down")
        assert app.is_running

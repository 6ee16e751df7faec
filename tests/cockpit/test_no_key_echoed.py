"""A secret key pasted into the wrong setting is refused, named, and never echoed (issue 13, 8).

Each case runs the real `cockpit` command in a subprocess with its own HOME and XDG dirs, so the
log file and any database it writes land under tmp_path; stdout, stderr and every file written
are then searched for any 8-byte run of the key (tests/cockpit/key_leaks.py).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from solders.keypair import Keypair

from tests.cockpit.key_leaks import leaks_in, leaks_in_files
from tests.fakes.drift_harness import CLOSED_RPC
from tests.waiting import pilot_until

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str
    home: Path


def run_cockpit(tmp_path: Path, args: list[str], env: dict[str, str]) -> Run:
    """`python -m cockpit.cli ARGS` with a clean COCKPIT_* environment and HOME under tmp."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("COCKPIT")}
    base.update(
        HOME=str(home),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
    )
    base.update(env)
    db = f"sqlite+aiosqlite:///{home / 'journal.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "cockpit.cli", "--db", db, *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    return Run(result.returncode, result.stdout, result.stderr, home)


def assert_refused_without_leak(run: Run, keypair: Keypair, setting: str, belongs: str) -> None:
    assert run.code == 2, run.err[-2000:]
    assert not leaks_in(run.out.encode(), keypair), "stdout holds part of the key"
    assert not leaks_in(run.err.encode(), keypair), "stderr holds part of the key"
    assert not leaks_in_files(run.home, keypair, skip=set()), "a file holds part of the key"
    err = run.err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"cockpit: {setting} ")
    assert "secret key" in err and f"where {belongs} belongs" in err and "not shown" in err


KEY = Keypair.from_seed(bytes(range(1, 33)))  # fixed: the same test ids in every worker
ARRAY = json.dumps(list(bytes(KEY)), separators=(",", ":"))
B58 = str(KEY)

ENV_CASES = {
    "array in COCKPIT_DRIFT__KEYPAIR_PATH": (
        "COCKPIT_DRIFT__KEYPAIR_PATH",
        ARRAY,
        "drift.keypair_path",
        "the path of a keypair file",
    ),
    "base58 in COCKPIT_DRIFT__KEYPAIR_PATH": (
        "COCKPIT_DRIFT__KEYPAIR_PATH",
        B58,
        "drift.keypair_path",
        "the path of a keypair file",
    ),
    "base58 in COCKPIT_DRIFT__KEYPAIR_ENV": (
        "COCKPIT_DRIFT__KEYPAIR_ENV",
        B58,
        "drift.keypair_env",
        "the name of an environment variable",
    ),
    "base58 in COCKPIT_DRIFT__RPC_URL": ("COCKPIT_DRIFT__RPC_URL", B58, "drift.rpc_url", "a URL"),
    "array with spaces in COCKPIT_DRIFT__RPC_URL": (
        "COCKPIT_DRIFT__RPC_URL",
        json.dumps(list(bytes(KEY))),
        "drift.rpc_url",
        "a URL",
    ),
    "a JSON keypair in COCKPIT_DRIFT": (
        "COCKPIT_DRIFT",
        json.dumps({"keypair_path": {"secretKey": list(bytes(KEY))}}),
        "drift",
        "a setting value",
    ),
    "base58 in COCKPIT_DB_URL": ("COCKPIT_DB_URL", B58, "db_url", "a database URL"),
}


@pytest.mark.parametrize("case", list(ENV_CASES))
def test_a_key_in_an_environment_setting_is_refused_unseen(tmp_path: Path, case: str) -> None:
    name, value, setting, belongs = ENV_CASES[case]
    env = {name: value, "COCKPIT_DRIFT__RPC_URL": CLOSED_RPC} | {name: value}
    run = run_cockpit(tmp_path, ["--venue", "drift"], env)
    assert_refused_without_leak(run, KEY, setting, belongs)
    assert f"environment variable {name}" in run.err


TOML_CASES = {
    "array as keypair_path": (
        f'[drift]\nrpc_url = "{CLOSED_RPC}"\nkeypair_path = {ARRAY}\n',
        "drift.keypair_path",
        "the path of a keypair file",
    ),
    "array text as keypair_path": (
        f"[drift]\nkeypair_path = '{ARRAY}'\n",
        "drift.keypair_path",
        "the path of a keypair file",
    ),
    "base58 as rpc_url": (f'[drift]\nrpc_url = "{B58}"\n', "drift.rpc_url", "a URL"),
    "unquoted base58 as keypair_path (not TOML)": (
        f"[drift]\nkeypair_path = {B58}\n",
        "drift.keypair_path",
        "the path of a keypair file",
    ),
    "array under an unknown name": (
        f"keypair = {ARRAY}\n[drift]\n",
        "keypair",
        "a setting value",
    ),
    "base58 as a market name": (
        f'[drift]\nmarkets = {{ "{B58}" = 0 }}\n',
        "drift.markets",
        "a setting value",
    ),
}


@pytest.mark.parametrize("case", list(TOML_CASES))
def test_a_key_pasted_into_the_toml_is_refused_unseen(tmp_path: Path, case: str) -> None:
    body, setting, belongs = TOML_CASES[case]
    config = tmp_path / "cockpit.toml"
    config.write_text(body)
    run = run_cockpit(tmp_path, ["--config", str(config)], {})
    assert_refused_without_leak(run, KEY, setting, belongs)
    assert f"config file {config}" in run.err


@pytest.mark.parametrize(
    "args",
    [["--feed", B58], ["--symbol", ARRAY], ["--venue", B58], ["replay", B58]],
    ids=["feed", "symbol", "venue", "replay file"],
)
def test_a_key_on_the_command_line_is_refused_unseen(tmp_path: Path, args: list[str]) -> None:
    run = run_cockpit(tmp_path, args, {})
    assert run.code == 2
    assert not leaks_in(run.out.encode() + run.err.encode(), KEY)
    assert not leaks_in_files(run.home, KEY, skip=set())
    assert "looks like a secret key" in run.err and "shell history" in run.err


def test_a_keypair_file_given_as_the_config_is_refused_unseen(tmp_path: Path) -> None:
    key_file = tmp_path / "id.json"
    key_file.write_text(ARRAY)
    run = run_cockpit(tmp_path, ["--config", str(key_file), "--venue", "drift"], {})
    assert run.code == 2
    assert not leaks_in(run.out.encode() + run.err.encode(), KEY)
    assert not leaks_in_files(run.home, KEY, skip=set())
    assert f"config file {key_file} looks like a keypair file" in run.err


async def test_a_key_in_its_place_never_reaches_the_log_the_screen_or_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wallet loaded from COCKPIT_DRIFT_KEYPAIR as meant, the cockpit started on a dead RPC
    (errors logged, events written) and LIVE asked for (refused, an alert row written): the
    log (at DEBUG, SQL included), the screen and the SQLite file hold no run of the key."""
    from cockpit.cli import build_parser, drift_app, live_settings

    monkeypatch.setenv("COCKPIT_DRIFT_KEYPAIR", B58)
    db = tmp_path / "journal.db"
    config = tmp_path / "c.toml"
    config.write_text(
        f'db_url = "sqlite+aiosqlite:///{db}"\n[drift]\nrpc_url = "{CLOSED_RPC}"\n'
        "backoff_initial_s = 0.05\nbackoff_max_s = 0.1\n"
    )
    log_file = tmp_path / "cockpit.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    screens: list[str] = []
    try:
        settings = live_settings(build_parser().parse_args(["--config", str(config)]))
        assert settings is not None
        app = drift_app(settings)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot_until(pilot, lambda: app.starter.started, what="the session started")
            for _ in range(1200):  # driftpy's subscriber waits a few seconds before it gives up
                await pilot.pause(0.05)
                if any("could not be reconciled" in e.text for e in app.session.latest.events):
                    break
            screens.append(app.export_screenshot())
            said = [e.text for e in app.session.latest.events]
            await pilot.press("m")
            await pilot.pause(0.2)
            screens.append(app.export_screenshot())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert db.exists() and log_file.stat().st_size > 0
    assert "could not be reconciled" in log_file.read_text(), "the RPC errors were logged"
    pub = str(KEY.pubkey())
    # the wallet is named by its address (the event log's first lines; later RPC errors may
    # scroll them out of the panel)
    assert any(f"{pub[:4]}…{pub[-4:]}" in line for line in said), "the wallet is shown"
    for screen in screens:
        assert not leaks_in(screen.encode(), KEY), "the screen shows part of the key"
    assert not leaks_in(log_file.read_bytes(), KEY), "the log holds part of the key"
    assert not leaks_in_files(tmp_path, KEY, skip={config}), "a file holds part of the key"

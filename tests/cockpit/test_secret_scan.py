"""What the settings scan takes for a key, and what it must leave alone (cockpit/secret_scan.py).

A false alarm would refuse a good config at start, so real-looking values that are not keys
(RPC URLs with API keys, paths, a public address, UUIDs) are checked as well as keys."""

from __future__ import annotations

import json

import pytest
from solders.keypair import Keypair

from cockpit.secret_scan import KeyInSettingError, looks_like_key, refuse_keys, refuse_keys_in_env

KEY = Keypair.from_seed(bytes(range(32)))  # fixed: parallel workers must collect the same ids
RAW = list(bytes(KEY))


@pytest.mark.parametrize(
    "value",
    [
        RAW,
        json.dumps(RAW),
        json.dumps(RAW, separators=(",", ":")),
        " ".join(map(str, RAW)),
        json.dumps(RAW[:40])[:-1],  # pasted cut short, no closing bracket
        str(KEY),
        f"  {KEY}\n",
        f"https://rpc.example/{KEY}",
        json.dumps({"secretKey": RAW}),
        {"nested": {"deeper": [str(KEY)]}},
        bytes(KEY),
    ],
    ids=[
        "list",
        "json",
        "json tight",
        "spaces",
        "cut short",
        "base58",
        "base58 padded",
        "base58 in a url",
        "json keypair",
        "nested",
        "raw bytes",
    ],
)
def test_key_material_is_recognised(value: object) -> None:
    assert looks_like_key(value)


@pytest.mark.parametrize(
    "value",
    [
        "https://api.mainnet-beta.solana.com",
        "https://mainnet.helius-rpc.com/?api-key=1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718",
        "https://example.solana-mainnet.quiknode.pro/0a1b2c3d4e5f60718293a4b5c6d7e8f9/",
        "~/.config/solana/id.json",
        "/home/trader/keys/2025-11-01/id.json",
        "sqlite+aiosqlite:////home/trader/.local/share/cockpit/cockpit.db",
        str(KEY.pubkey()),  # an address is public
        "COCKPIT_DRIFT_KEYPAIR",
        {"SOL-PERP": 0, "BTC-PERP": 1, "ETH-PERP": 2},
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "1, 5, 15, 60, 240",
        [{"name": "high", "min_score": 80, "tp1_atr": 2.0}],
    ],
)
def test_ordinary_settings_are_left_alone(value: object) -> None:
    assert not looks_like_key(value)


def test_the_error_names_the_setting_and_its_source_never_the_value() -> None:
    with pytest.raises(KeyInSettingError) as err:
        refuse_keys({"drift": {"rpc_url": str(KEY), "markets": {"SOL-PERP": 0}}}, "config file x")
    message = str(err.value)
    assert message.startswith("drift.rpc_url (from config file x) holds what looks like a secret")
    assert "where a URL belongs" in message and str(KEY)[:8] not in message


def test_the_rightful_key_variable_is_not_a_setting() -> None:
    refuse_keys_in_env(["drift", "db_url"], environ={"COCKPIT_DRIFT_KEYPAIR": str(KEY)})
    with pytest.raises(KeyInSettingError, match="COCKPIT_DRIFT__KEYPAIR_ENV"):
        refuse_keys_in_env(["drift"], environ={"COCKPIT_DRIFT__KEYPAIR_ENV": str(KEY)})

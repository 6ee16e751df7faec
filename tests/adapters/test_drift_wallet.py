"""The Drift wallet: permission refusal, malformed keys refused without echo, no secret in reprs."""

from __future__ import annotations

import json
import logging
import os
import pickle
from pathlib import Path

import pytest
from solders.keypair import Keypair

from adapters.drift.wallet import Wallet, WalletError, load_wallet, wallet_from_file

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = B58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


@pytest.fixture
def keypair() -> Keypair:
    return Keypair()


def write_key(tmp_path: Path, keypair: Keypair, mode: int) -> Path:
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(bytes(keypair))))
    os.chmod(path, mode)
    return path


def secret_forms(keypair: Keypair) -> list[str]:
    raw = bytes(keypair)
    return [b58encode(raw), json.dumps(list(raw)), raw[:32].hex(), str(list(raw[:32]))[1:-1]]


def test_a_key_file_readable_by_others_is_refused_with_the_chmod_fix(
    tmp_path: Path, keypair: Keypair
) -> None:
    path = write_key(tmp_path, keypair, 0o644)
    with pytest.raises(WalletError) as err:
        wallet_from_file(path)
    assert "0644" in str(err.value)
    assert f"chmod 600 {path}" in str(err.value)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o602])
def test_any_group_or_other_bit_is_refused(tmp_path: Path, keypair: Keypair, mode: int) -> None:
    with pytest.raises(WalletError, match="chmod 600"):
        wallet_from_file(write_key(tmp_path, keypair, mode))


def test_a_0600_key_file_loads_and_shows_only_the_public_key(
    tmp_path: Path, keypair: Keypair
) -> None:
    wallet = load_wallet(path=write_key(tmp_path, keypair, 0o600))
    address = str(keypair.pubkey())
    assert wallet.public_key == address
    assert repr(wallet) == str(wallet) == f"Wallet({address[:4]}…{address[-4:]})"
    assert bytes(wallet.keypair()) == bytes(keypair)


def test_the_env_var_may_hold_the_json_array_or_base58(keypair: Keypair) -> None:
    raw = bytes(keypair)
    for value in (json.dumps(list(raw)), b58encode(raw)):
        wallet = load_wallet(env_var="MY_KEY", environ={"MY_KEY": value})
        assert wallet.public_key == str(keypair.pubkey())


def test_no_path_and_no_env_value_is_a_clear_refusal() -> None:
    with pytest.raises(WalletError, match="MY_KEY is empty or unset"):
        load_wallet(env_var="MY_KEY", environ={})


@pytest.mark.parametrize(
    "bad",
    [
        "[1, 2, 3]",
        "[" + ",".join(["300"] * 64) + "]",
        "not base58 0OIl",
        "[" + ",".join(["7"] * 64),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(WalletError) as err:
        load_wallet(env_var="K", environ={"K": bad})
    assert bad not in str(err.value)
    assert "300" not in str(err.value) and "0OIl" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__context__ is None


def test_a_keypair_whose_halves_do_not_match_is_refused_without_echo(keypair: Keypair) -> None:
    raw = bytes(keypair)
    forged = raw[:32] + bytes(Keypair().pubkey())
    text = json.dumps(list(forged))
    with pytest.raises(WalletError, match="does not match") as err:
        load_wallet(env_var="K", environ={"K": text})
    for form in secret_forms(keypair):
        assert form not in str(err.value)
    assert err.value.__context__ is None


def test_the_secret_is_in_no_repr_dict_or_pickle(
    keypair: Keypair, caplog: pytest.LogCaptureFixture
) -> None:
    wallet = load_wallet(env_var="K", environ={"K": b58encode(bytes(keypair))})
    assert not hasattr(wallet, "__dict__")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("wallet %s %r %s", wallet, wallet, [wallet])
    text = caplog.text + repr(wallet) + str(vars(type(wallet)))
    for form in secret_forms(keypair):
        assert form not in text
    with pytest.raises(TypeError):
        pickle.dumps(wallet)
    assert isinstance(wallet, Wallet)

"""The Drift wallet: a Solana CLI keypair loaded so that its secret cannot leak by accident.

The key signs real orders, so it must never reach a log line, a traceback, the SQLite file or
the screen (README "Modes and safety"). Hence:

- a key file readable or writable by group/others is refused (as ssh does), with the chmod fix;
- a malformed key is refused with a message that says what is wrong, never what was read, and
  the error is raised outside any ``except`` block so no parser exception carrying the text is
  chained to it;
- `Wallet` keeps the 64 bytes in a private slot (no ``__dict__``), shows only the shortened
  public key in ``repr``/``str``, refuses pickling and copying, and hands the secret out only as
  a solders ``Keypair`` for driftpy (whose own repr does print the secret: never log it).

solders is imported lazily: it comes with driftpy and the demo path never needs it.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from solders.keypair import Keypair

KEYPAIR_LEN = 64
MAX_KEY_FILE_BYTES = 4096
"""A Solana CLI keypair file is ~230 bytes; anything far bigger is not one (and is not read)."""

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


class WalletError(Exception):
    """The wallet could not be loaded; the message says why and never contains key material."""


class Wallet:
    """A loaded keypair. Only `public_key` is meant to be seen; the secret stays in a slot."""

    __slots__ = ("__secret", "_public_key")

    def __init__(self, keypair_bytes: bytes, public_key: str) -> None:
        self.__secret = bytes(keypair_bytes)
        self._public_key = public_key

    @property
    def public_key(self) -> str:
        """The wallet's address (base58), safe to show and store."""
        return self._public_key

    @property
    def short(self) -> str:
        """The address shortened for the header and the LIVE dialog: ``AbCd…WxYz``."""
        key = self._public_key
        return f"{key[:4]}…{key[-4:]}" if len(key) > 10 else key

    def keypair(self) -> Keypair:
        """The solders Keypair driftpy signs with. Its repr prints the secret: never log it."""
        from solders.keypair import Keypair

        return Keypair.from_bytes(self.__secret)

    def __repr__(self) -> str:
        return f"Wallet({self.short})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Wallet cannot be pickled or copied (it holds a secret key)")

    def __copy__(self) -> NoReturn:
        raise TypeError("a Wallet cannot be copied (it holds a secret key)")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("a Wallet cannot be copied (it holds a secret key)")


def load_wallet(
    *,
    path: str | Path | None = None,
    env_var: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Wallet:
    """Load the wallet from a keypair file (preferred) or, when no path is given, an env var.

    The env var may hold the Solana CLI JSON array or the base58 encoding of the 64 bytes.
    """
    if path is not None:
        return wallet_from_file(path)
    env = os.environ if environ is None else environ
    if env_var:
        value = env.get(env_var)
        if value:
            return wallet_from_text(value, where=f"environment variable {env_var}")
        raise WalletError(
            f"no wallet: drift.keypair_path is not set and environment variable {env_var} "
            "is empty or unset"
        )
    raise WalletError("no wallet: set drift.keypair_path or drift.keypair_env")


def wallet_from_file(path: str | Path) -> Wallet:
    """Read a Solana CLI keypair file, refusing one that group or others may read or write."""
    file = Path(path).expanduser()
    try:
        info = file.stat()
    except OSError as exc:
        raise WalletError(f"keypair file {file}: {exc.strerror or 'cannot be read'}") from None
    if not stat.S_ISREG(info.st_mode):
        raise WalletError(f"keypair file {file} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise WalletError(
            f"keypair file {file} is accessible by group or others (mode {mode:04o}); "
            f"the key would be readable by other users. Fix it with: chmod 600 {file}"
        )
    if info.st_size > MAX_KEY_FILE_BYTES:
        raise WalletError(f"keypair file {file} is too large to be a Solana keypair")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None:
        raise WalletError(f"keypair file {file} cannot be read as text")
    return wallet_from_text(text, where=f"keypair file {file}")


def wallet_from_text(text: str, *, where: str) -> Wallet:
    """A JSON array of 64 ints or a base58 string of 64 bytes; checked, never echoed."""
    stripped = text.strip()
    if stripped.startswith("["):
        raw = _json_bytes(stripped)
        problem = "is not a JSON array of 64 integers from 0 to 255"
    else:
        raw = _b58decode(stripped)
        problem = "is neither a JSON array of 64 integers nor a base58 keypair"
    if raw is None or len(raw) != KEYPAIR_LEN:
        _refuse(f"{where} {problem} (a Solana CLI keypair, as written by solana-keygen)")
    public_key = _public_key_of(raw)
    if public_key is None:
        _refuse(f"{where} is not a valid keypair: its public half does not match its secret half")
    return Wallet(raw, public_key)


def _refuse(message: str) -> NoReturn:
    """Raised here, outside any except block, so no parser error holding the text is chained."""
    raise WalletError(message)


def _json_bytes(text: str) -> bytes | None:
    try:
        values = json.loads(text)
    except ValueError:
        return None
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values
    ):
        return None
    return bytes(values)


def _b58decode(text: str) -> bytes | None:
    """Plain base58 (Bitcoin alphabet); None on any foreign character, nothing echoed."""
    if not text or len(text) > 128:
        return None
    number = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            return None
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading_zeros + body


def _public_key_of(raw: bytes) -> str | None:
    """The base58 address if the last 32 bytes are the public key of the first 32, else None."""
    from solders.keypair import Keypair

    try:
        derived = Keypair.from_seed(raw[:32]).pubkey()
    except ValueError:
        return None
    if bytes(derived) != raw[32:]:
        return None
    return str(derived)

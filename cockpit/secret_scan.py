"""Refuse a secret key that landed in the wrong setting, without ever echoing it.

A Solana key pasted into `drift.keypair_path`, `drift.keypair_env`, `drift.rpc_url` or any
other setting would otherwise come back in an error message ("keypair file [171, 0, ...]: No
such file or directory"), in pydantic's ``input_value=...``, in a log line or on the screen.
So every raw setting value (the TOML file, the COCKPIT_* environment, the command line) is
scanned *before* pydantic sees it, and a value that parses as a key is refused with a message
that names the setting and where it came from, never the value.

What counts as a key (README "Modes and safety"): a run of 32 or more numbers from 0 to 255
(the Solana CLI's JSON array, also when pasted cut short or as a TOML array), the base58
encoding of 64 bytes (what wallets export), or a JSON document holding either (a JSON keypair
such as ``{"secretKey": [...]}``). A run of 32 numbers is already refused because half a key
is still half a secret, and no setting holds a byte array.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

KEY_BYTES = 64
MIN_BYTE_RUN = 32
"""Numbers in a row (each 0..255) that make a value look like key material."""

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_B58_RUN = re.compile(r"[1-9A-HJ-NP-Za-km-z]{80,100}")
"""64 bytes are 86 to 88 base58 characters; a little slack either way costs nothing."""
_NUMBER_RUN = re.compile(rf"\d{{1,3}}(?:[,;\s]+\d{{1,3}}){{{MIN_BYTE_RUN - 1},}}")

_WHAT_BELONGS = {
    "drift.keypair_path": "the path of a keypair file",
    "drift.keypair_env": "the name of an environment variable",
    "drift.rpc_url": "a URL",
    "feed.origin": "a URL",
    "db_url": "a database URL",
}

_HINTS = {
    "drift.keypair_path": (
        "Save the key in a file only you can read (chmod 600) and set drift.keypair_path to that "
        "file's path, or put the key itself in the environment variable named by "
        "drift.keypair_env (default COCKPIT_DRIFT_KEYPAIR)."
    ),
    "drift.keypair_env": (
        "drift.keypair_env is the NAME of the variable that holds the key: put the key in "
        "COCKPIT_DRIFT_KEYPAIR (the default name) and leave drift.keypair_env unset."
    ),
}
_DEFAULT_HINT = (
    "A key belongs only in the keypair file (drift.keypair_path) or in the environment "
    "variable named by drift.keypair_env (default COCKPIT_DRIFT_KEYPAIR)."
)


class KeyInSettingError(ValueError):
    """A setting holds what looks like a secret key; the message names it, never shows it."""

    def __init__(self, setting: str, source: str) -> None:
        what = _WHAT_BELONGS.get(setting, "a setting value")
        hint = _HINTS.get(setting, _DEFAULT_HINT)
        super().__init__(
            f"{setting} (from {source}) holds what looks like a secret key where {what} "
            f"belongs; the value is not shown. {hint} If others may have seen it (shell "
            "history, a shared file), treat the key as exposed."
        )
        self.setting = setting
        self.source = source


class KeyInConfigFileError(ValueError):
    """--config names a keypair file (a classic slip: both are "the config")."""

    def __init__(self, source: str) -> None:
        super().__init__(
            f"{source} looks like a keypair file, not TOML settings; its content is not shown. "
            "Give it as drift.keypair_path in the settings file instead."
        )


def looks_like_key(value: object) -> bool:
    """Whether `value` (a str, a list, a dict, as read from TOML/env/JSON) holds key material."""
    if isinstance(value, Mapping):
        return any(looks_like_key(k) or looks_like_key(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        if _is_byte_run(value):
            return True
        return any(looks_like_key(item) for item in value)
    if isinstance(value, bytes | bytearray):
        return len(value) >= MIN_BYTE_RUN
    if isinstance(value, str):
        return _text_holds_key(value)
    return False


def _is_byte_run(values: list[Any] | tuple[Any, ...]) -> bool:
    return len(values) >= MIN_BYTE_RUN and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values
    )


def _text_holds_key(text: str) -> bool:
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if parsed is not None and looks_like_key(parsed):
            return True
    for match in _NUMBER_RUN.finditer(text):
        numbers = [int(n) for n in re.findall(r"\d+", match.group())]
        if sum(1 for n in numbers if n <= 255) >= MIN_BYTE_RUN:
            return True
    return any(_b58_len(m.group()) == KEY_BYTES for m in _B58_RUN.finditer(text))


def _b58_len(text: str) -> int:
    """How many bytes the base58 `text` decodes to (the bytes themselves are not kept)."""
    number = 0
    for char in text:
        number = number * 58 + _B58_INDEX[char]
    leading_zeros = len(text) - len(text.lstrip("1"))
    return leading_zeros + (number.bit_length() + 7) // 8


def _leaves(value: object, name: str) -> Iterator[tuple[str, object]]:
    """(dotted setting name, value) of every table entry; arrays are scanned whole."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{name}.{key}" if name else str(key)
            if looks_like_key(key):
                yield name or "a table name", key
            yield from _leaves(item, child)
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{name}[{index}]")
    else:
        yield name, value


def refuse_keys(values: Mapping[str, object], source: str) -> None:
    """Raise KeyInSettingError for the first setting in `values` that holds a key."""
    for setting, value in _leaves(values, ""):
        if looks_like_key(value):
            raise KeyInSettingError(setting, source)


def refuse_keys_in_env(
    fields: Iterable[str], prefix: str = "COCKPIT_", environ: Mapping[str, str] | None = None
) -> None:
    """Scan the environment variables that pydantic-settings would read as settings.

    Only names that map to a field (``COCKPIT_DRIFT__RPC_URL``, ``COCKPIT_DRIFT``) are
    settings; ``COCKPIT_DRIFT_KEYPAIR``, where the key rightly lives, is not one.
    """
    env = os.environ if environ is None else environ
    known = {f.lower() for f in fields}
    for name, value in env.items():
        if not name.upper().startswith(prefix):
            continue
        path = name[len(prefix) :].lower().split("__")
        if path[0] not in known:
            continue
        if looks_like_key(value):
            raise KeyInSettingError(".".join(path), f"environment variable {name}")


_TABLE = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
_ENTRY = re.compile(r"^\s*([A-Za-z0-9_.\"'-]+)\s*=")


def refuse_keys_in_toml_text(text: str, source: str) -> None:
    """For a config file that is not valid TOML: name the line's setting if it holds a key.

    (tomllib's error names only a line and column, so it never echoes; but "expected newline"
    would not tell the trader that the value they pasted was their key.)
    """
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = _TABLE.match(line)
        if header and "=" not in line.split("]")[0]:
            table = header.group(1).strip()
            continue
        if looks_like_key(line):
            entry = _ENTRY.match(line)
            name = entry.group(1).strip("\"'") if entry else f"line {number}"
            raise KeyInSettingError(f"{table}.{name}" if table and entry else name, source)
    if looks_like_key(text):  # a keypair file passed as --config
        raise KeyInConfigFileError(source)

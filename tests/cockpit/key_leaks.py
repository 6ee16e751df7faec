"""Find any 8-byte run of a secret key in text or files, in every form it could be printed in.

A key leaks as the Solana CLI's decimal array (``171,0,36`` or ``171, 0, 36``), as base58 (what
wallets export and what a solders Keypair's repr prints), as hex, as base64, or as raw bytes in
a binary file such as the SQLite database. An 8-byte run of the key in any of these is a leak.
"""

from __future__ import annotations

import base64
from pathlib import Path

from solders.keypair import Keypair

RUN = 8
B58_RUN = 11
"""Base58 characters carrying about 8 bytes (8 x log(256) / log(58) = 10.9)."""


def key_needles(keypair: Keypair) -> list[bytes]:
    """Every 8-byte window of the key in each printable form, as bytes to search for."""
    secret = bytes(keypair)
    needles: set[bytes] = set()
    for start in range(len(secret) - RUN + 1):
        window = secret[start : start + RUN]
        needles.add(window)
        needles.add(window.hex().encode())
        for sep in (",", ", ", " "):
            needles.add(sep.join(str(b) for b in window).encode())
    for text in (str(keypair), base64.b64encode(secret).decode()):
        for start in range(len(text) - B58_RUN + 1):
            needles.add(text[start : start + B58_RUN].encode())
    return sorted(needles)


def leaks_in(blob: bytes, keypair: Keypair) -> list[str]:
    """The needles found in `blob` (described, not printed in full)."""
    return [f"{needle[:3]!r}…" for needle in key_needles(keypair) if needle in blob]


def leaks_in_files(root: Path, keypair: Keypair, *, skip: set[Path]) -> dict[str, list[str]]:
    """Files under `root` (logs, databases, anything written) holding a run of the key."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path not in skip:
            hits = leaks_in(path.read_bytes(), keypair)
            if hits:
                found[str(path.relative_to(root))] = hits
    return found

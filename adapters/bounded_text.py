"""Reading a trader's text file line by line with bounded memory, gzip or not.

Candle files and journals come from anywhere: a download cut short, the wrong file picked, a
gzip bomb. Reading the whole file (and gunzipping it) before looking at it let a 4 MB gzip of a
1 GB NUL stream take 13.6 GB of memory and a 132 MB junk file take 740 MB, only to be refused at
line 2. Here the file is streamed: a line longer than the cap, or more text than the size cap,
stops the reading at once with the line it happened on, so memory stays bounded by one line
plus what the caller keeps of the rows it accepted.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"


class TextLimitError(ValueError):
    """The file broke a limit or is not readable text; `line` is where (None: the whole file)."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(reason if line is None else f"line {line}: {reason}")


class _Hashing(io.RawIOBase):
    """A raw byte stream that hashes what is read through it (the file's SHA-256 for audit)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        self.sha256.update(data)
        buffer[: len(data)] = data
        return len(data)


class BoundedLines:
    """Iterate `(line_number, line)` over a text file, gunzipped when it starts with the gzip
    magic (whatever its suffix), refusing a line over `max_line_chars` or text over
    `max_chars` in all. `sha256` is the digest of the file's bytes once fully read."""

    def __init__(self, path: Path, *, max_line_chars: int, max_chars: int) -> None:
        self.path = path
        self.max_line_chars = max_line_chars
        self.max_chars = max_chars
        self._hashing: _Hashing | None = None

    @property
    def sha256(self) -> str:
        assert self._hashing is not None, "read the file first"
        return self._hashing.sha256.hexdigest()

    def lines(self) -> Iterator[str]:
        """The lines alone (for `csv.reader`, which counts them itself)."""
        for _, line in self:
            yield line

    def __iter__(self) -> Iterator[tuple[int, str]]:
        with self.path.open("rb") as raw:
            self._hashing = _Hashing(raw)
            buffered = io.BufferedReader(self._hashing)
            gzipped = buffered.peek(2)[:2] == GZIP_MAGIC
            binary: BinaryIO = gzip.GzipFile(fileobj=buffered) if gzipped else buffered  # type: ignore[assignment]
            text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
            total = 0
            number = 0
            while True:
                number += 1
                line = _read_line(text, self.max_line_chars + 1, number)
                if not line:
                    return
                if len(line) > self.max_line_chars:
                    raise TextLimitError(
                        number,
                        f"line longer than {self.max_line_chars:,} characters: not a text file "
                        "of this kind (binary data, or one huge line)",
                    )
                total += len(line)
                if total > self.max_chars:
                    raise TextLimitError(
                        number,
                        f"more than {self.max_chars:,} characters of text: larger than any file "
                        "of this kind should be (split it, or check it is the right file)",
                    )
                yield number, line


def _read_line(text: io.TextIOWrapper, limit: int, number: int) -> str:
    try:
        return text.readline(limit)
    except UnicodeDecodeError as exc:
        raise TextLimitError(number, f"not UTF-8 text: {exc}") from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise TextLimitError(number, f"broken gzip data: {exc}") from None

"""Reading the files a user hands a command: never without end, never a traceback.

A file name can be anything: a device that never ends (/dev/zero), a FIFO nobody writes to, a
name too long for the file system, bytes that are not UTF-8. Every reader of user files goes
through here, so that each of these ends in one ValueError naming the file (and the line):

* `regular_file`: binary formats (nets, checkpoints, shards) are read from regular files only,
  whose size is known before a byte is read;
* `read_bytes`: a whole regular file, refused unread when it is larger than its format allows;
* `npz_file`: a regular file that is an ``.npz`` archive (shards), checked before numpy reads;
* `text_lines`: a text file (FEN, EPD, openings; a pipe is fine) line by line, each decoded on
  its own and at most `MAX_LINE` bytes long, comment lines skipped whatever their bytes.

Used by ``minizero.checkpoint``, ``minizero.shards``, ``minizero.replay``,
``minizero.chessgame.openings``, ``nnue.quantize``, ``nnue.sf15.net``, ``nnue data --import``
and ``nnue eval``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

MAX_LINE = 4096  # bytes in one FEN/EPD line: a position with its operations fits many times


def shown(path: str | Path) -> str:
    """The path as a message shows it: a name of hundreds of characters is cut short."""
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-20:]}"


def regular_file(path: str | Path, what: str) -> Path:
    """``path`` if it is a regular file; else ValueError "PATH: why it is not a WHAT"."""
    path = Path(path)
    try:
        if path.is_file():
            return path
        exists = path.exists()
    except OSError as error:  # e.g. a name too long for the file system
        raise ValueError(f"{shown(path)}: {error.strerror}") from None
    if not exists:
        raise ValueError(f"{shown(path)}: no such file (expected a {what})")
    kind = "a directory" if path.is_dir() else "not a regular file (a device or a FIFO?)"
    raise ValueError(f"{shown(path)}: {kind}, not a {what}")


def read_bytes(path: str | Path, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (ValueError naming it if not)."""
    path = regular_file(path, what)
    try:
        size = path.stat().st_size
        if size > limit:
            raise ValueError(f"{shown(path)}: {size:,} bytes, more than a {what} can have "
                             f"({limit:,})")
        with path.open("rb") as handle:
            return handle.read(limit + 1)[:limit]
    except OSError as error:
        raise ValueError(f"{shown(path)}: cannot read ({error.strerror})") from None


def npz_file(path: str | Path, what: str) -> Path:
    """``path`` if it is a regular file that starts as an ``.npz`` (a zip) does; else ValueError
    naming it (numpy would call other bytes pickled data and suggest ``allow_pickle``)."""
    path = regular_file(path, what)
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as error:
        raise ValueError(f"{shown(path)}: cannot read ({error.strerror})") from None
    if head != b"PK\x03\x04":
        raise ValueError(f"{shown(path)}: not an npz file, so not a {what}")
    return path


def text_lines(path: str | Path, errors: str = "strict") -> Iterator[tuple[int, str]]:
    """(line number, stripped text) of each line that is neither blank nor a ``#`` comment.

    ValueError "PATH:N: ..." for a line longer than `MAX_LINE` bytes or (unless ``errors`` is
    "replace") not UTF-8; "PATH: ..." when the file cannot be opened. A comment line is skipped
    unread, whatever its bytes."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ValueError(f"{shown(path)}: a directory, not a text file")
        handle = path.open("rb")
    except OSError as error:
        raise ValueError(f"{shown(path)}: cannot read ({error.strerror})") from None
    with handle:
        for number in itertools.count(1):
            raw = handle.readline(MAX_LINE + 1)
            if not raw:
                return
            if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                raise ValueError(f"{shown(path)}:{number}: line longer than {MAX_LINE} bytes; "
                                 "not a text file of positions?")
            if raw.lstrip().startswith(b"#") or not raw.strip():
                continue
            try:
                yield number, raw.decode("utf-8", errors).strip()
            except UnicodeDecodeError as error:
                raise ValueError(f"{shown(path)}:{number}: not UTF-8 text (byte "
                                 f"0x{raw[error.start]:02x})") from None

"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of one.

Every file the package writes (checkpoints, replay shards, run configs, nets, solutions, opening
books, plots, benchmark results) goes through `atomic_write`: the bytes go to a temporary file
with a unique name in the same directory, are flushed and fsynced to disk, and the file is then
renamed over the target (``os.replace`` is atomic on POSIX and Windows). If anything fails on the
way, the temporary file is removed and the target is left as it was. The unique name lets two
writers of the same target work at once (the last rename wins) instead of corrupting each other's
``X.tmp``; the fsync before the rename means a power cut cannot leave an empty file under the
final name. A kill -9 between the write and the rename can leave a ``.NAME.*.tmp`` file behind;
`remove_stale_temporaries` clears them when a run is resumed.

Reference: the classic write-fsync-rename pattern (e.g. "Files are hard", Dan Luu, 2015).
Used by: ``minizero.checkpoint``, ``minizero.replay``, ``minizero.rundir``, ``nnue`` and
``hexapawn`` writers.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TEMPORARY_SUFFIX = ".tmp"


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def check_replaceable(path: str | Path) -> Path:
    """``path``, unless something other than a regular file is there (a directory, a device
    such as /dev/full, a FIFO): ValueError naming it, since the final rename would replace it.
    Commands call it before their work, so that a bad ``--out`` costs nothing."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ValueError(f"{path} is {'a directory' if path.is_dir() else 'not a regular file'}"
                         "; refusing to replace it with a file")
    return path


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", **open_arguments: Any) -> Iterator[IO]:
    """Open a temporary file for writing; on a clean exit it replaces ``path``.

    ``mode`` is "wb" or "w" (text; ``encoding`` etc. pass through). On an exception the
    temporary file is removed and ``path`` is untouched; an OSError of the writing (a full disk)
    names ``path``. Anything at ``path`` but a regular file (a directory, a device such as
    /dev/full, a FIFO) is refused with a ValueError naming it: the rename would replace it.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files (mode 'w' or 'wb'), not {mode!r}")
    path = check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "w":
        open_arguments.setdefault("encoding", "utf-8")
    descriptor, temporary = tempfile.mkstemp(prefix=_temporary_prefix(path),
                                             suffix=TEMPORARY_SUFFIX, dir=path.parent)
    try:
        # mkstemp creates the file private (0600); give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        with contextlib.suppress(OSError):
            os.chmod(temporary, 0o666 & ~umask)
        with os.fdopen(descriptor, mode, **open_arguments) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError) and error.errno and error.filename is None:  # disk full
            raise OSError(error.errno, error.strerror, str(path)) from None
        raise
    _fsync_directory(path.parent)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def write_text(path: str | Path, text: str) -> None:
    """Atomically replace ``path`` with ``text`` (UTF-8)."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Delete the temporary files that a killed writer left under ``directory`` (recursively).

    Only names this module makes (``.NAME.XXXXXXXX.tmp``) are touched. Call it only where no
    other writer is at work (e.g. when resuming one's own run). Returns the removed paths.
    """
    removed = []
    for candidate in Path(directory).rglob(f".*{TEMPORARY_SUFFIX}"):
        if candidate.is_file():
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed

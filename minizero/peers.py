"""Locating the real components the project measures itself against.

Stockfish (Debian package ``stockfish``, binary at /usr/games/stockfish, which is often not on
PATH) is the teacher and a graded opponent; sunfish (``pip install --no-deps sunfish==2026.1``)
is the Python peer. ``make peers`` installs both.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

STOCKFISH_HINT = (
    "install it with 'make peers' (apt-get install stockfish) or pass --stockfish PATH"
)
SUNFISH_HINT = "install it with 'make peers' (pip install --no-deps sunfish==2026.1)"


def _which(name: str, extra_dirs: list[Path]) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_stockfish(path: str | None = None) -> str:
    """Return the Stockfish binary: ``path`` if given, else PATH, else /usr/games.

    Raises ``FileNotFoundError`` with a message saying how to install it.
    """
    if path is not None:
        if Path(path).is_file() and os.access(path, os.X_OK):
            return path
        raise FileNotFoundError(f"Stockfish not found at {path}: {STOCKFISH_HINT}")
    found = _which("stockfish", [Path("/usr/games"), Path("/usr/local/games")])
    if found is None:
        raise FileNotFoundError(f"Stockfish not found on PATH or in /usr/games: {STOCKFISH_HINT}")
    return found


def find_sunfish() -> str:
    """Return the ``sunfish-uci`` launcher, looking beside the running interpreter too."""
    found = _which("sunfish-uci", [Path(sys.executable).parent])
    if found is None:
        raise FileNotFoundError(f"sunfish-uci not found: {SUNFISH_HINT}")
    return found

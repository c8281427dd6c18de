"""Locating the real components the project measures itself against.

Stockfish (Debian package ``stockfish``, binary at /usr/games/stockfish, which is often not on
PATH) is the teacher and a graded opponent; sunfish (``pip install --no-deps sunfish==2026.1``)
is the Python peer. ``make peers`` installs both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
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


def check_uci_engine(path: str, timeout: float = 10.0) -> str:
    """Return ``path`` if it answers ``uci`` with ``uciok`` within ``timeout`` seconds.

    ValueError naming the program otherwise (not a UCI engine, crashed, silent), so that a
    wrong ``--stockfish`` is one line of error, not a traceback or an endless wait.
    """
    try:
        answer = subprocess.run([path], input="uci\nquit\n", capture_output=True, text=True,
                                timeout=timeout, errors="replace")
    except subprocess.TimeoutExpired:
        raise ValueError(f"{path} did not answer 'uci' within {timeout:g} s: "
                         "not a UCI engine?") from None
    except OSError as error:
        raise ValueError(f"{path} cannot be started ({error.strerror or error})") from None
    if not any(line.strip() == "uciok" for line in answer.stdout.splitlines()):
        raise ValueError(f"{path} is not a UCI engine (no 'uciok' in its answer to 'uci')")
    return path

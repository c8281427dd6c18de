"""Where the commands write when no ``--out`` is given, and the one rule for an existing file.

Training, export and dataset commands write under ``runs/`` (in the current directory, git-
ignored) unless told otherwise, so that no recipe lands on a file the user or the package owns.
A command that writes one file (a net, a solution, a dataset, an opening book) refuses to
replace an existing one unless ``--force`` is given: the shipped nets (``nnue/nets/``,
``minizero/chessgame/nets/``) are existing files like any other. Run directories follow their
own rule (``minizero/rundir.py``: resumed only with ``--resume``).

    nnue quantize runs/nnue/checkpoint.pt             # -> runs/nets/nnue.nnue
    minizero export-net runs/zero/checkpoints/latest.pt --out nnue.pt --force
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from minizero.atomic import check_replaceable

RUNS = Path("runs")


def default_run_dir(kind: str, name: str) -> Path:
    """``runs/KIND-NAME-YYYYmmdd-HHMMSS``: a fresh run directory for a run without ``--out``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return RUNS / f"{kind}-{name.replace(':', '-')}-{stamp}"


def default_net_path(checkpoint: str | Path, suffix: str) -> Path:
    """``runs/nets/RUN.SUFFIX`` for a checkpoint of run directory RUN.

    ``RUN/checkpoint.pt`` and ``RUN/checkpoints/latest.pt`` both name the net after RUN.
    """
    checkpoint = Path(checkpoint)
    run = checkpoint.parent
    if run.name == "checkpoints":
        run = run.parent
    name = run.name if run.name not in ("", ".") else checkpoint.stem
    return RUNS / "nets" / f"{name}{suffix}"


def refuse_overwrite(path: str | Path, force: bool, flag: str = "--out") -> None:
    """ValueError unless ``path`` is free to write: absent, or a regular file and ``force``."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a directory; give the file to write")
    check_replaceable(path)  # a device or a FIFO is never replaced, --force or not
    if path.exists() and not force:
        raise ValueError(f"{flag} {path} exists; pass --force to overwrite it")


def add_force_argument(parser: argparse.ArgumentParser, what: str = "--out") -> None:
    """The ``--force`` flag with one wording everywhere."""
    parser.add_argument("--force", action="store_true",
                        help=f"overwrite {what} if it exists (a shipped net included)")

"""What every tutorial shares: its mode (quick or full) and the folder its figures go to.

The tutorials in ``tutorials/`` run as scripts, as notebooks (jupytext) and in the test suite.
``MINIZERO_TUTORIAL_SMALL=1`` selects the quick mode the tests and the documentation build use;
``MINIZERO_TUTORIAL_OUT`` moves the figures from ``runs/tutorials/`` (under the current
directory) elsewhere. A folder that cannot be written ends the run at once with one line saying
which folder and what to do, before any work is spent. In a notebook (and on the documentation
site, which executes the tutorials as notebooks) figures, tables and boards are shown as such;
a script prints them as text.

    MINIZERO_TUTORIAL_SMALL=1 python tutorials/01_neural_networks.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

SMALL_VARIABLE = "MINIZERO_TUTORIAL_SMALL"
OUT_VARIABLE = "MINIZERO_TUTORIAL_OUT"
DEFAULT_OUT = Path("runs") / "tutorials"


def small_mode() -> bool:
    """True when the quick version is asked for (``MINIZERO_TUTORIAL_SMALL=1``)."""
    return os.environ.get(SMALL_VARIABLE) == "1"


def output_dir() -> Path:
    """The figures folder, created and checked writable; SystemExit with one line if it is not.

    A script's clear message (not a traceback) is the point: the tutorial stops before it spends
    minutes computing figures it cannot save.
    """
    out = Path(os.environ.get(OUT_VARIABLE) or DEFAULT_OUT)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SystemExit(
            f"cannot write the tutorial's figures to {out.absolute()} ({reason}); run it from a "
            f"directory you can write to, or set {OUT_VARIABLE} to a writable folder") from None
    return out


def save_figure(figure: Any, name: str) -> None:
    """Save a matplotlib figure as ``name`` in the figures folder; show it inside a notebook.

    In a notebook (and in the documentation build, which executes the tutorials as notebooks)
    the saved PNG itself is displayed, tagged with its name, so the page shows exactly the file
    on disk. Run as a script, the file is only written. Returns nothing, so that a notebook
    cell ending with it shows the figure and no path.
    """
    path = output_dir() / name
    figure.savefig(path, dpi=110, bbox_inches="tight")  # no clipped labels or titles
    show_file(path)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def show_table(markdown: str) -> None:
    """A Markdown table: rendered as a table in a notebook (and on the documentation site),
    printed as text by a script."""
    if _in_notebook():
        from IPython.display import Markdown, display

        display(Markdown(markdown))
    else:
        print(markdown)


def show_board(board: Any, size: int = 320) -> None:
    """A chess position: drawn as SVG (python-chess's ``chess.svg``) in a notebook, printed as
    text with its FEN by a script."""
    if _in_notebook():
        import chess.svg
        from IPython.display import SVG, display

        display(SVG(chess.svg.board(board, size=size)))
    else:
        print(board)
    print(board.fen())


def show_file(path: str | Path) -> None:
    """Display a PNG already on disk when running inside a notebook; nothing in a script."""
    if _in_notebook():
        from IPython.display import Image, display

        display(Image(filename=str(path)), metadata={"minizero_figure": Path(path).name,
                                                     "minizero_path": str(Path(path).resolve())})

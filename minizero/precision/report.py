"""What every precision study shares: a resumable run directory, error statistics, tables, plots.

A study run directory holds ``config.json``, one ``<study>.json`` per finished study (a study is
skipped when its file exists, so a run killed with kill -9 resumes at the study it was in),
``results.md`` (the tables) and PNG plots. Command: ``nnue precision NET --out DIR``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from tqdm import tqdm

from minizero.rundir import CONFIG_NAME, open_run, write_json

T = TypeVar("T")


def open_study(out: Path, config: dict[str, Any], resume: bool, kind: str) -> None:
    """Create ``out`` with its config or, with ``resume``, check it: the package's one
    run-directory implementation (``minizero.rundir.open_run``) for a ``kind`` study. A study
    asked to resume where nothing was started yet simply starts."""
    open_run(out, config, resume and (Path(out) / CONFIG_NAME).exists(), kind)


def run_studies(out: Path, studies: dict[str, Callable[[], dict[str, Any]]],
                quiet: bool = False) -> dict[str, dict[str, Any]]:
    """Run each study not yet on disk (``<name>.json``), with a progress bar on stderr."""
    results = {}
    bar = progress_bar(len(studies), "studies", quiet)
    for name, study in studies.items():
        path = out / f"{name}.json"
        bar.set_postfix_str(name)
        if path.exists():
            results[name] = json.loads(path.read_text())
        else:
            results[name] = study()
            write_json(path, results[name])
        bar.update()
    bar.close()
    return results


def progress_bar(total: int, description: str, quiet: bool = False) -> tqdm:
    """A tqdm bar on stderr, hidden when stderr is not a terminal or ``quiet``."""
    return tqdm(total=total, desc=description, leave=False, file=sys.stderr,
                disable=quiet or not sys.stderr.isatty())


def error_statistics(values: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Mean, 99th percentile and maximum of |values - reference|, and the mean signed error."""
    error = np.asarray(values, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    magnitude = np.abs(error)
    return {"mean_abs": float(magnitude.mean()), "p99_abs": float(np.percentile(magnitude, 99)),
            "max_abs": float(magnitude.max()), "mean_signed": float(error.mean())}


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table; a '|' inside a cell (``mean |error|``) is escaped so
    that it stays in its cell."""
    def cells(values: list[Any]) -> str:
        return "| " + " | ".join(str(value).replace("|", "\\|") for value in values) + " |"

    lines = [cells(headers), "|" + "---|" * len(headers)]
    lines += [cells(row) for row in rows]
    return "\n".join(lines)


def save_figure(figure: Any, path: Path) -> Path:
    """Write a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(path.stem + ".tmp.png")
    figure.tight_layout()
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    tmp.replace(path)
    return path


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def progress_iter(items: Iterable[T], description: str, quiet: bool = False) -> Iterator[T]:
    """Iterate ``items`` with a progress bar (see ``progress_bar``)."""
    items = list(items)
    bar = progress_bar(len(items), description, quiet)
    for item in items:
        yield item
        bar.update()
    bar.close()

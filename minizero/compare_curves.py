"""The curves of a comparison (minizero/compare.py): each arm's grades over its clock, when
each arm first reached a mark, and one figure of both arms' curves.

Read from the run directory, so that a finished or resumed run reports alike:
grades.jsonl (one line per graded snapshot, the initial net's included) and each arm's
snapshots.jsonl. Used by ``hexapawn compare`` and ``minizero compare``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from minizero.atomic import atomic_write
from minizero.rundir import read_metrics

ARMS = ("supervised", "selfplay")


def arm_curves(out: Path, thresholds: dict[str, tuple[float, ...]] | None = None
              ) -> dict[str, Any]:
    """The initial net's marks and, per arm, its curve (the initial net, then each snapshot's
    grade line), its final snapshot (with its marks), the arm's seconds at its first snapshot
    with each mark of ``thresholds`` at least each of its values (None if never), and the load
    average at each snapshot."""
    grades = read_metrics(out / "grades.jsonl")
    initial = next(line for line in grades if line["arm"] == "initial")
    arms = {}
    for arm in ARMS:
        lines = read_metrics(out / arm / "snapshots.jsonl")
        curve = [initial] + [line for line in grades if line["arm"] == arm]
        arms[arm] = {
            "curve": curve, "final": {**lines[-1], **curve[-1]},
            "time_to": {f"{key}_{value}": first_reaching(curve, key, value)
                        for key, values in (thresholds or {}).items() for value in values},
            "load_average": [line["load_average"] for line in lines if "load_average" in line]}
    return {"initial": initial, "arms": arms}


def first_reaching(curve: list[dict[str, Any]], key: str, threshold: float) -> float | None:
    """The arm's seconds at its first point with ``key`` at least ``threshold``."""
    return next((point["seconds"] for point in curve if point[key] >= threshold), None)


class Panel(NamedTuple):
    """One plot of a figure: the ``marks`` (mark -> legend suffix) of both arms' curves, times
    ``scale``, against ``x`` ("seconds" or "steps") times ``x_scale``."""

    marks: dict[str, str]
    ylabel: str
    scale: float = 1.0
    xlabel: str = "wall-clock seconds of the arm"
    x: str = "seconds"
    x_scale: float = 1.0


def plot_arms(path: Path, arms: dict[str, Any], panels: list[Panel], title: str,
              labels: dict[str, str], ylim: tuple[float, float] | None = None) -> Path | None:
    """Both arms' curves (``arms`` as `arm_curves` gives them), one panel a `Panel`,
    written as a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4))
    for arm, style in (("supervised", "-o"), ("selfplay", "-s")):
        curve = arms[arm]["curve"]
        for axis, panel in zip(axes, panels):
            xs = [panel.x_scale * point[panel.x] for point in curve]
            for number, (key, suffix) in enumerate(panel.marks.items()):
                axis.plot(xs, [panel.scale * point[key] for point in curve], style,
                          markersize=3, alpha=1.0 if number == 0 else 0.6,
                          label=labels[arm] + (f", {suffix}" if suffix else ""))
    for axis, panel in zip(axes, panels):
        axis.set_ylabel(panel.ylabel)
        axis.set_xlabel(panel.xlabel)
        if ylim is not None:
            axis.set_ylim(*ylim)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_write(path) as handle:
        figure.savefig(handle, format="png", dpi=110)
    plt.close(figure)
    return path

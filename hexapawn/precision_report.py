"""Tables and plots of ``hexapawn precision`` (the studies are in ``hexapawn/precision.py``).

Writes ``results.md`` and ``accuracy_vs_bits.png``, ``fixed_training.png``, ``mca.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minizero.precision.formats import parse_format
from minizero.precision.report import markdown_table, pyplot, save_figure


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _milestones(path: list[dict], float_accuracy: float) -> list[dict]:
    """The first step, the smallest keeping the float accuracy, and the last."""
    keeping = [step for step in path if step["accuracy"] >= float_accuracy]
    chosen = [path[0], *(keeping[-1:]), path[-1]]
    return [step for index, step in enumerate(chosen) if step not in chosen[:index]]


def _weakest(layer_bits: dict[str, float]) -> str:
    name = min(layer_bits, key=layer_bits.get)
    return f"{name} {layer_bits[name]:.1f}"


def tables(results: dict[str, Any], size: str) -> str:
    """Every study of one board size as markdown."""
    fewest = ", ".join(f"{key.replace('_', ' ')} " + ("not reached" if bits is None
                                                       else f"{bits:.2f}")
                       for key, bits in results["fewest_bits"].items())
    parts = [f"Hexapawn {size}: float32 network accuracy {_percent(results['float_accuracy'])}; "
             f"fewest bits per weight keeping that accuracy: {fewest}"]
    if "ptq" in results:
        parts.append("Post-training rounding (stochastic: mean over draws, min in brackets)\n\n" +
                     markdown_table(
                         ["format", "scope", "rounding", "accuracy", "saturated"],
                         [[r["format"], r["scope"], r["rounding"], _percent(r["accuracy"]) + (
                             f" ({_percent(r['accuracy_min'])})"
                             if r["rounding"] == "stochastic" else ""), r["saturated"]]
                          for r in results["ptq"]["rows"]]))
    if "qat" in results:
        parts.append(f"Quantization-aware fine-tuning ({results['qat']['qat_steps']} steps)\n\n" +
                     markdown_table(
                         ["format", "rounding", "accuracy", "min over draws"],
                         [[r["format"], r["rounding"], _percent(r["accuracy"]),
                           _percent(r["accuracy_min"])] for r in results["qat"]["rows"]]))
    if "fixed_training" in results:
        study = results["fixed_training"]
        rows = []
        for label, curve in study["curves"].items():
            rows.append([label, _percent(curve[-1]["accuracy"]),
                         _percent(max(point["accuracy"] for point in curve)),
                         f"{curve[-1].get('loss', float('nan')):.3f}"])
        parts.append(f"Training from scratch with weights stored in {study['format']} "
                     f"(SGD, lr {study['learning_rate']})\n\n" + markdown_table(
                         ["weights", "final accuracy", "best accuracy", "final loss"], rows))
    if "mixed" in results:
        mixed = results["mixed"]
        share = mixed["budget_bits"] / mixed["int8_bits"]
        parts.append(f"Mixed precision (per-channel integer weights), budget "
                     f"{mixed['budget_bits']:,} bits = {share:.0%} of int8\n\n" + markdown_table(
                         ["bits per tensor", "memory bits", "accuracy"],
                         [[" ".join(f"{name.removesuffix('.weight')}:{bits}"
                                    for name, bits in step["bits"].items()),
                           f"{step['memory_bits']:,}", _percent(step["accuracy"])]
                          for step in _milestones(mixed["path"], results["float_accuracy"])]))
    if "mca" in results:
        mca = results["mca"]
        parts.append(f"Monte Carlo arithmetic on layer outputs ({mca['samples']} samples); "
                     f"fewest virtual bits keeping the float accuracy in every sample: "
                     f"{mca['fewest_bits_keeping_accuracy']}\n\n" + markdown_table(
                         ["t", "accuracy mean", "accuracy min", "argmax agreement",
                          "least-determined layer (p10 significant bits)"],
                         [[r["virtual_precision"], _percent(r["accuracy_mean"]),
                           _percent(r["accuracy_min"]), _percent(r["agreement_mean"]),
                           _weakest(r["layer_bits_p10"])] for r in mca["rows"]]))
    return "\n\n".join(parts)


def plot(results: dict[str, Any], out: Path, size: str) -> None:
    plt = pyplot()
    if "ptq" in results:
        figure, axis = plt.subplots(figsize=(7, 4.5))
        for study, style in (("ptq", "-o"), ("qat", "--s")):
            for rounding in ("nearest", "stochastic"):
                points = sorted((r["bits"], r["accuracy"]) for r in results.get(study, {}).get(
                    "rows", []) if r["rounding"] == rounding and r.get("scope", "weights")
                    == "weights" and parse_format(r["format"]).per_channel)
                if points:
                    axis.plot(*zip(*points), style, label=f"{study.upper()}, {rounding}")
        axis.axhline(results["float_accuracy"], color="grey", linestyle=":", label="float32")
        axis.set_xlabel("bits per weight (per-channel integer; ternary log2 3, binary 1)")
        axis.set_ylabel("optimal-move accuracy (solver)")
        axis.set_title(f"Hexapawn {size}: accuracy vs bits")
        axis.legend(fontsize=8)
        save_figure(figure, out / "accuracy_vs_bits.png")
    if "fixed_training" in results:
        study = results["fixed_training"]
        figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        for label, curve in study["curves"].items():
            name = label if label == "float32" else f"{study['format']}, {label}"
            left.plot([p["step"] for p in curve], [p["accuracy"] for p in curve], "-o",
                      markersize=3, label=name)
            right.plot([p["step"] for p in curve[1:]], [p["loss"] for p in curve[1:]], "-o",
                       markersize=3, label=name)
        left.set_ylabel("optimal-move accuracy (solver)")
        right.set_ylabel("training loss (mean over the interval)")
        right.set_yscale("log")
        for axis in (left, right):
            axis.set_xlabel("SGD steps")
            axis.legend()
        figure.suptitle(f"Hexapawn {size}: weights stored in {study['format']}, "
                        "updates rounded to nearest or stochastically")
        save_figure(figure, out / "fixed_training.png")
    if "mca" in results:
        rows = results["mca"]["rows"]
        figure, axis = plt.subplots(figsize=(6.5, 4))
        t = [r["virtual_precision"] for r in rows]
        axis.plot(t, [r["accuracy_mean"] for r in rows], "-o", label="accuracy, mean")
        axis.plot(t, [r["accuracy_min"] for r in rows], "--", label="accuracy, worst sample")
        axis.set_xlabel("virtual precision t (bits)")
        axis.set_ylabel("optimal-move accuracy")
        axis.set_title(f"Hexapawn {size}: Monte Carlo arithmetic")
        axis.legend()
        save_figure(figure, out / "mca.png")

"""What every bit costs a Hexapawn network, graded exactly by the solver.

A policy-value network is trained from the solver's labels until its raw policy plays perfectly
(or a step budget ends), then stored in every number format of ``minizero.precision.formats``
and graded again: the share of positions where the policy's favourite move keeps the game-
theoretic value (``hexapawn.experiment.Grader``). Studies:

* ``ptq``: post-training rounding of the weights (and, in a second scope, of every convolution
  and linear output too), nearest and stochastic (the mean over several draws);
* ``qat``: quantization-aware fine-tuning from the float net (straight-through gradients), then
  graded the same way;
* ``fixed_training``: training from scratch with the weights *stored* in 16-bit fixed point
  (Gupta et al. 2015), round-to-nearest vs stochastic rounding vs float32, as curves;
* ``mixed``: a bit width per tensor under a memory budget (greedy, ``minizero.precision.mixed``);
* ``mca``: Monte Carlo arithmetic on every convolution, linear and batch-norm output (layer-level
  instrumentation): significant bits per layer, and accuracy as the virtual precision drops.

The headline figure is the fewest bits per weight that keep 100% on 3x3 (in general: that
keep the float network's accuracy).
Command: ``hexapawn precision --size 3x3 --out runs/hexapawn-precision-3x3``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hexapawn.experiment import Grader, default_configs, supervised_samples
from hexapawn.game import Hexapawn
from hexapawn.solve import solve
from minizero.checkpoint import save_checkpoint
from minizero.nn.network import PolicyValueNet, load_network
from minizero.precision import mca
from minizero.precision.formats import check_rounding, parse_format
from minizero.precision.mixed import search_bit_widths
from minizero.precision.qat import (
    parameter_count,
    round_parameters_,
    rounded_activations,
    rounded_weights,
    train_steps,
)
from minizero.precision.report import open_study, progress_bar, progress_iter, run_studies
from minizero.train import TrainConfig, Trainer

STUDIES = ("ptq", "qat", "fixed_training", "mixed", "mca")


@dataclass(frozen=True)
class HexapawnPrecisionConfig:
    """train_steps: most float training steps (stops early at 100%); qat_steps: fine-tuning
    steps per format; draws: stochastic-rounding draws averaged; fixed_*: the 16-bit fixed-point
    training run (format, SGD learning rate, steps, grading interval); mixed_budget: fraction of
    the int8 weight memory; mca_samples: Monte Carlo samples per virtual precision."""

    train_steps: int = 4000
    formats: tuple[str, ...] = ("float32", "bfloat16", "float16", "fixed3.12", "fixed3.8",
                                "fixed3.4", "int8", "int4", "int8-channel", "int6-channel",
                                "int5-channel", "int4-channel", "int3-channel", "int2-channel",
                                "ternary-channel", "binary-channel")
    qat_formats: tuple[str, ...] = ("int4-channel", "int3-channel", "int2-channel",
                                    "ternary-channel", "binary-channel")
    roundings: tuple[str, ...] = ("nearest", "stochastic")
    qat_steps: int = 300
    draws: int = 5
    fixed_format: str = "fixed7.8"  # 16 bits: sign, 7 integer, 8 fraction (step 2^-8)
    fixed_learning_rate: float = 0.02
    fixed_steps: int = 1500
    fixed_every: int = 100
    mixed_budget: float = 0.3
    mca_precisions: tuple[int, ...] = (24, 16, 12, 8, 6, 5, 4, 3, 2, 1)
    mca_samples: int = 8
    studies: tuple[str, ...] = STUDIES
    seed: int = 0

    def validate(self) -> None:
        for name in (*self.formats, *self.qat_formats, self.fixed_format):
            parse_format(name)
        for rounding in self.roundings:
            check_rounding(rounding)
        for precision in self.mca_precisions:
            mca.check_precision(precision)
        unknown = sorted(set(self.studies) - set(STUDIES))
        if unknown:
            raise ValueError(f"unknown study {unknown[0]!r}: choose from {', '.join(STUDIES)}")
        if min(self.train_steps, self.draws, self.fixed_steps, self.fixed_every,
               self.mca_samples) < 1 or self.qat_steps < 0:
            raise ValueError("step counts, draws and samples must be positive")
        if not 0 < self.mixed_budget <= 1:
            raise ValueError(f"mixed budget {self.mixed_budget} must be a fraction in (0, 1]")
        if self.seed < 0:
            raise ValueError(f"seed must be at least 0, got {self.seed}")


def format_bits(name: str) -> float:
    """Bits per weight, for plots: ternary stores log2(3) bits of information in 2 bits."""
    fmt = parse_format(name)
    return float(np.log2(3)) if fmt.kind == "ternary" else float(fmt.bits)


def grade_format(grader: Grader, network: PolicyValueNet, name: str, rounding: str, draws: int,
                 seed: int, activations: bool = False) -> dict[str, Any]:
    """Accuracy with the weights (and with ``activations`` every layer output) in ``name``:
    one grading for nearest, the mean and minimum of ``draws`` for stochastic."""
    accuracies, saturated = [], 0
    for draw in range(1 if rounding == "nearest" else draws):
        rng = np.random.default_rng([seed, draw])
        with rounded_weights(network, name, rounding, rng) as report, rounded_activations(
                network, name if activations else None, rounding, rng):
            saturated = sum(tensor.saturated for tensor in report)
            accuracies.append(grader.accuracy(network)["accuracy"])
    return {"format": name, "rounding": rounding, "bits": format_bits(name),
            "scope": "weights+activations" if activations else "weights",
            "accuracy": float(np.mean(accuracies)), "accuracy_min": float(np.min(accuracies)),
            "saturated": saturated}


def clone(network: PolicyValueNet) -> PolicyValueNet:
    """A copy of ``network`` (its config and weights; far cheaper than copy.deepcopy)."""
    twin = PolicyValueNet(network.config)
    twin.load_state_dict(network.state_dict())
    return twin


def train_float(size: tuple[int, int], config: HexapawnPrecisionConfig, out: Path,
                quiet: bool) -> tuple[PolicyValueNet, Grader, Any]:
    """The float network (trained here, or loaded from ``out/float.pt``), its grader, samples."""
    game = Hexapawn(*size)
    grader = Grader(solve(*size))
    samples = supervised_samples(grader.solution)
    network_config = default_configs(game, 1)["network"]
    path = out / "float.pt"
    if path.exists():
        return load_network(str(path), game.input_shape, game.action_size), grader, samples
    torch.manual_seed(config.seed)
    network = PolicyValueNet(network_config)
    trainer = Trainer(network, TrainConfig(batch_size=64, learning_rate=2e-3), config.seed)
    bar = progress_bar(config.train_steps, "float training", quiet)
    while trainer.step < config.train_steps:
        trainer.train_steps(samples, 100)
        bar.update(100)
        if grader.accuracy(network)["accuracy"] == 1.0:
            break
    bar.close()
    save_checkpoint(path, config={"network": dataclasses.asdict(network_config),
                                  "steps": trainer.step}, model=network.state_dict())
    network.eval()
    return network, grader, samples


def run(size: tuple[int, int], out: Path, config: HexapawnPrecisionConfig,
        net_path: Path | None = None, resume: bool = False, quiet: bool = False
        ) -> dict[str, Any]:
    """Run the chosen studies for one board size into ``out`` (JSON, results.md, plots)."""
    config.validate()
    # Networks this small run fastest on one thread (see hexapawn.experiment.compare).
    torch.set_num_threads(1)
    game = Hexapawn(*size)
    network = None
    if net_path is not None:  # read before the run directory is made: a bad file leaves none
        if Path(net_path).suffix == ".nnue":
            raise ValueError(f"{net_path}: an NNUE net, not a Hexapawn network checkpoint")
        network = load_network(str(net_path), game.input_shape, game.action_size)
    open_study(out, {"size": game.size, "net": str(net_path) if net_path else None,
                     **dataclasses.asdict(config)}, resume, "hexapawn precision")
    if network is not None:
        grader = Grader(solve(*size))
        samples = supervised_samples(grader.solution)
    else:
        network, grader, samples = train_float(size, config, out, quiet)
    float_accuracy = grader.accuracy(network)["accuracy"]

    def ptq() -> dict[str, Any]:
        rows = []
        jobs = [(name, rounding, activations) for activations in (False, True)
                for name in config.formats for rounding in config.roundings]
        bar = progress_bar(len(jobs), "post-training", quiet)
        for name, rounding, activations in jobs:
            rows.append(grade_format(grader, network, name, rounding, config.draws,
                                     config.seed, activations))
            bar.update()
        bar.close()
        return {"float_accuracy": float_accuracy, "rows": rows}

    def qat() -> dict[str, Any]:
        rows = []
        bar = progress_bar(len(config.qat_formats) * len(config.roundings), "QAT", quiet)
        for name in config.qat_formats:
            for rounding in config.roundings:
                tuned = clone(network)
                trainer = Trainer(tuned, TrainConfig(batch_size=64, learning_rate=1e-3),
                                  config.seed)
                train_steps(trainer, samples, config.qat_steps, name, rounding,
                            np.random.default_rng(config.seed))
                tuned.eval()
                rows.append(grade_format(grader, tuned, name, rounding, config.draws,
                                         config.seed))
                bar.update()
        bar.close()
        return {"qat_steps": config.qat_steps, "rows": rows}

    def fixed_training() -> dict[str, Any]:
        curves = {}
        for label, rounding in (("float32", None), ("nearest", "nearest"),
                                ("stochastic", "stochastic")):
            torch.manual_seed(config.seed)
            scratch = PolicyValueNet(network.config)
            trainer = Trainer(scratch, TrainConfig(batch_size=64, optimizer="sgd", momentum=0.0,
                                                   learning_rate=config.fixed_learning_rate,
                                                   weight_decay=0.0), config.seed)
            rng = np.random.default_rng(config.seed)
            fmt = None if rounding is None else config.fixed_format
            if fmt is not None:
                round_parameters_(scratch, fmt, rounding, rng)
            curve = [{"step": 0, "accuracy": grader.accuracy(scratch)["accuracy"]}]
            for _ in progress_iter(range(config.fixed_steps // config.fixed_every),
                                        f"fixed-point {label}", quiet):
                loss = train_steps(trainer, samples, config.fixed_every, fmt,
                                   rounding or "nearest", rng, mode="storage")
                curve.append({"step": trainer.step, "loss": loss,
                              "accuracy": grader.accuracy(scratch)["accuracy"]})
            curves[label] = curve
        return {"format": config.fixed_format, "learning_rate": config.fixed_learning_rate,
                "curves": curves}

    def mixed() -> dict[str, Any]:
        sizes = {name: count for name, count in parameter_count(network).items()
                 if name.endswith("weight")}

        def score(bits: dict[str, int]) -> float:
            formats = {name: parse_format(f"int{width}-channel") for name, width in bits.items()}
            with rounded_weights(network, formats):
                return grader.accuracy(network)["accuracy"]

        int8 = 8 * sum(sizes.values())
        budget = int(config.mixed_budget * int8)
        path = search_bit_widths(sizes, score, budget)
        return {"budget_bits": budget, "int8_bits": int8, "sizes": sizes,
                "path": [{"bits": s.bits, "memory_bits": s.memory_bits, "accuracy": s.score}
                         for s in path]}

    def monte_carlo() -> dict[str, Any]:
        rows = []
        plain_policy, _ = network.predict(grader.planes, grader.legal)
        for precision in progress_iter(config.mca_precisions, "MCA", quiet):
            rng = np.random.default_rng([config.seed, precision])
            record: dict[str, list[np.ndarray]] = {}
            accuracies, agreements = [], []
            with mca.perturbed_outputs(network, precision, rng, record):
                for _ in range(config.mca_samples):
                    policy, _ = network.predict(grader.planes, grader.legal)
                    choice = policy.argmax(axis=1)
                    accuracies.append(float(grader.correct[np.arange(len(choice)),
                                                           choice].mean()))
                    agreements.append(float((choice == plain_policy.argmax(axis=1)).mean()))
            layers = {}  # per layer: the 10th percentile of significant bits over its outputs
            for name, outputs in record.items():
                values = np.stack(outputs)
                bits = mca.significant_bits(values)
                nonzero = np.abs(values.mean(axis=0)) > 0
                layers[name] = float(np.percentile(bits[nonzero], 10)) if nonzero.any() else 0.0
            rows.append({"virtual_precision": precision, "accuracy_mean": float(
                np.mean(accuracies)), "accuracy_min": float(np.min(accuracies)),
                "agreement_mean": float(np.mean(agreements)), "layer_bits_p10": layers})
        perfect = [r["virtual_precision"] for r in rows if r["accuracy_min"] >= float_accuracy]
        return {"samples": config.mca_samples, "float_accuracy": float_accuracy, "rows": rows,
                "fewest_bits_keeping_accuracy": min(perfect) if perfect else None}

    chosen = {"ptq": ptq, "qat": qat, "fixed_training": fixed_training, "mixed": mixed,
              "mca": monte_carlo}
    results = run_studies(out, {name: chosen[name] for name in config.studies}, quiet)
    results["float_accuracy"] = float_accuracy
    results["fewest_bits"] = fewest_bits(results)
    from hexapawn.precision_report import plot, tables

    (out / "results.md").write_text(tables(results, game.size) + "\n")
    plot(results, out, game.size)
    return results


def fewest_bits(results: dict[str, Any]) -> dict[str, float | None]:
    """Per study and rounding: the fewest bits per weight that keep the float network's
    accuracy (100% when it plays perfectly; stochastic: in every draw), over the integer,
    ternary and binary formats graded; and for the mixed-precision path, the memory per weight
    (scales included) of its smallest step that keeps it."""
    target = results["float_accuracy"]
    best: dict[str, float | None] = {}
    for study in ("ptq", "qat"):
        for row in results.get(study, {}).get("rows", []):
            if row.get("scope", "weights") != "weights" or parse_format(
                    row["format"]).kind not in ("integer", "ternary", "binary"):
                continue
            key = f"{study}_{row['rounding']}"
            best.setdefault(key, None)
            if row["accuracy_min"] >= target and (best[key] is None or row["bits"] < best[key]):
                best[key] = row["bits"]
    if "mixed" in results:
        weights = sum(results["mixed"]["sizes"].values())
        kept = [s["memory_bits"] for s in results["mixed"]["path"] if s["accuracy"] >= target]
        best["mixed_nearest"] = round(min(kept) / weights, 2) if kept else None
    return best

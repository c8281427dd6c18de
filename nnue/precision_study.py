"""``nnue precision``: every NNUE precision study into one run directory (tables, JSON, plots).

Studies (each ``<name>.json`` in the run directory, skipped when present, so a killed run
resumes): ``formats`` (each number format, nearest and stochastic), ``multipliers`` (the integer
path with approximate products), ``mixed`` (per-layer integer widths under a memory budget),
``mca`` (Monte Carlo arithmetic), ``divergence`` (hill climbing vs random sampling).
The float reference is the untouched float network (``nnue.precision``, ``nnue.divergence``).

Command: ``nnue precision nnue/nets/piece-square-256.nnue --out runs/nnue-precision``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chess
import numpy as np

from minizero.precision.formats import check_rounding, parse_format
from minizero.precision.mixed import search_bit_widths
from minizero.precision.report import (
    markdown_table,
    open_study,
    progress_bar,
    progress_iter,
    pyplot,
    run_studies,
    save_figure,
)
from nnue.divergence import (
    DivergenceConfig,
    check_relations,
    draw_board,
    gap_function,
    hill_climb,
    random_sampling,
)
from nnue.precision import (
    PARAMETERS,
    FloatNet,
    children,
    compare,
    encode,
    integer_scores,
    load_float_and_integer,
    mca_study,
    multiplier_error,
    multiplier_table,
    random_positions,
)

STUDIES = ("formats", "multipliers", "mixed", "mca", "divergence")


@dataclass(frozen=True)
class NnuePrecisionConfig:
    """positions: scored positions; move_positions: positions whose best move is compared;
    mca_positions, mca_samples: Monte Carlo arithmetic sizes; budget: evaluations per method in
    the divergence search; mixed_budget: memory budget of the weights as a fraction of int8."""

    positions: int = 2000
    move_positions: int = 200
    formats: tuple[str, ...] = ("float32", "bfloat16", "float16", "fixed3.12", "fixed3.8",
                                "fixed3.6", "int8", "int8-channel", "int6", "int4",
                                "int4-channel", "ternary", "binary")
    roundings: tuple[str, ...] = ("nearest", "stochastic")
    multipliers: tuple[str, ...] = ("exact", "truncated2", "truncated4", "truncated6",
                                    "mitchell")
    mca_precisions: tuple[int, ...] = (24, 20, 16, 14, 13, 12, 11, 10, 8)
    mca_positions: int = 64
    mca_samples: int = 16
    mixed_budget: float = 0.6
    budget: int = 2000
    divergence_multiplier: str = "exact"  # the integer path searched against the float net
    studies: tuple[str, ...] = STUDIES
    seed: int = 0

    def validate(self) -> None:
        for name in self.formats:
            parse_format(name)
        for rounding in self.roundings:
            check_rounding(rounding)
        for multiplier in (*self.multipliers, self.divergence_multiplier):
            multiplier_table(multiplier)
        unknown = sorted(set(self.studies) - set(STUDIES))
        if unknown:
            raise ValueError(f"unknown study {unknown[0]!r}: choose from {', '.join(STUDIES)}")
        if min(self.positions, self.move_positions, self.mca_positions, self.mca_samples,
               self.budget) < 1:
            raise ValueError("positions, move positions, MCA sizes and budget must be positive")
        if not 0 < self.mixed_budget <= 1:
            raise ValueError(f"mixed budget {self.mixed_budget} must be a fraction in (0, 1]")
        if self.seed < 0:
            raise ValueError(f"seed must be at least 0, got {self.seed}")


def run(net_path: Path, out: Path, config: NnuePrecisionConfig, openings: list[str] | None = None,
        resume: bool = False, quiet: bool = False) -> dict[str, Any]:
    """Run the chosen studies; write JSON, results.md and plots into ``out`` (made only once
    the config, the net and the openings have proved usable)."""
    config.validate()
    model, net, what = load_float_and_integer(net_path)
    openings = openings or []
    rng = np.random.default_rng(config.seed)
    boards = random_positions(config.positions, rng, openings)
    open_study(out, {"net": str(net_path), "float_model": what, "openings": len(openings),
                     **dataclasses.asdict(config)}, resume, "nnue precision")
    pieces, side_to_move = encode(boards)
    move_boards = boards[:config.move_positions]
    child_boards, offsets = children(move_boards)
    child_pieces, child_side = encode(child_boards)
    float_net = FloatNet(model)
    reference, _ = float_net.scores(pieces, side_to_move)
    child_reference, _ = float_net.scores(child_pieces, child_side)

    def grade(scores: np.ndarray, child_scores: np.ndarray) -> dict[str, float]:
        return compare(scores, reference, child_scores, child_reference, offsets)

    def formats() -> dict[str, Any]:
        rows = []
        bar = progress_bar(len(config.formats) * len(config.roundings), "formats", quiet)
        for name in config.formats:
            for rounding in config.roundings:
                scores, saturated = float_net.scores(pieces, side_to_move, name, rounding,
                                                     config.seed)
                child_scores, _ = float_net.scores(child_pieces, child_side, name, rounding,
                                                   config.seed)
                rows.append({"format": name, "rounding": rounding,
                             "describe": parse_format(name).describe(),
                             "saturated": int(sum(saturated.values())),
                             **grade(scores, child_scores)})
                bar.update()
        bar.close()
        return {"rows": rows}

    def multipliers() -> dict[str, Any]:
        rows = []
        for name in progress_iter(config.multipliers, "multipliers", quiet):
            scores = integer_scores(net, pieces, side_to_move, name).astype(np.float64)
            child_scores = integer_scores(net, child_pieces, child_side, name).astype(np.float64)
            rows.append({"multiplier": name, **multiplier_error(name),
                         **grade(scores, child_scores)})
        return {"rows": rows}

    def mixed() -> dict[str, Any]:
        weights = [name for name in PARAMETERS if name.endswith("weight")]
        sizes = {name: int(np.prod(model.get_parameter(PARAMETERS[name][0]).shape))
                 for name in weights}
        sizes["ft_weight"] -= model.config.l1  # the padding row is not stored

        def score(bits: dict[str, int]) -> float:
            formats = {name: parse_format(f"int{width}-channel") for name, width in bits.items()}
            scores, _ = float_net.scores(pieces, side_to_move, weight_formats=formats)
            return -float(np.abs(scores - reference).mean())

        int8 = sum(sizes.values()) * 8
        budget = int(config.mixed_budget * int8)
        path = search_bit_widths(sizes, score, budget)
        return {"budget_bits": budget, "int8_bits": int8, "sizes": sizes,
                "path": [{"bits": step.bits, "memory_bits": step.memory_bits,
                          "mean_abs_cp": -step.score} for step in path]}

    def monte_carlo() -> dict[str, Any]:
        count = min(config.mca_positions, len(boards))
        integer = integer_scores(net, pieces, side_to_move).astype(np.float64)
        return mca_study(model, pieces[:count], side_to_move[:count], config.mca_precisions,
                         config.mca_samples, config.seed,
                         float(np.abs(integer - reference).mean()))

    def divergence() -> dict[str, Any]:
        search = DivergenceConfig(budget=config.budget, multiplier=config.divergence_multiplier,
                                  seed=config.seed)
        gap = gap_function(model, net, search.multiplier)
        result = {"hill_climbing": hill_climb(gap, search, openings),
                  "random_sampling": random_sampling(gap, search, openings)}
        for method in result.values():
            for row in method["worst"]:
                board = chess.Board(row["fen"])
                _, integer, floating = gap([board])  # integer through the searched multiplier
                row.update(integer_cp=int(integer[0]), float_cp=float(floating[0]),
                           board=str(board), **check_relations(model, net, board))
        return result

    chosen = {"formats": formats, "multipliers": multipliers, "mixed": mixed,
              "mca": monte_carlo, "divergence": divergence}
    results = run_studies(out, {name: chosen[name] for name in config.studies}, quiet)
    (out / "results.md").write_text(tables(results) + "\n")
    plot(results, out)
    return results


def tables(results: dict[str, Any]) -> str:
    """The studies as markdown tables."""
    parts = []
    if "formats" in results:
        parts.append("Number formats (weights; sums too for float/fixed) vs the float net\n\n" +
                     markdown_table(
                         ["format", "rounding", "mean cp", "p99 cp", "max cp", "best move",
                          "saturated"],
                         [[r["format"], r["rounding"], f"{r['mean_abs']:.2f}",
                           f"{r['p99_abs']:.1f}", f"{r['max_abs']:.1f}",
                           f"{r['best_move_agreement']:.1%}", r["saturated"]]
                          for r in results["formats"]["rows"]]))
    if "multipliers" in results:
        parts.append("Integer path (int16/int8) with approximate multipliers vs the float net\n\n"
                     + markdown_table(
                         ["multiplier", "mean rel. err", "max rel. err", "mean cp", "p99 cp",
                          "max cp", "best move"],
                         [[r["multiplier"], f"{r['mean_relative']:+.2%}",
                           f"{r['max_abs_relative']:.1%}", f"{r['mean_abs']:.2f}",
                           f"{r['p99_abs']:.1f}", f"{r['max_abs']:.1f}",
                           f"{r['best_move_agreement']:.1%}"]
                          for r in results["multipliers"]["rows"]]))
    if "mixed" in results:
        mixed = results["mixed"]
        share = mixed["budget_bits"] / mixed["int8_bits"]
        parts.append(f"Mixed precision (per-channel integer weights), budget "
                     f"{mixed['budget_bits']:,} bits = {share:.0%} of int8\n\n" + markdown_table(
                         ["bits per layer", "memory bits", "mean cp"],
                         [[" ".join(f"{name.removesuffix('_weight')}:{bits}"
                                    for name, bits in step["bits"].items()),
                           f"{step['memory_bits']:,}", f"{step['mean_abs_cp']:.2f}"]
                          for step in mixed["path"]]))
    if "mca" in results:
        mca = results["mca"]
        parts.append(
            f"Monte Carlo arithmetic ({mca['samples']} samples x {mca['positions']} positions); "
            f"fewest bits with p99 spread <= 1 cp: {mca['fewest_bits_within_1cp']}; "
            f"int8 path mean error {mca.get('int8_mean_error_cp', float('nan')):.2f} cp ~ t = "
            f"{mca.get('virtual_precision_matching_int8')}\n\n" + markdown_table(
                ["t", "accumulator bits", "hidden1 bits", "hidden2 bits", "output bits",
                 "output spread cp (mean / p99)", "mean |error| cp"],
                [[r["virtual_precision"], f"{r['accumulator_bits_median']:.1f}",
                  f"{r['hidden1_bits_median']:.1f}", f"{r['hidden2_bits_median']:.1f}",
                  f"{r['output_bits_median']:.1f}",
                  f"{r['output_std_cp_mean']:.3f} / {r['output_std_cp_p99']:.3f}",
                  f"{r['output_error_cp_mean']:.3f}"] for r in mca["rows"]]))
    if "divergence" in results:
        rows = []
        for method, result in results["divergence"].items():
            for row in result["worst"][:3]:
                rows.append([method, f"{row['gap_cp']:.1f}", row["fen"],
                             row["integer_cp"], f"{row['float_cp']:.1f}",
                             row["colour_flip_integer_equal"] and row["colour_flip_float_equal"],
                             row["incremental_equals_refresh"],
                             row.get("file_mirror_integer_difference_cp", "castling")])
        largest = ", ".join(f"{method.replace('_', ' ')} {result['largest_gap_cp']:.1f} cp "
                            f"({result['distinct_positions']:,} distinct positions)"
                            for method, result in results["divergence"].items())
        parts.append(f"Divergence search, |int8 - float| cp, {largest}; int cp through the "
                     "searched multiplier, the relations checked on the exact one\n\n"
                     + markdown_table(
            ["method", "gap cp", "FEN", "int cp", "float cp", "colour flip exact",
             "incremental == refresh", "file-mirror diff cp"], rows))
    return "\n\n".join(parts)


def plot(results: dict[str, Any], out: Path) -> None:
    """formats.png, multipliers.png, mca.png, divergence.png and worst_<method>.png boards."""
    plt = pyplot()
    if "formats" in results:
        rows = results["formats"]["rows"]
        names = list(dict.fromkeys(r["format"] for r in rows))
        figure, axis = plt.subplots(figsize=(10, 4))
        for offset, rounding in ((-0.2, "nearest"), (0.2, "stochastic")):
            values = [next((r["mean_abs"] for r in rows if r["format"] == n
                            and r["rounding"] == rounding), np.nan) for n in names]
            axis.bar(np.arange(len(names)) + offset, np.maximum(values, 1e-4), 0.4,
                     label=rounding)
        axis.set_xticks(range(len(names)), names, rotation=30)
        axis.set_yscale("log")
        axis.set_ylabel("mean |cp - float cp|")
        axis.legend()
        save_figure(figure, out / "formats.png")
    if "mca" in results:
        rows = results["mca"]["rows"]
        figure, axis = plt.subplots(figsize=(6, 4))
        t = [r["virtual_precision"] for r in rows]
        for layer in ("accumulator", "hidden1", "hidden2", "output"):
            axis.plot(t, [r[f"{layer}_bits_median"] for r in rows], "-o", label=layer)
        axis.plot(t, t, ":", color="grey", label="t")
        axis.set_xlabel("virtual precision t (bits)")
        axis.set_ylabel("significant bits (median)")
        axis.legend()
        save_figure(figure, out / "mca.png")
    if "divergence" in results:
        figure, axis = plt.subplots(figsize=(6, 4))
        for method, result in results["divergence"].items():
            axis.plot(result["trace"], label=method.replace("_", " "))
        axis.set_xlabel("positions evaluated")
        axis.set_ylabel("largest |int8 - float| found (cp)")
        axis.legend()
        save_figure(figure, out / "divergence.png")
        for method, result in results["divergence"].items():
            if result["worst"]:
                row = result["worst"][0]
                draw_board(chess.Board(row["fen"]), out / f"worst_{method}.png",
                           f"{row['fen']}\nint {row['integer_cp']} cp, float "
                           f"{row['float_cp']:.1f} cp")

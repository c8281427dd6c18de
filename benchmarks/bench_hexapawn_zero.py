"""Hexapawn Zero: batched leaf evaluation, and the 3x3 comparison against its time bars.

1. PUCT simulations per second from the 4x4 start with leaf batches of 1 and 16, side by side,
   for the Hexapawn network (2 blocks x 32) and a wider one (6 x 64) where batching pays more.
2. ``hexapawn compare --size 3x3``: seconds to perfect play for both methods (bars: supervised
   within 20 s, self-play within 120 s on this 2-core machine).
3. The ablation: self-play without random openings, every move drawn in proportion to visits
   instead (temperature alone), capped at 300 s.

    make bench BENCH=hexapawn_zero
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import markdown_table, write_results
from hexapawn.experiment import CompareConfig, compare, default_configs
from hexapawn.game import Hexapawn
from minizero.nn import NetworkConfig, PolicyValueNet
from minizero.search.puct import PUCT, PUCTConfig, network_evaluator

SIMULATIONS = 800


def simulations_per_second(game: Hexapawn, network: PolicyValueNet, batch_size: int) -> dict:
    search = PUCT(game, network_evaluator(game, network),
                  PUCTConfig(simulations=SIMULATIONS, batch_size=batch_size))
    began = time.perf_counter()
    result = search.search(game.initial_state())
    seconds = time.perf_counter() - began
    return {"simulations_per_second": SIMULATIONS / seconds,
            "leaves_per_call": result.evaluations / result.network_calls}


def main() -> None:
    torch.set_num_threads(1)
    game = Hexapawn(4, 4)
    rows, batching = [], {}
    for blocks, channels in ((2, 32), (6, 64)):
        torch.manual_seed(0)
        network = PolicyValueNet(NetworkConfig(game.input_shape, game.action_size,
                                               blocks=blocks, channels=channels))
        single = simulations_per_second(game, network, 1)
        batched = simulations_per_second(game, network, 16)
        ratio = batched["simulations_per_second"] / single["simulations_per_second"]
        batching[f"{blocks}x{channels}"] = {"batch_1": single, "batch_16": batched,
                                            "ratio": ratio}
        rows.append([f"{blocks} x {channels}", f"{single['simulations_per_second']:.0f}",
                     f"{batched['simulations_per_second']:.0f}",
                     f"{batched['leaves_per_call']:.1f}", f"{ratio:.2f}x"])
    table = markdown_table(["network (blocks x channels)", "sims/s, batch 1",
                            "sims/s, batch 16", "leaves per call at 16", "ratio"], rows)

    with tempfile.TemporaryDirectory() as directory:
        began = time.perf_counter()
        summary = compare(3, 3, Path(directory) / "run", seed=0, progress=False,
                          log=lambda line: None)
        wall = time.perf_counter() - began
    three = {method: {key: summary[method][key] for key in
                      ("seconds_to_perfect", "positions_to_perfect", "best_accuracy")}
             for method in ("supervised", "selfplay")}
    table += "\n\n" + markdown_table(
        ["3x3 method", "seconds to perfect play", "positions seen", "bar"],
        [["supervised", three["supervised"]["seconds_to_perfect"],
          three["supervised"]["positions_to_perfect"], "20 s"],
         ["self-play", three["selfplay"]["seconds_to_perfect"],
          three["selfplay"]["positions_to_perfect"], "120 s"]])
    table += f"\n\n(whole 3x3 comparison, grading included: {wall:.0f} s wall-clock)"
    ablation = temperature_only_selfplay()
    table += ("\n\nself-play without random openings (temperature on every move): "
              f"{ablation['generations']} generations, {ablation['seconds']:.0f} s, "
              f"perfect: {ablation['perfect']}, final accuracy White "
              f"{ablation['accuracy_white']:.1%} Black {ablation['accuracy_black']:.1%}")
    write_results("hexapawn_zero", {"batching": batching, "simulations": SIMULATIONS,
                                    "compare_3x3": three, "compare_3x3_wall_seconds": wall,
                                    "ablation_no_random_openings": ablation}, table)


def temperature_only_selfplay(budget: float = 300.0) -> dict:
    """3x3 self-play as compare runs it, but with no random openings and temperature on all
    moves."""
    configs = default_configs(Hexapawn(3, 3))
    configs["puct"] = dataclasses.replace(configs["puct"], temperature_moves=1000)
    configs["selfplay"] = dataclasses.replace(configs["selfplay"], opening_plies=0)
    with tempfile.TemporaryDirectory() as directory:
        summary = compare(3, 3, Path(directory) / "run", seed=0,
                          config=CompareConfig(selfplay_seconds=budget), progress=False,
                          log=lambda line: None, configs=configs)
    last = summary["selfplay"]["final"]
    return {"generations": last["generation"], "seconds": last["seconds"],
            "perfect": last["perfect"] == 1.0,
            "accuracy_white": last["accuracy_white"], "accuracy_black": last["accuracy_black"]}


if __name__ == "__main__":
    main()

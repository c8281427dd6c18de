"""Self-play recipes on KQvK, graded by the tables: why self-play from zero does not mate.

`minizero compare --game chess-endgame:KQvK` shows the self-play arm keeping its queen but
hardly ever mating the perfect defender. Here the self-play arm alone runs with a few recipes,
each from the same random weights for the same number of generations (the comparison's
network and self-play settings: 2 x 32, fully connected policy head, 8 games and 40 training
steps a generation, a 20-generation window), and its last net is graded exactly:

* win-keeping, distance-optimal, the defending side's longest resistance and raw conversion
  against the perfect defender (``endgame_grade``, every position, the 200 fixed starts);
* **mate in one**: the share of the won positions one ply from mate where the raw policy's
  favourite mates; a learner that cannot do this cannot convert anything;
* **decisive**: the share of the positions of its last window of games whose game ended in
  mate (value target +1 or -1; the rest were draws and teach the value head only "draw").

Recipes: the comparison's (``starts=uniform``); ``starts=even`` (every distance to mate as
often, so one game in ten starts a move from mate); ``starts=even`` with 64 simulations and
no temperature; and ``within=1`` (every game starts a move from mate: the easiest lesson there
is). Each run resumes where it stopped (runs/bench-endgame-selfplay/).

Run: ``make bench BENCH=endgame_selfplay`` (MINIZERO_BENCH_GENERATIONS, default 60).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import machine, markdown_table, write_results
from minizero.chessgame.endgame import from_spec
from minizero.chessgame.endgame_grade import favourites, grade_network, grading_set
from minizero.cli import main as minizero
from minizero.nn.network import load_network
from minizero.replay import load_samples
from minizero.rundir import read_metrics

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs" / "bench-endgame-selfplay"
SETTINGS = ["--games", "8", "--shard-games", "1", "--window", "20", "--train-steps", "40",
            "--workers", "1", "--leaf-batch", "8", "--dirichlet-alpha", "0.3", "--blocks", "2",
            "--channels", "32", "--value-head", "wdl", "--policy-head", "fc",
            "--batch-size", "128", "--lr", "0.002", "--seed", "0", "--threads", "1", "--quiet"]
RECIPES = {  # name: (game options, self-play options)
    "uniform starts (the comparison's)": ("", ["--simulations", "32", "--temperature-moves", "10"]),
    "starts=even": (",starts=even", ["--simulations", "32", "--temperature-moves", "10"]),
    "starts=even, 64 simulations, no temperature": (
        ",starts=even", ["--simulations", "64", "--temperature-moves", "0"]),
    "within=1 (every start a mate in one)": (
        ",within=1", ["--simulations", "32", "--temperature-moves", "10"]),
    "uniform starts, discount 0.95": (
        "", ["--simulations", "32", "--temperature-moves", "10", "--discount", "0.95"]),
    "starts=even, discount 0.95": (
        ",starts=even", ["--simulations", "32", "--temperature-moves", "10", "--discount", "0.95"]),
}


def decisive_share(run: Path, last: int, window: int = 20) -> float:
    """The share of the last window's positions whose game ended in mate."""
    values = [load_samples(path).value for path in sorted((run / "replay").glob("gen-*.npz"))
              if int(path.name[4:8]) > last - window]
    return float(np.mean(np.abs(np.concatenate(values)) > 0.5))


def main() -> None:
    generations = int(os.environ.get("MINIZERO_BENCH_GENERATIONS", "60"))
    torch.set_num_threads(1)
    game = from_spec("KQvK")
    graded = grading_set(game)
    _, plies = game.won_starts()  # aligned with the graded rows: every won position of KQvK
    rows, payload = [], {"generations": generations, "recipes": {}}

    def grade(network: torch.nn.Module) -> dict[str, float]:
        marks = grade_network(game, network, graded)
        chosen = favourites(network, graded.planes, graded.offsets, graded.actions)
        return {**marks, "mate_in_one": float(graded.optimal[chosen][plies == 1].mean())}

    for index, (name, (options, flags)) in enumerate(RECIPES.items()):
        run = RUNS / f"recipe-{index}"
        minizero(["selfplay", "--game", f"chess-endgame:KQvK{options}", "--out", str(run),
                  "--generations", str(generations), *SETTINGS, *flags,
                  *(["--resume"] if (run / "config.json").exists() else [])])
        if index == 0:  # the same random weights start every recipe (seed 0)
            payload["untrained"] = grade(load_network(str(run / "checkpoints" / "gen-0000.pt")))
            rows.append(["untrained net", *(f"{payload['untrained'][key]:.1%}" for key in
                                            ("win_keeping", "optimal", "mate_in_one",
                                             "resistance", "conversion_raw")), "-"])
        marks = grade(load_network(str(run / "checkpoints" / f"gen-{generations:04d}.pt")))
        marks["decisive"] = decisive_share(run, generations)
        marks["selfplay_seconds"] = read_metrics(run / "metrics.jsonl")[-1]["seconds"]
        marks["load_average"] = round(os.getloadavg()[0], 2)
        payload["recipes"][name] = {"game": f"chess-endgame:KQvK{options}", "flags": flags,
                                    **marks}
        rows.append([name, f"{marks['win_keeping']:.1%}", f"{marks['optimal']:.1%}",
                     f"{marks['mate_in_one']:.1%}", f"{marks['resistance']:.1%}",
                     f"{marks['conversion_raw']:.1%}",
                     f"{marks['decisive']:.1%}"])
    text = (f"KQvK, self-play alone for {generations} generations from random weights "
            f"({machine()['cpu'].get('model', '?')})\n\n" + markdown_table(
                ["recipe", "win-keeping", "distance-optimal", "mate in one",
                 "defence: longest resistance", "conversion (raw)", "decisive positions"], rows))
    write_results("endgame_selfplay", payload, text)


if __name__ == "__main__":
    main()

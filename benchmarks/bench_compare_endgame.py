"""Chess endgames: supervised (table labels) vs self-play at an equal wall-clock budget, graded
exactly by the tablebase (``minizero compare --game chess-endgame:SIG``).

Runs (or resumes, or just reports, if it has finished) one comparison in a run directory and
copies its figures to benchmarks/results/compare_endgame_<SIG>[_seedN].{json,md,png}.
Environment: MINIZERO_BENCH_GAME (default chess-endgame:KQvK), MINIZERO_BENCH_BUDGET (per arm,
default 15m), MINIZERO_BENCH_SEED (default 0), MINIZERO_BENCH_OUT (run directory, default
runs/compare-endgame-<SIG>[-seedN]).

    make bench BENCH=compare_endgame
    MINIZERO_BENCH_GAME=chess-endgame:KRvK make bench BENCH=compare_endgame
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmarks.common import RESULTS, write_results
from minizero.chessgame.compare import CompareConfig
from minizero.chessgame.endgame import EndgameGame
from minizero.chessgame.endgame_compare import EndgameComparison
from minizero.compare import parse_budget
from minizero.games import make_game


def main() -> None:
    spec = os.environ.get("MINIZERO_BENCH_GAME", "chess-endgame:KQvK")
    budget = os.environ.get("MINIZERO_BENCH_BUDGET", "15m")
    seed = int(os.environ.get("MINIZERO_BENCH_SEED", "0"))
    game = make_game(spec)
    assert isinstance(game, EndgameGame), f"{spec} is not a chess-endgame game"
    suffix = "" if seed == 0 else f"_seed{seed}"
    out = Path(os.environ.get("MINIZERO_BENCH_OUT",
                              f"runs/compare-endgame-{game.signature}{suffix.replace('_', '-')}"))
    config = CompareConfig(budget=parse_budget(budget), seed=seed, opening_plies=0,
                           max_plies=game.max_plies)
    comparison = EndgameComparison(out, config, game, resume=(out / "config.json").exists(),
                                   progress=False, log=lambda line: print(line, flush=True))
    summary = comparison.run()
    command = (f"minizero compare --game {spec} --budget {budget} --out {out}"
               + (f" --seed {seed}" if seed else ""))
    name = f"compare_endgame_{game.signature}{suffix}"
    write_results(name, {"command": command, "run": str(out), **summary},
                  f"`{command}`\n\n{(out / 'summary.md').read_text()}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "learning_curves.png", RESULTS / f"{name}.png")


if __name__ == "__main__":
    main()

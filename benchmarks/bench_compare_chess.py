"""Chess: supervised vs self-play at an equal wall-clock budget (``minizero compare``).

Runs (or resumes, or just reports, if it has finished) one comparison in a run directory and
copies its figures to benchmarks/results/compare_chess.{json,md,png}. Two yardsticks come with
them: what a uniformly random legal move and a value of 0 everywhere would score on the held-out
set; and how self-play games of the final self-play net end (its own search settings, no
resignation), which says what the value head had to learn from. Environment:
MINIZERO_BENCH_BUDGET (per arm, default 15m), MINIZERO_BENCH_OUT (run directory, default
/work/data/compare/real-15m), MINIZERO_AZ_DATA (held-out shards, default
/work/data/az-chess/sf-d8; labelled afresh when absent), MINIZERO_BENCH_SEED (default 1: the
held-out shards were made with seed 0, so the supervised arm's openings differ from theirs;
another seed writes compare_chess_seedN.*).

    make bench BENCH=compare_chess
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import chess
import numpy as np
import torch

from benchmarks.common import RESULTS, write_results
from minizero.chessgame.compare import ChessComparison, CompareConfig
from minizero.chessgame.game import ChessGame, ChessState
from minizero.chessgame.training import cp_to_value
from minizero.compare import parse_budget
from minizero.nn.network import load_network
from minizero.peers import find_stockfish
from minizero.replay import load_samples
from minizero.search.puct import network_evaluator
from minizero.selfplay import play_game

FINAL_STATES: list[ChessState] = []


class RecordingChess(ChessGame):
    """Chess that remembers the last terminal state it was asked about: after a self-play game,
    the position that ended it (the search's own terminal leaves are asked about before)."""

    def terminal_value(self, state: ChessState) -> float | None:
        value = super().terminal_value(state)
        if value is not None:
            FINAL_STATES.append(state)
        return value


def ending(game: ChessGame, state: ChessState) -> str:
    board = state.board
    if not state.moves:
        return "checkmate" if board.is_check() else "stalemate"
    if state.repetitions >= 2:
        return "threefold repetition"
    if board.halfmove_clock >= 100:
        return "fifty-move rule"
    if board.is_insufficient_material():
        return "insufficient material"
    return f"{game.max_plies}-ply cap"


def selfplay_endings(comparison: ChessComparison, checkpoint: Path, games: int) -> dict[str, Any]:
    """How ``games`` self-play games of the final self-play net end, and their length."""
    torch.set_num_threads(1)
    game = RecordingChess(comparison.game.history, comparison.game.max_plies)
    evaluate = network_evaluator(game, load_network(str(checkpoint)))
    rng = np.random.default_rng(0)
    endings: Counter[str] = Counter()
    plies = []
    for _ in range(games):
        play_game(game, evaluate, comparison.puct, rng, symmetries=False,
                  opening_plies=comparison.config.opening_plies)
        endings[ending(game, FINAL_STATES[-1])] += 1
        plies.append(FINAL_STATES[-1].ply)
    return {"games": games, "endings": dict(endings), "mean_plies": float(np.mean(plies))}


def selfplay_outcomes(out: Path) -> dict[str, int]:
    """Decisive and drawn games among the self-play arm's stored games (one game a shard)."""
    outcomes: Counter[str] = Counter()
    for shard in sorted((out / "selfplay" / "run" / "replay").glob("*.npz")):
        outcomes["decisive" if load_samples(shard).value[0] != 0 else "drawn"] += 1
    return dict(outcomes)


def yardsticks(held: Any) -> dict[str, float]:
    """Top-1 of a uniformly random legal move (expected), value MAE of predicting 0."""
    legal = [chess.Board(str(fen)).legal_moves.count() for fen in held.fen]
    return {"random_move_top1": float(np.mean([1 / count for count in legal])),
            "zero_value_mae": float(np.abs(cp_to_value(held.score)).mean())}


def main() -> None:
    budget = os.environ.get("MINIZERO_BENCH_BUDGET", "15m")
    out = Path(os.environ.get("MINIZERO_BENCH_OUT", "/work/data/compare/real-15m"))
    held_out = os.environ.get("MINIZERO_AZ_DATA", "/work/data/az-chess/sf-d8")
    config = CompareConfig(budget=parse_budget(budget),
                           seed=int(os.environ.get("MINIZERO_BENCH_SEED", "1")))
    comparison = ChessComparison(out, config, find_stockfish(),
                            held_out if Path(held_out).is_dir() else None,
                            resume=(out / "config.json").exists(), progress=False,
                            log=lambda line: print(line, flush=True))
    summary = comparison.run()
    extra = {**yardsticks(comparison.load_held_out()),
             "selfplay_endings": selfplay_endings(
                 comparison, out / summary["arms"]["selfplay"]["final"]["checkpoint"], 20),
             "selfplay_outcomes": selfplay_outcomes(out)}
    endings = ", ".join(f"{name} {count}" for name, count in
                        sorted(extra["selfplay_endings"]["endings"].items()))
    table = ((out / "summary.md").read_text()
             + f"\nYardsticks: a random legal move agrees {extra['random_move_top1']:.1%}; a "
             f"value of 0 everywhere has MAE {extra['zero_value_mae']:.3f}. The self-play "
             f"arm's games: {extra['selfplay_outcomes'].get('decisive', 0)} decisive, "
             f"{extra['selfplay_outcomes'].get('drawn', 0)} drawn. Self-play games of "
             f"the final self-play net (no resignation): {endings}; "
             f"{extra['selfplay_endings']['mean_plies']:.0f} plies on average.\n")
    command = (f"minizero compare --game chess --budget {budget} --out {out} --seed {config.seed}"
               + (f" --held-out {held_out}" if Path(held_out).is_dir() else ""))
    name = "compare_chess" + ("" if config.seed == 1 else f"_seed{config.seed}")
    write_results(name, {"command": command, "run": str(out), **summary, **extra},
                  f"`{command}`\n\n{table}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "learning_curves.png", RESULTS / f"{name}.png")


if __name__ == "__main__":
    main()

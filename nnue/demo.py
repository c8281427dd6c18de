"""The chess part of ``make demo``: ``nnue-uci`` plays one fast game against ``minizero-uci``.

Both engines are the same alpha-beta searcher; one evaluates with the shipped NNUE
(``nnue/nets/king-buckets-256.nnue``), the other with the classical material and
piece-square tables. The game starts from a balanced opening (the first of
``benchmarks/openings.fen`` when the repository is at hand, else the start position), runs at
5 seconds a side plus 0.05 a move through the same match code as ``minizero match``, prints each
move as it is played with the mover's score, and writes its PGN under ``runs/demo/``.

    python -m nnue.demo [--tc 5+0.05] [--out runs/demo/game.pgn]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import chess

from minizero.atomic import write_text
from minizero.chessgame.commands import parse_time_control
from minizero.chessgame.openings import read_openings
from minizero.chessgame.uci_game import EngineSpec, MatchConfig, play_game
from minizero.outputs import RUNS, add_force_argument, refuse_overwrite

OPENINGS = Path(__file__).resolve().parent.parent / "benchmarks" / "openings.fen"
NNUE = EngineSpec("nnue-uci", (sys.executable, "-m", "nnue.engine"))
CLASSICAL = EngineSpec("minizero-uci", (sys.executable, "-m", "minizero.chessgame.engine"))
# Adjudication as in the project's matches: a loss once both engines agree on 600 cp for 4
# moves each, a draw after move 40 once both see |score| <= 10 for 8 moves each.
ADJUDICATION = {"resign_score": 600, "resign_moves": 4, "draw_score": 10, "draw_moves": 8,
                "draw_after": 40}


def opening() -> tuple[str, str]:
    """The first balanced opening of the project's set, and where it came from."""
    if OPENINGS.is_file():
        return read_openings(OPENINGS)[0], "the first opening of benchmarks/openings.fen"
    return chess.STARTING_FEN, "the start position"


class MovePrinter:
    """Prints the game as it is played: a full move a line, each move with its engine's score.

    Scores are in pawns for White, as the engine that moved saw the position (nnue-uci plays
    White, minizero-uci Black); "mate" when it saw a forced mate.
    """

    def __init__(self) -> None:
        self.line_open = False  # White's move printed, Black's not yet

    def __call__(self, board: chess.Board, move: chess.Move, centipawns: int | None) -> None:
        if centipawns is None:
            score = ""
        elif abs(centipawns) >= 50_000:  # python-chess's mate score
            score = "mate"
        else:
            for_white = centipawns if board.turn == chess.WHITE else -centipawns
            score = f"{for_white / 100:+.2f}"
        text = f"{board.san(move):8}{score:>6}"
        if board.turn == chess.WHITE:
            print(f"  {board.fullmove_number:3}. {text}", end="", flush=True)
        elif self.line_open:
            print(f"    {text}", flush=True)
        else:  # the opening left Black to move
            print(f"  {board.fullmove_number:3}. {'...':14}    {text}", flush=True)
        self.line_open = board.turn == chess.WHITE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnue.demo",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--tc", default="5+0.05", help="seconds a side + seconds a move")
    parser.add_argument("--out", type=Path, help="PGN file to write (default "
                        "runs/demo/nnue-vs-classical-TIME.pgn)")
    add_force_argument(parser)
    args = parser.parse_args(argv)
    try:
        base, increment = parse_time_control(args.tc)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = args.out or RUNS / "demo" / f"nnue-vs-classical-{stamp}.pgn"
        refuse_overwrite(out, args.force)
    except ValueError as error:
        parser.error(str(error))
    fen, source = opening()
    config = MatchConfig(games=1, base_time=base, increment=increment, concurrency=1,
                         **ADJUDICATION)
    print(f"nnue-uci (White, NNUE) vs minizero-uci (Black, classical) at {args.tc}, from "
          f"{source}:\n  {fen}\n  (after each move: its engine's score, in pawns for White)",
          flush=True)
    began = time.perf_counter()
    record = asyncio.run(play_game(0, NNUE, CLASSICAL, fen, config, on_move=MovePrinter()))
    write_text(out, record.pgn + "\n")
    print(f"\nresult {record.result} ({record.termination}) after {record.plies} plies in "
          f"{time.perf_counter() - began:.0f} s; PGN in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Win At Chess: tactical positions solved by minizero and by sunfish in the same run.

Each engine plays one move per position at a fixed time through UCI; a position is solved
when the move is one of the EPD's best moves (``bm``). The two engines alternate position by
position, so machine load drifts affect both alike. Needs ``../shared/data/wac.epd`` (or
MINIZERO_WAC=path). Run: ``make bench BENCH=chess_wac`` (MINIZERO_BENCH_SECONDS, default 1;
MINIZERO_BENCH_POSITIONS to take only the first N).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import chess
import chess.engine
from tqdm import tqdm

from benchmarks.common import markdown_table, write_results
from minizero.chessgame.match import EngineSpec
from minizero.peers import find_sunfish

WAC = Path(__file__).resolve().parents[2] / "shared" / "data" / "wac.epd"


def main() -> None:
    path = Path(os.environ.get("MINIZERO_WAC", WAC))
    if not path.exists():
        print(f"skipped: {path} not found")
        return
    seconds = float(os.environ.get("MINIZERO_BENCH_SECONDS", "1.0"))
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    limit = int(os.environ.get("MINIZERO_BENCH_POSITIONS", len(lines)))
    suite = [chess.Board.from_epd(line) for line in lines[:limit]]
    commands = {"minizero": list(EngineSpec.parse("minizero").command),
                "sunfish": [find_sunfish()]}
    solved = {name: [] for name in commands}
    engines = {name: chess.engine.SimpleEngine.popen_uci(cmd) for name, cmd in commands.items()}
    try:
        for board, operations in tqdm(suite, desc="wac", file=sys.stderr,
                                      disable=not sys.stderr.isatty()):
            for name, engine in engines.items():
                move = engine.play(board, chess.engine.Limit(time=seconds)).move
                if move in operations.get("bm", []):
                    solved[name].append(operations.get("id", board.fen()))
    finally:
        for engine in engines.values():
            engine.quit()
    rows = [[name, len(ids), len(suite), f"{100 * len(ids) / len(suite):.0f}%"]
            for name, ids in solved.items()]
    payload = {"seconds_per_position": seconds, "positions": len(suite),
               "solved": {name: len(ids) for name, ids in solved.items()},
               "solved_ids": solved}
    table = markdown_table(["engine", "solved", "positions", "share"], rows)
    table += f"\n\nWin At Chess, {seconds:g} s a position, one process each, alternating."
    write_results("chess_wac", payload, table)

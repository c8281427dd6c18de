"""Win At Chess: tactical positions solved by minizero and by sunfish in the same run.

Each engine plays one move per position at a fixed time through UCI; a position is solved
when the move is one of the EPD's best moves (``bm``). The two engines alternate position by
position, so machine load drifts affect both alike. Needs ``../shared/data/wac.epd`` (or
MINIZERO_WAC=path). Run: ``make bench BENCH=chess_wac`` (MINIZERO_BENCH_SECONDS, default 1;
MINIZERO_BENCH_POSITIONS to take only the first N).
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.common import markdown_table, solve_epd, write_results
from minizero.chessgame.match import EngineSpec
from minizero.peers import find_sunfish

WAC = Path(__file__).resolve().parents[2] / "shared" / "data" / "wac.epd"


def main() -> None:
    path = Path(os.environ.get("MINIZERO_WAC", WAC))
    if not path.exists():
        print(f"skipped: {path} not found")
        return
    seconds = float(os.environ.get("MINIZERO_BENCH_SECONDS", "1.0"))
    limit = os.environ.get("MINIZERO_BENCH_POSITIONS")
    payload = solve_epd({"minizero": EngineSpec.parse("minizero"),
                         "sunfish": EngineSpec("sunfish", (find_sunfish(),))},
                        path, seconds, int(limit) if limit else None)
    solved, positions = payload["solved_ids"], payload["positions"]
    rows = [[name, len(ids), positions, f"{100 * len(ids) / positions:.0f}%"]
            for name, ids in solved.items()]
    table = markdown_table(["engine", "solved", "positions", "share"], rows)
    table += f"\n\nWin At Chess, {seconds:g} s a position, one process each, alternating."
    write_results("chess_wac", payload, table)

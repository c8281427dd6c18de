"""Search speed of minizero's classical engine against sunfish, side by side in one run.

Both engines analyse the same positions for the same wall time through UCI; each reports its
node count, and the ratio of nodes per second is the figure. Node definitions differ a little
(minizero counts every negamax and quiescence call; sunfish every call of its bound search),
so the ratio says "how many positions each visits", not "how strong". Positions: the
Bratko-Kopec suite when ``../shared/data`` is there, else a few of our own.
Run: ``make bench BENCH=chess_nps`` (MINIZERO_BENCH_SECONDS sets the time per position).
"""

from __future__ import annotations

import os
from pathlib import Path

import chess
import chess.engine

from benchmarks.common import markdown_table, write_results
from minizero.chessgame.match import EngineSpec
from minizero.peers import find_sunfish

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OWN_POSITIONS = [
    chess.STARTING_FEN,
    "r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4",
    "r2q1rk1/pp2bppp/2n1pn2/3p4/3P4/2NBPN2/PP3PPP/R2Q1RK1 w - - 0 10",
    "8/5k2/3p4/1p1Pp2p/pP2Pp1P/P4P1K/8/8 b - - 0 1",
]


def positions() -> list[str]:
    path = SHARED / "bratko_kopec.epd"
    if path.exists():
        return [chess.Board.from_epd(line)[0].fen()
                for line in path.read_text().splitlines() if line.strip()]
    return OWN_POSITIONS


def nodes_per_second(command: list[str], fens: list[str], seconds: float) -> tuple[int, float]:
    nodes, elapsed = 0, 0.0
    with chess.engine.SimpleEngine.popen_uci(command) as engine:
        for fen in fens:
            info = engine.analyse(chess.Board(fen), chess.engine.Limit(time=seconds))
            nodes += info.get("nodes", 0)
            elapsed += info.get("time", seconds)
    return nodes, elapsed


def main() -> None:
    seconds = float(os.environ.get("MINIZERO_BENCH_SECONDS", "1.0"))
    fens = positions()
    ours = list(EngineSpec.parse("minizero").command)
    sunfish = [find_sunfish()]
    rows, payload = [], {"seconds_per_position": seconds, "positions": len(fens)}
    for name, command in (("minizero", ours), ("sunfish", sunfish)):
        nodes, elapsed = nodes_per_second(command, fens, seconds)
        payload[name] = {"nodes": nodes, "seconds": elapsed, "nps": nodes / elapsed}
        rows.append([name, nodes, f"{elapsed:.1f}", f"{nodes / elapsed:,.0f}"])
    ratio = payload["minizero"]["nps"] / payload["sunfish"]["nps"]
    payload["ratio"] = ratio
    table = markdown_table(["engine", "nodes", "seconds", "nodes/s"], rows)
    table += f"\n\nminizero / sunfish nodes per second: {ratio:.2f}x ({len(fens)} positions, "
    table += f"{seconds:g} s each)"
    write_results("chess_nps", payload, table)

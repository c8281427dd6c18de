"""The teacher's UCI client (``chessgame/stockfish.py``) against a scripted engine: the score it
returns is the last exact one, a mate is +-MATE_SCORE, a bound is not a score."""

from __future__ import annotations

import sys
from pathlib import Path

from minizero.chessgame.stockfish import MATE_SCORE, UciEngine

SCRIPT = """#!{python}
import sys
lines = {{"uci": ["id name scripted", "uciok"], "isready": ["readyok"],
          "go": {answer!r}}}
for line in sys.stdin:
    words = line.split()
    for reply in lines.get(words[0] if words else "", []):
        print(reply, flush=True)
    if words == ["quit"]:
        break
"""


def scripted(tmp_path: Path, answer: list[str]) -> UciEngine:
    path = tmp_path / "engine"
    path.write_text(SCRIPT.format(python=sys.executable, answer=answer))
    path.chmod(0o755)
    return UciEngine(str(path))


def test_the_last_exact_score_counts_and_bounds_do_not(tmp_path: Path) -> None:
    engine = scripted(tmp_path, ["info depth 5 score cp 40 pv e2e4",
                                 "info depth 6 seldepth 9 score cp 900 lowerbound pv d2d4",
                                 "info depth 6 score cp -35 upperbound pv d2d4",
                                 "bestmove e2e4 ponder e7e5"])
    try:
        assert engine.search([], 6, None) == (40, "e2e4")
    finally:
        engine.close()


def test_mate_scores_are_the_mate_constant_from_the_side_to_move(tmp_path: Path) -> None:
    engine = scripted(tmp_path, ["info depth 9 score cp 500", "info depth 10 score mate -3",
                                 "bestmove g8h8"])
    try:
        assert engine.search(["e2e4"], 10, None) == (-MATE_SCORE, "g8h8")
    finally:
        engine.close()

"""Every ``info ... score`` line is from the side to move, for each of the three engines, and
says whether it is a bound.

A GUI shows ``score cp 500`` as "the engine thinks it is five pawns up", whoever is to move; a
score sent from White's side puts the wrong sign on every Black move. The positions here are
lopsided (the side to move is a queen and a rook up), so the sign alone is the test, for Black
to move and for its colour-flipped twin with White to move.
"""

from __future__ import annotations

import re

import chess
import pytest

from minizero.chessgame.engine import classical_engine
from minizero.chessgame.protocol import EXACT, LOWER, MATE, UPPER, Engine, SearchInfo, SearchResult
from minizero.chessgame.puct_engine import PuctEngine
from minizero.chessgame.uci import UciServer
from nnue.engine import NnueEngine
from tests.helpers import UciLines

BLACK_UP = "r3k3/pppq1ppp/8/8/8/8/PPP2PPP/4K3 b - - 0 1"
WHITE_UP = chess.Board(BLACK_UP).mirror().fen()
SCORE = re.compile(r" score (cp|mate) (-?\d+)")


def info_scores(engine: Engine, fen: str, go: str) -> list[int]:
    """The score of every info line the server sends for ``go`` from ``fen`` (mates as +-1)."""
    sink = UciLines(timeout=60)
    server = UciServer(engine, output=sink)
    server.handle(f"position fen {fen}")
    server.handle(go)
    sink.wait_for("bestmove")
    server.stop_search()
    scores = []
    for line in sink.history:
        match = SCORE.search(line)
        if line.startswith("info") and match:
            value = int(match.group(2))
            scores.append(value if match.group(1) == "cp" else (1 if value > 0 else -1))
    return scores


ENGINES = {
    "minizero-uci": (classical_engine, "go depth 4"),
    "nnue-uci": (NnueEngine, "go depth 3"),
    "zero-uci": (PuctEngine, "go nodes 64"),
}


@pytest.mark.parametrize("fen", [BLACK_UP, WHITE_UP], ids=["black-to-move", "white-to-move"])
@pytest.mark.parametrize("name", ENGINES)
def test_every_info_score_is_from_the_side_to_move(name: str, fen: str) -> None:
    make, go = ENGINES[name]
    scores = info_scores(make(), fen, go)
    assert scores, "no info line with a score"
    assert all(score > 200 for score in scores), scores


class Reporter(Engine):
    """Reports one exact score, a fail high, a fail low and a mate, then answers."""

    def search(self, board: chess.Board, limits, on_info=None, *args, **kwargs) -> SearchResult:
        move = next(iter(board.legal_moves))
        for score, bound in ((35, EXACT), (80, LOWER), (-20, UPPER), (MATE - 3, EXACT)):
            on_info(SearchInfo(4, 6, score, 1000, 0.5, 0, [move], bound=bound))
        return SearchResult(move, 35, 4, 1000, 0.5, [move])


def test_bounds_and_mates_are_named_as_uci_names_them() -> None:
    sink = UciLines()
    server = UciServer(Reporter(), output=sink)
    server.handle("go depth 4")
    sink.wait_for("bestmove")
    server.stop_search()
    scores = [line.split(" score ")[1].split(" nodes ")[0] for line in sink.history
              if line.startswith("info")]
    assert scores == ["cp 35", "cp 80 lowerbound", "cp -20 upperbound", "mate 2"]

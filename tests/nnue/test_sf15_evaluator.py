"""The incremental Stockfish-net evaluator equals a full refresh at every node of a search,
special moves and null moves included (on a synthetic net in Stockfish 15.1's format, and on
the installed Stockfish's own net when it is there)."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest

from minizero.chessgame.protocol import Limits
from minizero.chessgame.search import Searcher
from nnue.sf15 import kernel
from nnue.sf15.evaluator import StockfishNnueEvaluator, search_score
from nnue.sf15.net import load_stockfish_net
from nnue.sf15.trace import board_pieces, bucket_of

POSITIONS = [
    chess.STARTING_FEN,
    "r3k2r/pppq1ppp/2npbn2/2b1p3/2B1P3/2NPBN2/PPPQ1PPP/R3K2R w KQkq - 4 8",  # both castlings
    "rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3",  # en passant
    "8/1P4k1/8/8/8/8/5Kp1/7R b - - 0 1",  # promotions, capture-promotions, king moves
    "r1b2rk1/ppp2ppp/8/3q4/8/2N5/PPP2PPP/R2QR1K1 w - - 0 1",
]


class CheckingEvaluator(StockfishNnueEvaluator):
    """Compares the incremental accumulators with a refresh from the board at every evaluate."""

    checked = 0

    def evaluate(self, board: chess.Board) -> int:
        accumulators, psqts = self.accumulators_for(board)
        pieces = board_pieces(board)
        for perspective in (0, 1):
            fresh = np.empty(1024, np.int16)
            fresh_psqt = np.empty(8, np.int32)
            kernel.refresh(pieces, perspective, fresh, fresh_psqt, *self._transformer)
            assert np.array_equal(accumulators[perspective], fresh), board.fen()
            assert np.array_equal(psqts[perspective], fresh_psqt), board.fen()
        side = 0 if board.turn else 1
        material, positional = kernel.evaluate_board(
            pieces, side, bucket_of(chess.popcount(board.occupied)), *self._transformer,
            *self._layers)
        score = super().evaluate(board)
        assert score == search_score(int(material), int(positional), board)
        self.checked += 1
        return score


@pytest.fixture(scope="module")
def synthetic(sf15_synthetic_file):
    return load_stockfish_net(sf15_synthetic_file)


def _search_every_position(net, nodes: int) -> int:
    evaluator = CheckingEvaluator(net)
    searcher = Searcher(evaluator)
    for fen in POSITIONS:
        searcher.new_game()
        searcher.search(chess.Board(fen), Limits(nodes=nodes))
    return evaluator.checked


def test_incremental_equals_refresh_at_every_node_of_a_search(synthetic) -> None:
    assert _search_every_position(synthetic, nodes=1500) > 3000


def test_the_installed_net_too(stockfish_path: str) -> None:
    net = load_stockfish_net("stockfish", stockfish_path)
    assert _search_every_position(net, nodes=800) > 1500


def test_random_walks_with_null_moves_and_deep_pops(synthetic) -> None:
    rng = random.Random(5)
    evaluator = CheckingEvaluator(synthetic, max_plies=4)  # grows past 4 plies
    for _ in range(6):
        board = chess.Board()
        evaluator.reset(board)
        for _ in range(120):
            moves = list(board.legal_moves)
            if not moves or rng.random() < 0.25 and board.move_stack:
                board.pop()
                evaluator.pop()
            else:
                move = chess.Move.null() if rng.random() < 0.1 and not board.is_check() \
                    else rng.choice(moves)
                evaluator.push(board, move)
                board.push(move)
            if rng.random() < 0.5:  # some plies are never evaluated: updates chain over them
                evaluator.evaluate(board)
    assert evaluator.checked > 200


def test_the_score_is_the_same_for_the_colour_flipped_position(synthetic) -> None:
    evaluator = StockfishNnueEvaluator(synthetic)
    for fen in POSITIONS:
        board = chess.Board(fen)
        evaluator.reset(board)
        score = evaluator.evaluate(board)
        flipped = board.mirror()
        evaluator.reset(flipped)
        assert evaluator.evaluate(flipped) == score


def test_pop_without_push_is_refused(synthetic) -> None:
    evaluator = StockfishNnueEvaluator(synthetic)
    evaluator.reset(chess.Board())
    with pytest.raises(ValueError):
        evaluator.pop()

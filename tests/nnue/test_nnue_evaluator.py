"""The incremental evaluator: incremental == refresh along games (null moves and take-backs
included), colour-flip symmetry, batch == single, close to float, and a search in checking mode."""

from __future__ import annotations

import random
from collections import Counter

import chess
import numpy as np
import pytest
from random_nets import random_boards, random_game, random_net

from minizero.chessgame.protocol import Limits
from minizero.chessgame.search import Searcher
from nnue.data import encode_board
from nnue.evaluator import EvaluatorMismatch, NnueEvaluator
from nnue.kernel import NO_CHANGES, load_kernel_net
from nnue.model import dequantize
from nnue.reference import IntegerNet

SHIPPED_NET = "nnue/nets/piece-square-256.nnue"


def refreshed(net: IntegerNet, board: chess.Board) -> np.ndarray:
    return np.stack([net.refresh(board, chess.WHITE), net.refresh(board, chess.BLACK)])


@pytest.mark.parametrize("compiled", [True, False], ids=["kernel", "numpy"])
@pytest.mark.parametrize("feature_set", ["piece-square", "halfkp", "king-buckets"])
def test_incremental_equals_refresh(feature_set: str, compiled: bool) -> None:
    """Along random games with null moves, evaluating at random plies only (lazy updates
    over several plies), then taking every move back."""
    _, net = random_net(feature_set)
    reference = IntegerNet(net.net)
    evaluator = NnueEvaluator(net, check=True, compiled=compiled)
    rng = random.Random(7)
    evaluated = 0
    for _ in range(3 if compiled else 1):
        board = chess.Board()
        evaluator.reset(board)
        for move in random_game(rng, 120):
            if rng.random() < 0.1 and not board.is_check():
                evaluator.push(board, chess.Move.null())
                board.push(chess.Move.null())
                evaluator.evaluate(board)
                board.pop()
                evaluator.pop()
            evaluator.push(board, move)
            board.push(move)
            if rng.random() < 0.6:
                assert evaluator.evaluate(board) == reference.evaluate_board(board)
                evaluated += 1
        assert np.array_equal(evaluator.current_accumulators(), refreshed(reference, board))
        while board.move_stack:
            board.pop()
            evaluator.pop()
            if rng.random() < 0.3:
                evaluator.evaluate(board)  # checked against a refresh (check=True)
        with pytest.raises(IndexError):
            evaluator.pop()
    assert evaluated > 50


@pytest.mark.parametrize("feature_set", ["piece-square", "halfkp", "king-buckets"])
def test_every_move_kind_incremental(feature_set: str) -> None:
    from test_nnue_features import MOVE_KINDS

    _, net = random_net(feature_set, seed=9)
    reference = IntegerNet(net.net)
    for compiled in (True, False):
        evaluator = NnueEvaluator(net, check=True, compiled=compiled)
        for fen, uci, kind in MOVE_KINDS:
            board = chess.Board(fen)
            evaluator.reset(board)
            evaluator.push(board, chess.Move.from_uci(uci))
            board.push(chess.Move.from_uci(uci))
            assert evaluator.evaluate(board) == reference.evaluate_board(board), kind
            assert np.array_equal(evaluator.current_accumulators(), refreshed(reference, board))


def test_null_move_carries_the_accumulators_over() -> None:
    _, net = random_net("halfkp", seed=4)
    evaluator = NnueEvaluator(net, check=True)
    board = chess.Board("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    evaluator.reset(board)
    before = evaluator.current_accumulators()
    evaluator.push(board, chess.Move.null())
    board.push(chess.Move.null())
    assert evaluator.changes[evaluator.ply] & NO_CHANGES == NO_CHANGES  # nothing to add or remove
    assert np.array_equal(evaluator.current_accumulators(), before)
    # Same accumulators, the other side to move: the perspectives swap places.
    assert evaluator.evaluate(board) == IntegerNet(net.net).evaluate_board(board)


def test_check_mode_catches_a_wrong_accumulator() -> None:
    _, net = random_net("piece-square", seed=2)
    board = chess.Board()
    evaluator = NnueEvaluator(net, check=True)
    evaluator.reset(board)
    evaluator.accumulators[0, 1, 5] += 1  # what a bug in an incremental update would do
    with pytest.raises(EvaluatorMismatch, match="differ from a refresh"):
        evaluator.evaluate(board)
    unchecked = NnueEvaluator(net)
    unchecked.reset(board)
    unchecked.accumulators[0, 1, 5] += 1
    unchecked.evaluate(board)  # silently wrong without the check


@pytest.mark.parametrize("feature_set", ["piece-square", "halfkp", "king-buckets"])
def test_colour_flip_same_score(feature_set: str) -> None:
    model, net = random_net(feature_set, seed=3)
    reference = IntegerNet(net.net)
    boards = random_boards(random.Random(11), 120)
    scores = []
    for board in boards:
        score = reference.evaluate_board(board)
        assert score == reference.evaluate_board(board.mirror()), board.fen()
        scores.append(score)
    assert len(set(scores)) > 10  # the test would be empty on a constant net
    pieces = np.stack([encode_board(b) for b in boards])
    flipped = np.stack([encode_board(b.mirror()) for b in boards])
    turns = np.array([int(b.turn) for b in boards])
    assert np.array_equal(net.evaluate_batch(pieces, turns), net.evaluate_batch(flipped, 1 - turns))
    float_scores = model.evaluate_cp(pieces, turns)
    assert np.allclose(float_scores, model.evaluate_cp(flipped, 1 - turns), atol=1e-3)


@pytest.mark.parametrize("feature_set", ["piece-square", "halfkp", "king-buckets"])
def test_batch_equals_single_and_close_to_float(feature_set: str) -> None:
    _, net = random_net(feature_set, seed=5)
    reference = IntegerNet(net.net)
    boards = random_boards(random.Random(2), 150)
    pieces = np.stack([encode_board(b) for b in boards])
    turns = np.array([int(b.turn) for b in boards])
    batch = net.evaluate_batch(pieces, turns, batch_size=37)
    assert np.array_equal(batch, reference.evaluate_batch(pieces, turns, batch_size=41))
    single = np.array([reference.evaluate_board(b) for b in boards])
    assert np.array_equal(batch, single)
    # Against the float net with the very same (dequantized) weights, only the rounding of
    # activations differs. (Weight rounding is measured on a trained net in test_training.py.)
    difference = np.abs(batch - dequantize(net.net).evaluate_cp(pieces, turns))
    assert np.mean(difference) < 5, np.mean(difference)


def test_int8_trap_is_real() -> None:
    """Why the reference widens before multiplying: an int8 product sum wraps silently."""
    a = np.full(4, 127, np.int8)
    assert int(a @ a) != 4 * 127 * 127
    assert int(a.astype(np.int64) @ a.astype(np.int64)) == 4 * 127 * 127


class MoveKindCounter(NnueEvaluator):
    """The checking evaluator, counting the kinds of move the search pushes through it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kinds: Counter[str] = Counter()

    def push(self, board: chess.Board, move: chess.Move) -> None:
        if not move:
            self.kinds["null"] += 1
        elif board.is_castling(move):
            self.kinds["castling"] += 1
        elif board.is_en_passant(move):
            self.kinds["en passant"] += 1
        elif move.promotion:
            self.kinds["promotion"] += 1
        elif board.piece_type_at(move.from_square) == chess.KING:
            self.kinds["king"] += 1
        super().push(board, move)

    def evaluate(self, board: chess.Board) -> int:
        self.kinds["evaluated"] += 1
        return super().evaluate(board)


# Positions where a short search meets every move kind: castling both ways, an en passant
# capture, promotions, king walks in an endgame (halfkp refreshes), and null moves.
SEARCH_POSITIONS = [
    "r3k2r/pp1n1ppp/2p1pn2/q2pP3/3P4/2N2N2/PPPQ1PPP/R3K2R w KQkq d6 0 10",
    "r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1",
    "8/2P1k3/8/3pP3/8/8/5p2/R3K3 w Q d6 0 1",
    "8/8/4k3/3p4/3P1K2/8/8/8 w - - 0 1",
    "r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4",
]


@pytest.mark.slow
@pytest.mark.parametrize("which", ["halfkp-random", "king-buckets-random",
                                   "shipped-piece-square"])
def test_search_in_checking_mode(which: str) -> None:
    """The searcher driven by the checking evaluator: every evaluated node is compared with a
    full refresh and the numpy reference, over thousands of nodes and every move kind."""
    net = (load_kernel_net(SHIPPED_NET) if which == "shipped-piece-square"
           else random_net(which.removesuffix("-random"), seed=1)[1])
    evaluator = MoveKindCounter(net, check=True)
    searcher = Searcher(evaluator)
    for fen in SEARCH_POSITIONS:
        searcher.new_game()
        searcher.search(chess.Board(fen), Limits(nodes=2000))
    kinds = evaluator.kinds
    assert kinds["evaluated"] >= 5000, kinds
    # Whether the search tries a null move depends on the net's scores; this random king-buckets
    # net never gets one, the other two do (and king-bucket changes are what it is here for).
    needed = ("castling", "en passant", "promotion", "king") + (
        () if which == "king-buckets-random" else ("null",))
    for kind in needed:
        assert kinds[kind] > 0, kinds

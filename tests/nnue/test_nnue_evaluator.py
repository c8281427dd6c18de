"""Integer evaluator: incremental == refresh, colour-flip symmetry, batch == single, vs float."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest
import torch

from nnue.data import encode_board
from nnue.evaluator import Evaluator, IntegerNet, exact_dtype
from nnue.model import NnueConfig, NnueModel
from nnue.quantize import dequantize, quantize


def random_net(feature_set: str, seed: int = 0, l1: int = 64) -> tuple[NnueModel, IntegerNet]:
    """An untrained net with weights spread widely enough to exercise every clip."""
    torch.manual_seed(seed)
    model = NnueModel(NnueConfig(feature_set, l1, 32, 32))
    with torch.no_grad():
        model.feature_transformer.weight[:-1].normal_(0.0, 0.15)
        model.ft_bias.uniform_(-0.2, 0.8)
        for layer in (model.hidden1, model.hidden2):
            layer.weight.normal_(0.0, 0.5 / np.sqrt(layer.in_features) * 2)
            layer.bias.uniform_(-0.2, 0.6)
        model.output.weight.normal_(0.0, 0.8)
    model.clip_weights()
    return model, IntegerNet(quantize(model))


def random_game(rng: random.Random, plies: int = 200) -> list[chess.Move]:
    board = chess.Board()
    moves = []
    while not board.is_game_over() and len(moves) < plies:
        legal = list(board.legal_moves)
        castles = [m for m in legal if board.is_castling(m)]
        promotions = [m for m in legal if m.promotion]
        move = rng.choice(castles or promotions or legal) if rng.random() < 0.5 else rng.choice(
            legal)
        board.push(move)
        moves.append(move)
    return moves


@pytest.mark.parametrize("feature_set", ["piece-square", "halfkp", "king-buckets"])
def test_incremental_equals_refresh(feature_set: str) -> None:
    _, net = random_net(feature_set)
    rng = random.Random(7)
    for _ in range(4):
        evaluator = Evaluator(net)
        moves = random_game(rng)
        for move in moves:
            evaluator.push(move)
            board = evaluator.board
            refreshed = np.concatenate([net.refresh(board, board.turn),
                                        net.refresh(board, not board.turn)])
            assert np.array_equal(evaluator.accumulators(), refreshed), (board.fen(), move)
            assert evaluator.evaluate() == net.evaluate_board(board)
        # Popping back restores every earlier accumulator exactly.
        for _ in moves:
            evaluator.pop()
        start = Evaluator(net)
        assert np.array_equal(evaluator.accumulators(), start.accumulators())
        with pytest.raises(IndexError):
            evaluator.pop()


def random_boards(rng: random.Random, plies: int) -> list[chess.Board]:
    """Every position of a random game, as independent boards."""
    boards = []
    board = chess.Board()
    for move in random_game(rng, plies):
        board.push(move)
        boards.append(board.copy(stack=False))
    return boards


def mirrored(board: chess.Board) -> chess.Board:
    """Ranks mirrored, colours and side to move swapped."""
    return board.mirror()


@pytest.mark.parametrize("feature_set", ["piece-square", "halfkp", "king-buckets"])
def test_colour_flip_same_score(feature_set: str) -> None:
    model, net = random_net(feature_set, seed=3)
    boards = random_boards(random.Random(11), 120)
    scores = []
    for board in boards:
        score = net.evaluate_board(board)
        assert score == net.evaluate_board(mirrored(board)), board.fen()
        scores.append(score)
    assert len(set(scores)) > 10  # the test would be empty on a constant net
    pieces = np.stack([encode_board(b) for b in boards])
    flipped = np.stack([encode_board(mirrored(b)) for b in boards])
    turns = np.array([int(b.turn) for b in boards])
    assert np.array_equal(net.evaluate_batch(pieces, turns), net.evaluate_batch(flipped, 1 - turns))
    float_scores = model.evaluate_cp(pieces, turns)
    assert np.allclose(float_scores, model.evaluate_cp(flipped, 1 - turns), atol=1e-3)


@pytest.mark.parametrize("feature_set", ["piece-square", "halfkp", "king-buckets"])
def test_batch_equals_single_and_close_to_float(feature_set: str) -> None:
    model, net = random_net(feature_set, seed=5)
    boards = random_boards(random.Random(2), 150)
    pieces = np.stack([encode_board(b) for b in boards])
    turns = np.array([int(b.turn) for b in boards])
    batch = net.evaluate_batch(pieces, turns, batch_size=37)
    single = np.array([net.evaluate_board(b) for b in boards])
    assert np.array_equal(batch, single)
    # Against the float net with the very same (dequantized) weights, only the rounding of
    # activations differs. (Weight rounding is measured on a trained net in test_training.py.)
    difference = np.abs(batch - dequantize(net.net).evaluate_cp(pieces, turns))
    assert np.mean(difference) < 5, np.mean(difference)


def test_float32_bound() -> None:
    assert exact_dtype(2 * 256) is np.float32  # 512 x 127 x 127 = 8,258,048 < 2**24
    assert exact_dtype(2 * 520) is np.float32
    assert exact_dtype(2 * 521) is np.float64  # 1042 x 16,129 > 2**24


def test_int8_trap_is_real() -> None:
    """Why the evaluator never multiplies int8 by int8 in numpy: the sum wraps silently."""
    a = np.full(4, 127, np.int8)
    assert int(a @ a) != 4 * 127 * 127
    assert int(a.astype(np.float32) @ a.astype(np.float32)) == 4 * 127 * 127


@pytest.mark.parametrize("feature_set", ["piece-square", "halfkp", "king-buckets"])
def test_every_move_kind_incremental(feature_set: str) -> None:
    from test_nnue_features import MOVE_KINDS

    _, net = random_net(feature_set, seed=9)
    for fen, uci, kind in MOVE_KINDS:
        evaluator = Evaluator(net, chess.Board(fen))
        evaluator.push(chess.Move.from_uci(uci))
        board = evaluator.board
        refreshed = np.concatenate([net.refresh(board, board.turn),
                                    net.refresh(board, not board.turn)])
        assert np.array_equal(evaluator.accumulators(), refreshed), kind
        assert evaluator.evaluate() == net.evaluate_board(board), kind

"""Stockfish 15.1's constants checked without Stockfish: a net file with a handful of known
weights, whose output is worked out by hand here, step by step as ``nnue/sf15/kernel.py`` and
``nnue/sf15/evaluator.py`` describe it. A wrong shift, scale, halving or bucket changes a number.

The position: White Ke1, Pe2, Black Ke8 (3 pieces: layer stack (3 - 1) // 4 = 0). Every weight
is zero except:

* transformer biases: a[0] = 100, a[512] = 64 (both perspectives), a[513] = 127;
* the White pawn on e2 as White's own pawn adds 127 to a[1] and 3000 to PSQT bucket 0; as
  Black's "their pawn" it adds -1000 to PSQT bucket 0;
* fc_0 output 0 reads input 0 with weight 64; output 15 (the skip) reads input 1 with weight 10;
* fc_1 output 0 reads hidden 0 (squared) with weight 64, output 1 reads hidden 15 (clipped) with
  weight 64; fc_2 = 10 + 2 x fc_1[0] + 3 x fc_1[1].
"""

from __future__ import annotations

from pathlib import Path

import chess
import numpy as np
import pytest

from nnue.sf15 import kernel
from nnue.sf15 import net as sf
from nnue.sf15.evaluator import StockfishNnueEvaluator, search_value
from nnue.sf15.net import load_stockfish_net
from nnue.sf15.trace import board_pieces, nnue_value
from tests.nnue.sf15_synthetic import net_file_bytes

FEN = "4k3/8/8/8/8/8/4P3/4K3 {} - - 0 1"
# HalfKAv2_hm: king e1 (file e, no mirroring) is bucket 4 x (7 - 0) + (7 - 4) = 31; the pawn's
# square 12 (e2), own-pawn plane 0, for White; square 12 ^ 56 = 52, their-pawn plane 1, for Black.
PAWN_FOR_WHITE = 12 + 64 * 0 + 64 * 11 * 31
PAWN_FOR_BLACK = 52 + 64 * 1 + 64 * 11 * 31


def hand_net_bytes() -> bytes:
    biases = np.zeros(sf.HALF_DIMENSIONS, np.int16)
    biases[[0, 512, 513]] = 100, 64, 127
    weights = np.zeros((sf.FEATURES, sf.HALF_DIMENSIONS), np.int16)
    weights[PAWN_FOR_WHITE, 1] = 127
    psqt = np.zeros((sf.FEATURES, sf.PSQT_BUCKETS), np.int32)
    psqt[PAWN_FOR_WHITE, 0], psqt[PAWN_FOR_BLACK, 0] = 3000, -1000
    fc0 = np.zeros((16, 1024), np.int8)
    fc0[0, 0], fc0[15, 1] = 64, 10
    fc1 = np.zeros((32, 30), np.int8)
    fc1[0, 0], fc1[1, 15] = 64, 64
    fc2 = np.zeros((1, 32), np.int8)
    fc2[0, :2] = 2, 3
    stack = (np.zeros(16), fc0, np.zeros(32), fc1, np.array([10]), fc2)
    return net_file_bytes(biases, weights, psqt, [stack] * sf.LAYER_STACKS)


@pytest.fixture(scope="module")
def hand_net(tmp_path_factory: pytest.TempPathFactory) -> sf.StockfishNet:
    path = tmp_path_factory.mktemp("sf15") / "hand.nnue"
    path.write_bytes(hand_net_bytes())
    return load_stockfish_net(path)


def test_halfkav2_hm_features_follow_stockfishs_king_buckets() -> None:
    # Stockfish 15.1's KingBuckets: rank 1 a..h is 28 29 30 31 31 30 29 28, rank 8 is 0 1 2 3 3
    # 2 1 0, with the king mirrored onto files e-h (and ranks flipped for Black).
    stockfish_rank_1 = (28, 29, 30, 31, 31, 30, 29, 28)
    for file, bucket in enumerate(stockfish_rank_1):
        king = chess.square(file, 0)
        mirror = 7 if file < 4 else 0
        assert kernel.feature_index(0, king, chess.E2, 1) == (chess.E2 ^ mirror) + 704 * bucket
        black_king = chess.square(file, 7)  # Black's own first rank
        assert kernel.feature_index(1, black_king, chess.E7, 9) == (
            (chess.E7 ^ 56 ^ mirror) + 704 * bucket)
    assert kernel.feature_index(0, chess.H8, chess.A1, 6) == 0 + 64 * 10 + 704 * 0  # king plane
    assert kernel.feature_index(0, chess.E4, chess.A1, 13) == 0 + 64 * 9 + 704 * (4 * 4 + 3)
    assert kernel.feature_index(0, chess.E1, chess.E2, 1) == PAWN_FOR_WHITE
    assert kernel.feature_index(1, chess.E8, chess.E2, 1) == PAWN_FOR_BLACK


def test_the_net_terms_by_hand(hand_net: sf.StockfishNet) -> None:
    white = board_pieces(chess.Board(FEN.format("w")))
    material, positional = kernel.evaluate_board(white, 0, 0, *kernel.transformer_arrays(hand_net),
                                                 *kernel.layer_arrays(hand_net))
    # PSQT: (3000 - (-1000)) / 2 = 2000, White to move.
    assert material == 2000
    # Transformer: a[0] x a[512] = 100 x 64 >> 7 = 50 for each side; White's a[1] x a[513] =
    # 127 x 127 >> 7 = 126; Black's a[1] is 0.
    # fc_0: out 0 = 64 x 50 = 3200; the skip out 15 = 10 x 126 = 1260.
    # hidden: squared min(127, 3200^2 >> 19) = 19; clipped 3200 >> 6 = 50.
    # fc_1: 64 x 19 >> 6 = 19 and 64 x 50 >> 6 = 50; fc_2: 10 + 2 x 19 + 3 x 50 = 198.
    # skip: 1260 x 600 x 16 / (127 x 64) = 12,096,000 / 8128 = 1488 (truncated).
    assert positional == 198 + 1488
    black = board_pieces(chess.Board(FEN.format("b")))
    material, positional = kernel.evaluate_board(black, 1, 0, *kernel.transformer_arrays(hand_net),
                                                 *kernel.layer_arrays(hand_net))
    # Black to move: PSQT (-1000 - 3000) / 2; its a[1] is 0, so the skip input is 0.
    assert (material, positional) == (-2000, 198)
    # NNUE::evaluate (unadjusted): (2000 + 1686) / 16 = 230 (truncated).
    assert nnue_value(hand_net, white, 0) == 230


def test_the_evaluators_centipawns_by_hand(hand_net: sf.StockfishNet) -> None:
    board = chess.Board(FEN.format("w"))
    # No non-pawn material: delta = 24, nnue = (1000 x 2000 + 1048 x 1686) / 16384 = 229;
    # x (1064 + 0) / 1024 = 237; x (195 - 0) / 211 = 219 Value units; x 100 / 361 = 60 cp.
    assert search_value(2000, 1686, board) == 219
    evaluator = StockfishNnueEvaluator(hand_net)
    evaluator.reset(board)
    assert evaluator.evaluate(board) == 60
    # With 20 plies on the fifty-move clock: 237 x 175 / 211 = 196; x 100 / 361 = 54 cp.
    board.halfmove_clock = 20
    evaluator.reset(board)
    assert evaluator.evaluate(board) == 54


def test_the_file_holds_the_weights_where_they_were_written(tmp_path: Path) -> None:
    data = hand_net_bytes()
    assert len(data) == 12 + len(b"synthetic test net") + sf.TRANSFORMER_BYTES + (
        sf.LAYER_STACKS * sf.STACK_BYTES)
    path = tmp_path / "hand.nnue"
    path.write_bytes(data)
    net = load_stockfish_net(path)
    assert net.transformer_weights[PAWN_FOR_WHITE, 1] == 127
    assert net.fc1_weights[3, 1, 15] == 64 and net.fc1_weights[3, 1, 30:].tolist() == [0, 0]
    assert net.fc2_biases[7, 0] == 10

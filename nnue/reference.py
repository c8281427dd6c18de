"""The integer NNUE in plain numpy: the readable reference the compiled kernel must equal.

Idea: every operation of ``nnue/kernel.py`` written the obvious way, in numpy integers, with the
same arguments, so that tests can hold the kernel against it bit for bit; and ``IntegerNet``, the
board-level oracle that recomputes a position from ``nnue.features.active_features``.

Integer arithmetic and its traps:

* int16 accumulator. Adds and subtracts wrap modulo 2**16 in numpy (and in the kernel), and
  modular arithmetic is exact: the incremental result equals the refreshed one bit for bit
  whatever the order. The true value never exceeds int16 because training clips every weight and
  the bias to ``FT_WEIGHT_LIMIT`` (33 x 7.82 x 127 <= 32767); ``IntegerNet`` re-checks it on load.
* int8 products. ``int8 @ int8`` in numpy keeps int8 and wraps silently, so the reference widens
  activations and weights to int64 before the product (numpy has no integer BLAS: it is slow,
  and that is what the kernel is for). Sums of at most 2 x 4096 products of 127 x 128 plus an
  int32 bias stay far inside int64.
* Shifts. ``>>`` is an arithmetic shift (a floor); ``(sum + 32) >> 6`` rounds the hidden sums
  back to the 0..127 activation scale and ``(out + 8) >> 4`` the output to centipawns (the
  scheme is written out in ``nnue/quantize.py``).

Scores are centipawns from the side to move.
Reference: Stockfish 12 ``nnue/evaluate_nnue.cpp``, ``nnue_accumulator.h``,
``layers/affine_transform.h``; Nasu (2018). Command: ``nnue check NET --data data/sf``.
"""

from __future__ import annotations

import chess
import numpy as np

from nnue.features import active_features, batch_features, feature_index, feature_set_named
from nnue.kernel import (
    FEATURE_MODES,
    FIELD_MASK,
    HALF_KP_MODE,
    KING_SHIFTS,
    LIFTED_SHIFTS,
    NO_PIECE,
    PLACED_SHIFTS,
    REFRESHED_SHIFT,
    pack_dense,
    unpack_dense,
)
from nnue.quantize import (
    ACTIVATION_ONE,
    HIDDEN_ROUNDING,
    HIDDEN_WEIGHT_SCALE_BITS,
    INT16_MAX,
    MAX_ACTIVE_FEATURES,
    OUTPUT_ROUNDING,
    OUTPUT_SHIFT,
    QuantizedNet,
)

FEATURE_SET_OF_MODE = {mode: feature_set_named(name) for name, mode in FEATURE_MODES.items()}


def layers(accumulators: np.ndarray, weights: np.ndarray, biases: np.ndarray,
           l2: int) -> np.ndarray:
    """Dense layers: (B, 2 L1) int accumulators, side to move first -> (B,) int64 centipawns.

    ``weights``, ``biases``, ``l2``: the layers as ``nnue.kernel.pack_dense`` lays them out,
    unpacked here by the same function run uncompiled.
    """
    hidden1_weight, hidden1_bias, hidden2_weight, hidden2_bias, output_weight, output_bias = (
        unpack_dense.py_func(weights, biases, accumulators.shape[1], l2))
    x = np.clip(accumulators.astype(np.int64), 0, ACTIVATION_ONE)  # (B, 2 L1) 0..127
    for weight, bias in ((hidden1_weight, hidden1_bias), (hidden2_weight, hidden2_bias)):
        total = x @ weight.T.astype(np.int64) + bias.astype(np.int64)  # (B, L2), then (B, L3)
        x = np.clip((total + HIDDEN_ROUNDING) >> HIDDEN_WEIGHT_SCALE_BITS, 0, ACTIVATION_ONE)
    output = x @ output_weight.astype(np.int64) + int(output_bias)  # (B,) 16 x centipawns
    return (output + OUTPUT_ROUNDING) >> OUTPUT_SHIFT


def _absolute_feature(absolute: int, perspective: int, king_square: int,
                      feature_mode: int) -> int:
    """``nnue.features.feature_index`` of an absolute piece-square; -1 for a halfkp king."""
    piece_type = absolute % 384 // 64 + 1
    if feature_mode == HALF_KP_MODE and piece_type == chess.KING:
        return -1
    colour = chess.WHITE if absolute < 384 else chess.BLACK
    return feature_index(FEATURE_SET_OF_MODE[feature_mode], perspective == 0, king_square,
                         absolute % 64, piece_type, colour)


def _fields(changes: int, shifts: tuple[int, int]) -> list[int]:
    return [changes >> shift & FIELD_MASK for shift in shifts
            if changes >> shift & FIELD_MASK != NO_PIECE]


def apply_changes(accumulators: np.ndarray, parent: int, child: int, changes: int,
                  ft_weight: np.ndarray, feature_mode: int) -> None:
    """Reference of ``nnue.kernel.apply_changes``."""
    for perspective in range(2):
        if changes >> (REFRESHED_SHIFT + perspective) & 1:
            continue
        king_square = changes >> KING_SHIFTS[perspective] & 63
        added = [_absolute_feature(a, perspective, king_square, feature_mode)
                 for a in _fields(changes, PLACED_SHIFTS)]
        removed = [_absolute_feature(a, perspective, king_square, feature_mode)
                   for a in _fields(changes, LIFTED_SHIFTS)]
        half = accumulators[parent, perspective].astype(np.int64)
        half += ft_weight[[f for f in added if f >= 0]].sum(axis=0, dtype=np.int64)
        half -= ft_weight[[f for f in removed if f >= 0]].sum(axis=0, dtype=np.int64)
        accumulators[child, perspective] = half.astype(np.int16)  # wraps modulo 2**16


def refresh(accumulators: np.ndarray, ply: int, perspective: int, bitboards: np.ndarray,
            changes: int, ft_weight: np.ndarray, ft_bias: np.ndarray, feature_mode: int) -> None:
    """Reference of ``nnue.kernel.refresh``."""
    king_square = changes >> KING_SHIFTS[perspective] & 63
    lifted = _fields(changes, LIFTED_SHIFTS)
    pieces = bitboards[:6].astype(np.uint64)
    colours = bitboards[6:].astype(np.uint64)
    present = [384 * colour + 64 * piece_type + square
               for colour in range(2) for piece_type in range(6) for square in range(64)
               if int(pieces[piece_type] & colours[colour]) >> square & 1]
    absolutes = [a for a in present if a not in lifted] + _fields(changes, PLACED_SHIFTS)
    features = [f for f in (_absolute_feature(a, perspective, king_square, feature_mode)
                            for a in absolutes) if f >= 0]
    total = ft_bias.astype(np.int64) + ft_weight[features].sum(axis=0, dtype=np.int64)
    accumulators[ply, perspective] = total.astype(np.int16)


def forward(accumulators: np.ndarray, ply: int, white_to_move: bool, weights: np.ndarray,
            biases: np.ndarray, l2: int) -> int:
    """Reference of ``nnue.kernel.forward``."""
    us, them = accumulators[ply] if white_to_move else accumulators[ply][::-1]
    return int(layers(np.concatenate([us, them])[None, :], weights, biases, l2)[0])


def update_and_forward(accumulators: np.ndarray, parent: int, child: int, changes: int,
                       ft_weight: np.ndarray, feature_mode: int, white_to_move: bool,
                       weights: np.ndarray, biases: np.ndarray, l2: int) -> int:
    """Reference of ``nnue.kernel.update_and_forward``."""
    apply_changes(accumulators, parent, child, changes, ft_weight, feature_mode)
    return forward(accumulators, child, white_to_move, weights, biases, l2)


class IntegerNet:
    """A quantized net evaluated from scratch in numpy: the board-level oracle."""

    def __init__(self, net: QuantizedNet) -> None:
        self.net = net
        self.features = feature_set_named(net.feature_set)
        self.ft_weight = np.asarray(net.ft_weight, dtype=np.int16)  # (F, L1)
        self.ft_bias = np.asarray(net.ft_bias, dtype=np.int16)  # (L1,)
        worst = int(np.abs(self.ft_bias.astype(np.int64)).max()) + MAX_ACTIVE_FEATURES * int(
            np.abs(self.ft_weight.astype(np.int64)).max(initial=0))
        if worst > INT16_MAX:
            raise ValueError(f"feature-transformer weights too large: an accumulator could reach "
                             f"{worst} > {INT16_MAX}")
        self.dense = pack_dense(net)

    def refresh(self, board: chess.Board, perspective: chess.Color) -> np.ndarray:
        """(L1,) int16 accumulator of ``perspective`` computed from scratch."""
        rows = self.ft_weight[active_features(board, perspective, self.features)]
        return (self.ft_bias + rows.sum(axis=0, dtype=np.int32)).astype(np.int16)

    def layers(self, accumulators: np.ndarray) -> np.ndarray:
        """Dense layers: (B, 2 L1) int accumulators (side to move first) -> (B,) int64 cp."""
        return layers(accumulators, *self.dense)

    def evaluate_board(self, board: chess.Board) -> int:
        """Centipawns from the side to move, accumulators refreshed from scratch."""
        both = np.concatenate([self.refresh(board, board.turn),
                               self.refresh(board, not board.turn)])
        return int(self.layers(both[None, :])[0])

    def evaluate_batch(self, pieces: np.ndarray, side_to_move: np.ndarray,
                       batch_size: int = 1024) -> np.ndarray:
        """Centipawns (side to move) of many encoded positions, (N,) int64."""
        padded = np.vstack([self.ft_weight, np.zeros((1, self.net.l1), np.int16)])
        scores = []
        for start in range(0, len(pieces), batch_size):
            stm, nstm = batch_features(pieces[start:start + batch_size],
                                       side_to_move[start:start + batch_size], self.features)
            # Sum in int32 (a few gathered rows), then wrap to int16: exact by the bound above.
            both = np.concatenate([padded[stm].sum(axis=1, dtype=np.int32) + self.ft_bias,
                                   padded[nstm].sum(axis=1, dtype=np.int32) + self.ft_bias],
                                  axis=1).astype(np.int16)
            scores.append(self.layers(both))
        return np.concatenate(scores) if scores else np.zeros(0, np.int64)

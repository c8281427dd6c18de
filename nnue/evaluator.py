"""The integer NNUE evaluator in numpy: int16 accumulators on a stack, int8 hidden layers.

Idea: the accumulator (the feature transformer's output, one int16 vector per perspective) is
the only expensive part of the network, and a move changes only a few of its input features. So
a search keeps one accumulator pair per ply on a stack: ``push(move)`` copies the top and adds
the weight rows of the features the move turns on and subtracts those it turns off (a king move
under halfkp recomputes that perspective from scratch); ``pop()`` just drops the top, so nothing
is ever "un-updated". ``evaluate()`` runs the small dense layers on the top of the stack.

Integer arithmetic and its traps:

* int16 accumulator. Adds and subtracts wrap modulo 2**16 in numpy, and modular arithmetic is
  exact: the incremental result equals the refreshed one bit for bit whatever the order. The
  true value never exceeds int16 because training clips every weight and the bias to
  ``FT_WEIGHT_LIMIT`` (33 x 7.82 x 127 <= 32767); ``IntegerNet`` re-checks that bound on load.
* int8 dot products. ``int8 @ int8`` in numpy keeps int8 and wraps silently, so we never let it:
  the hidden layers run as float32 matrix products of values that are integers. A float32 sum is
  exact while every partial sum stays below 2**24; each product is at most 127 x 127 = 16,129, so
  a layer with n inputs is exact when n x 16,129 < 2**24, i.e. n <= 1,040 (L1 <= 520 for the
  first hidden layer). ``IntegerNet`` checks the bound and uses float64 (exact to 2**53) beyond.
* Shifts. The hidden sums carry 127 x 64; ``(sum + 32) >> 6`` rounds them back to the 0..127
  activation scale (Stockfish floors; rounding halves the average error at no cost). The output
  carries 16 x centipawns and ``(out + 8) >> 4`` rounds it to centipawns.

The score is in centipawns from the side to move.

Reference: Stockfish 12 ``nnue/evaluate_nnue.cpp``, ``nnue_accumulator.h``,
``layers/affine_transform.h``; Nasu (2018). Command: ``nnue bench net.nnue``.
"""

from __future__ import annotations

import chess
import numpy as np

from nnue.features import active_features, batch_features, feature_set_named, move_deltas
from nnue.quantize import (
    ACTIVATION_ONE,
    FLOAT32_EXACT_LIMIT,
    HIDDEN_WEIGHT_SCALE_BITS,
    INT8_MAX,
    INT16_MAX,
    MAX_ACTIVE_FEATURES,
    OUTPUT_SCALE,
    QuantizedNet,
)

HIDDEN_ROUNDING = 1 << (HIDDEN_WEIGHT_SCALE_BITS - 1)  # add half a unit before the shift
OUTPUT_SHIFT = OUTPUT_SCALE.bit_length() - 1  # 16 = 2**4
OUTPUT_ROUNDING = OUTPUT_SCALE // 2


def exact_dtype(inputs: int) -> type:
    """float32 if an ``inputs``-long dot product of 0..127 by int8 is exact in float32."""
    worst_partial_sum = inputs * ACTIVATION_ONE * INT8_MAX
    return np.float32 if worst_partial_sum < FLOAT32_EXACT_LIMIT else np.float64


class IntegerNet:
    """A quantized net prepared for numpy inference (weights laid out for fast products)."""

    def __init__(self, net: QuantizedNet) -> None:
        self.net = net
        self.features = feature_set_named(net.feature_set)
        ft_weight = np.asarray(net.ft_weight, dtype=np.int16)
        largest_weight = int(np.abs(ft_weight.astype(np.int64)).max(initial=0))
        largest_bias = int(np.abs(net.ft_bias.astype(np.int64)).max(initial=0))
        worst = largest_bias + MAX_ACTIVE_FEATURES * largest_weight
        if worst > INT16_MAX:
            raise ValueError(f"feature-transformer weights too large: an accumulator could reach "
                             f"{worst} > {INT16_MAX}")
        # One extra all-zero row: the padding index of batch_features.
        self.ft_weight = np.vstack([ft_weight, np.zeros((1, net.l1), np.int16)])
        self.ft_bias = np.asarray(net.ft_bias, dtype=np.int16)
        self.dtype1 = exact_dtype(2 * net.l1)
        self.dtype2 = exact_dtype(net.l2)
        self.dtype3 = exact_dtype(net.l3)
        self.hidden1_weight_t = net.hidden1_weight.T.astype(self.dtype1)  # (2 L1, L2)
        self.hidden1_bias = net.hidden1_bias.astype(np.int64)
        self.hidden2_weight_t = net.hidden2_weight.T.astype(self.dtype2)  # (L2, L3)
        self.hidden2_bias = net.hidden2_bias.astype(np.int64)
        self.output_weight = net.output_weight[0].astype(self.dtype3)  # (L3,)
        self.output_bias = int(net.output_bias[0])

    def refresh(self, board: chess.Board, perspective: chess.Color) -> np.ndarray:
        """(L1,) int16 accumulator of ``perspective`` computed from scratch."""
        rows = self.ft_weight[active_features(board, perspective, self.features)]
        return (self.ft_bias + rows.sum(axis=0, dtype=np.int32)).astype(np.int16)

    def layers(self, accumulators: np.ndarray) -> np.ndarray:
        """Dense layers: (B, 2 L1) int accumulators (side to move first) -> (B,) int64 cp."""
        x = np.clip(accumulators, 0, ACTIVATION_ONE).astype(self.dtype1)  # (B, 2 L1) 0..127
        total = (x @ self.hidden1_weight_t).astype(np.int64) + self.hidden1_bias  # exact
        x = np.clip((total + HIDDEN_ROUNDING) >> HIDDEN_WEIGHT_SCALE_BITS, 0, ACTIVATION_ONE)
        total = (x.astype(self.dtype2) @ self.hidden2_weight_t).astype(np.int64) + self.hidden2_bias
        x = np.clip((total + HIDDEN_ROUNDING) >> HIDDEN_WEIGHT_SCALE_BITS, 0, ACTIVATION_ONE)
        output = (x.astype(self.dtype3) @ self.output_weight).astype(np.int64) + self.output_bias
        return (output + OUTPUT_ROUNDING) >> OUTPUT_SHIFT

    def evaluate_board(self, board: chess.Board) -> int:
        """Centipawns from the side to move, accumulators refreshed from scratch."""
        both = np.concatenate([self.refresh(board, board.turn),
                               self.refresh(board, not board.turn)])
        return int(self.layers(both[None, :])[0])

    def evaluate_batch(self, pieces: np.ndarray, side_to_move: np.ndarray,
                       batch_size: int = 1024) -> np.ndarray:
        """Centipawns (side to move) of many encoded positions, (N,) int64, vectorized."""
        scores = []
        for start in range(0, len(pieces), batch_size):
            stm, nstm = batch_features(pieces[start:start + batch_size],
                                       side_to_move[start:start + batch_size], self.features)
            # Sum in int32 (a few gathered rows), then wrap to int16: exact by the bound above.
            stm_acc = (self.ft_weight[stm].sum(axis=1, dtype=np.int32) + self.ft_bias)
            nstm_acc = (self.ft_weight[nstm].sum(axis=1, dtype=np.int32) + self.ft_bias)
            both = np.concatenate([stm_acc, nstm_acc], axis=1).astype(np.int16)
            scores.append(self.layers(both))
        return np.concatenate(scores) if scores else np.zeros(0, np.int64)


class Evaluator:
    """Incremental evaluation along a line of play: ``push(move)``, ``pop()``, ``evaluate()``.

    >>> # evaluator = Evaluator(IntegerNet(load_net("net.nnue")), chess.Board())
    >>> # evaluator.push(chess.Move.from_uci("e2e4")); evaluator.evaluate(); evaluator.pop()
    """

    def __init__(self, net: IntegerNet, board: chess.Board | None = None) -> None:
        self.net = net
        self.reset(board if board is not None else chess.Board())

    def reset(self, board: chess.Board) -> None:
        """Start from ``board`` (copied) with freshly computed accumulators."""
        self.board = board.copy()
        # Row chess.BLACK (0) is Black's perspective, row chess.WHITE (1) White's.
        top = np.empty((2, self.net.net.l1), np.int16)
        for perspective in chess.COLORS:
            top[int(perspective)] = self.net.refresh(self.board, perspective)
        self.stack = [top]

    def push(self, move: chess.Move) -> None:
        """Play ``move``: copy the top accumulators and apply the move's feature changes."""
        deltas = move_deltas(self.board, move, self.net.features)
        top = self.stack[-1].copy()
        weight = self.net.ft_weight
        self.board.push(move)
        for perspective, delta in deltas.items():
            row = top[int(perspective)]
            if delta.refresh:
                row[:] = self.net.refresh(self.board, perspective)
                continue
            for feature in delta.added:
                row += weight[feature]  # int16, wraps modulo 2**16: exact (see module docs)
            for feature in delta.removed:
                row -= weight[feature]
        self.stack.append(top)

    def pop(self) -> chess.Move:
        """Take back the last move: drop the top of the stack."""
        if len(self.stack) == 1:
            raise IndexError("pop from an evaluator with no move pushed")
        self.stack.pop()
        return self.board.pop()

    def accumulators(self) -> np.ndarray:
        """(2 L1,) int16: the current accumulators, side to move first."""
        top = self.stack[-1]
        turn = int(self.board.turn)
        return np.concatenate([top[turn], top[1 - turn]])

    def evaluate(self) -> int:
        """Centipawns from the side to move of the current position."""
        return int(self.net.layers(self.accumulators()[None, :])[0])

"""The integer NNUE evaluator in numpy: int16 accumulators on a stack, int8 hidden layers.

Idea: the accumulator (the feature transformer's output, one int16 vector per perspective) is
the only expensive part of the network, and a move changes only a few of its input features. So
a search keeps one accumulator pair per ply on a stack: ``push(move)`` copies the top and adds
the weight rows of the features the move turns on and subtracts those it turns off (under halfkp
and king-buckets, a move of a perspective's own king recomputes that perspective from scratch);
``pop()`` just drops the top, so nothing is ever "un-updated". ``evaluate()`` runs the small
dense layers on the top of the stack.

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

from nnue.features import (
    FeatureSet,
    active_features,
    batch_features,
    feature_index,
    feature_set_named,
)
from nnue.quantize import (
    ACTIVATION_ONE,
    FLOAT32_EXACT_LIMIT,
    HIDDEN_WEIGHT_SCALE,
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
        self._both_rows: np.ndarray | None = None
        self.dtype1 = exact_dtype(2 * net.l1)
        self.dtype2 = exact_dtype(net.l2)
        self.dtype3 = exact_dtype(net.l3)
        self.hidden1_weight_t = net.hidden1_weight.T.astype(self.dtype1)  # (2 L1, L2)
        self.hidden1_bias = net.hidden1_bias.astype(np.int64)
        self.hidden2_weight_t = net.hidden2_weight.T.astype(self.dtype2)  # (L2, L3)
        self.hidden2_bias = net.hidden2_bias.astype(np.int64)
        self.output_weight = net.output_weight[0].astype(self.dtype3)  # (L3,)
        self.output_bias = int(net.output_bias[0])
        # The float32 fast path of evaluate_white_black: exact while |x @ w + bias| < 2**24.
        self.fast = (self.dtype1 is np.float32 and self.dtype2 is np.float32
                     and self.dtype3 is np.float32 and all(
                         inputs * ACTIVATION_ONE * INT8_MAX + np.abs(bias).max() + HIDDEN_ROUNDING
                         < FLOAT32_EXACT_LIMIT for inputs, bias in (
                             (2 * net.l1, self.hidden1_bias), (net.l2, self.hidden2_bias))))
        # int16 accumulator -> clipped activation, by table: 65,536 entries indexed by the bits.
        self.clipped_table = np.clip(np.arange(65536, dtype=np.uint16).view(np.int16),
                                     0, ACTIVATION_ONE).astype(np.float32)
        # Dividing by 64 = 2**6 is exact in floating point, so it is folded into the weights.
        scale = 1.0 / HIDDEN_WEIGHT_SCALE
        self.hidden1_white = np.ascontiguousarray(self.hidden1_weight_t * scale, dtype=np.float32)
        self.hidden1_black = np.ascontiguousarray(np.roll(self.hidden1_white, net.l1, axis=0))
        self.hidden1_offset = ((self.hidden1_bias + HIDDEN_ROUNDING) * scale).astype(np.float32)
        self.hidden2_scaled = np.ascontiguousarray(self.hidden2_weight_t * scale, np.float32)
        self.hidden2_offset = ((self.hidden2_bias + HIDDEN_ROUNDING) * scale).astype(np.float32)
        self.buffer_hidden1 = np.zeros(net.l2, np.float32)
        self.buffer_hidden2 = np.zeros(net.l3, np.float32)
        self.zero, self.one = np.float32(0), np.float32(ACTIVATION_ONE)

    def both_perspective_rows(self) -> np.ndarray:
        """(768, 2 L1) int16, piece-square only: for each absolute (colour, type, square), White's
        weight row next to Black's (built once, shared by every Evaluator of this net)."""
        if self._both_rows is None:
            squares = _absolute_piece_squares()
            white = [feature_index(self.features, chess.WHITE, 0, square, piece_type, colour)
                     for colour, piece_type, square in squares]
            black = [feature_index(self.features, chess.BLACK, 0, square, piece_type, colour)
                     for colour, piece_type, square in squares]
            self._both_rows = np.hstack([self.ft_weight[white], self.ft_weight[black]])
        return self._both_rows

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

    def evaluate_white_black(self, accumulators: np.ndarray, turn: chess.Color) -> int:
        """Centipawns for the side to move from (2 L1,) int16 accumulators, White's half first.

        The single-position fast path: the same integers as ``layers``, computed in float32
        throughout (every value is an integer below 2**24, checked in ``__init__``) with as few
        numpy calls as possible, since each costs about a microsecond on a vector this short.
        """
        if not self.fast:
            order = accumulators if turn == chess.WHITE else np.roll(accumulators, self.net.l1)
            return int(self.layers(order[None, :])[0])
        x = self.clipped_table.take(accumulators.view(np.uint16))  # (2 L1,) float32 in 0..127
        y, z, zero, one = self.buffer_hidden1, self.buffer_hidden2, self.zero, self.one
        weight1 = self.hidden1_white if turn == chess.WHITE else self.hidden1_black
        np.dot(x, weight1, out=y)  # (L2,) = (x @ w) / 64: the 1/64 is folded into the weights
        np.add(y, self.hidden1_offset, out=y)  # + (bias + 32) / 64, so the floor rounds
        np.floor(y, out=y)
        np.maximum(y, zero, out=y)
        np.minimum(y, one, out=y)
        np.dot(y, self.hidden2_scaled, out=z)  # (L3,)
        np.add(z, self.hidden2_offset, out=z)
        np.floor(z, out=z)
        np.maximum(z, zero, out=z)
        np.minimum(z, one, out=z)
        output = int(np.dot(z, self.output_weight)) + self.output_bias
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

    The accumulator pair is one (2 L1,) int16 vector, White's perspective then Black's. Under
    piece-square both halves change together, so a table ``both_rows`` holds, for every
    (colour, piece type, square), White's weight row next to Black's: a quiet move is two
    vector adds, a capture three. ``evaluate()`` picks the first-layer weights laid out for
    the side to move instead of swapping the halves.

    >>> evaluator = Evaluator(IntegerNet(tiny_net()))  # doctest: +SKIP
    >>> evaluator.push(chess.Move.from_uci("e2e4")); evaluator.evaluate(); evaluator.pop()
    """

    def __init__(self, net: IntegerNet, board: chess.Board | None = None) -> None:
        self.net = net
        self.l1 = net.net.l1
        self.piece_square = not net.features.king_refresh
        if self.piece_square:
            self.both_rows = net.both_perspective_rows()
        self.reset(board if board is not None else chess.Board())

    def reset(self, board: chess.Board) -> None:
        """Start from ``board`` (copied) with freshly computed accumulators."""
        self.board = board.copy()
        self.stack = [np.concatenate([self.net.refresh(self.board, chess.WHITE),
                                      self.net.refresh(self.board, chess.BLACK)])]

    def push(self, move: chess.Move) -> None:
        """Play ``move``: the top accumulators plus the rows of the features it changes."""
        board = self.board
        placed, lifted = _piece_square_changes(board, move)
        top = self.stack[-1]
        if self.piece_square:
            rows = self.both_rows
            new = top + rows[placed[0]]  # the copy and the first add in one operation
            for index in placed[1:]:
                new += rows[index]  # int16, wraps modulo 2**16: exact (see module docs)
            for index in lifted:
                new -= rows[index]
            board.push(move)
        else:
            new = top.copy()
            mover_is_king = board.piece_type_at(move.from_square) == chess.KING
            board.push(move)
            for perspective, half in ((chess.WHITE, new[:self.l1]), (chess.BLACK, new[self.l1:])):
                if mover_is_king and perspective != board.turn:  # the mover's own king moved
                    half[:] = self.net.refresh(board, perspective)
                    continue
                king = board.king(perspective)
                weight, features = self.net.ft_weight, self.net.features
                keep_kings = features.kings_are_features
                for index in placed:
                    if keep_kings or index % 384 // 64 != chess.KING - 1:
                        half += weight[_feature_of(features, perspective, king, index)]
                for index in lifted:
                    if keep_kings or index % 384 // 64 != chess.KING - 1:
                        half -= weight[_feature_of(features, perspective, king, index)]
        self.stack.append(new)

    def pop(self) -> chess.Move:
        """Take back the last move: drop the top of the stack."""
        if len(self.stack) == 1:
            raise IndexError("pop from an evaluator with no move pushed")
        self.stack.pop()
        return self.board.pop()

    def accumulators(self) -> np.ndarray:
        """(2 L1,) int16: the current accumulators, side to move first."""
        top = self.stack[-1]
        return top if self.board.turn == chess.WHITE else np.roll(top, self.l1)

    def evaluate(self) -> int:
        """Centipawns from the side to move of the current position."""
        return self.net.evaluate_white_black(self.stack[-1], self.board.turn)


def _absolute_piece_squares() -> list[tuple[chess.Color, int, int]]:
    """(colour, piece type, square) in the order of absolute index 384 x black + 64 x type + sq."""
    return [(colour, piece_type, square) for colour in (chess.WHITE, chess.BLACK)
            for piece_type in chess.PIECE_TYPES for square in chess.SQUARES]


def _feature_of(feature_set: FeatureSet, perspective: chess.Color, king: int,
                absolute: int) -> int:
    """The feature of absolute piece-square ``absolute`` for ``perspective`` (own king ``king``)."""
    colour = chess.WHITE if absolute < 384 else chess.BLACK
    return feature_index(feature_set, perspective, king, absolute % 64, absolute % 384 // 64 + 1,
                         colour)


def _piece_square_changes(board: chess.Board, move: chess.Move) -> tuple[list[int], list[int]]:
    """(placed, lifted) absolute piece-square indices (384 x black + 64 x (type - 1) + square).

    The fast twin of ``nnue.features.piece_changes`` (same cases, plain integers).
    """
    origin, target = move.from_square, move.to_square
    colour = board.turn
    piece_type = board.piece_type_at(origin)
    own = 0 if colour == chess.WHITE else 384
    their = 384 - own
    captured = board.piece_type_at(target)
    if piece_type == chess.KING and (abs(target - origin) == 2 or (
            captured == chess.ROOK and board.color_at(target) == colour)):
        rank_start = origin & ~7
        kingside = target > origin
        rook_origin = target if captured == chess.ROOK else rank_start + (7 if kingside else 0)
        king_target = rank_start + (6 if kingside else 2)
        rook_target = rank_start + (5 if kingside else 3)
        return ([own + 320 + king_target, own + 192 + rook_target],
                [own + 320 + origin, own + 192 + rook_origin])
    lifted = [own + 64 * (piece_type - 1) + origin]
    if captured is not None:
        lifted.append(their + 64 * (captured - 1) + target)
    elif piece_type == chess.PAWN and target == board.ep_square:
        lifted.append(their + (target - 8 if colour == chess.WHITE else target + 8))
    placed_type = move.promotion or piece_type
    return [own + 64 * (placed_type - 1) + target], lifted

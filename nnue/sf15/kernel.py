"""The integer arithmetic of Stockfish 15.1's NNUE, compiled with numba, bit for bit.

Pieces are coded as in Stockfish: 1..6 for a White pawn, knight, bishop, rook, queen, king and
9..14 for the Black ones (colour in bit 3), 0 for an empty square; squares a1 = 0 ... h8 = 63
(python-chess's numbering too); perspective 0 is White, 1 is Black.

**Features (HalfKAv2_hm).** Each perspective sees the board from its own side (ranks flipped for
Black) and mirrored so that its own king stands on files e-h. A feature is (king bucket, piece
plane, square): 32 king buckets (4 files x 8 ranks of the mirrored king), 11 planes (own and
their pawn .. queen, then one plane shared by both kings), 64 squares: 32 x 11 x 64 = 22,528.

**Feature transformer.** Per perspective an int16 accumulator of 1,024 = bias + the rows of its
active features (wrapping int16 additions, as Stockfish's vector code does), and 8 int32 PSQT
sums, one per bucket. The output is 1,024 uint8: for the side to move then the other side,
``clamp(a[j], 0, 127) * clamp(a[j + 512], 0, 127) / 128`` for j < 512 (a pairwise product).
The PSQT term is (side to move's sum - other side's sum) / 2, truncated towards zero (C++ ``/``).

**Layer stack** of bucket ``(pieces - 1) // 4``: fc_0 (1024 -> 16, int8 weights, int32 sums);
its first 15 outputs go through the squared clipped ReLU ``min(127, x*x >> 19)`` and the
clipped ReLU ``clamp(x >> 6, 0, 127)`` side by side (30 inputs); fc_1 (30 -> 32), clipped
ReLU; fc_2 (32 -> 1). fc_0's 16th output skips to the end scaled by 600*16 / (127*64)
(truncated). positional = fc_2 + that skip; both terms are in 1/16 of Stockfish's Value.

Reference: Stockfish 15.1 (tag sf_15.1) src/nnue/*; the SIMD paths there equal these scalar
formulas because no int16 pair sum in them can saturate (2 x 127 x 128 < 32,767).
Try it: ``nnue eval stockfish --fen "8/8/8/8/8/8/8/K1k5 w - - 0 1"``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from nnue.sf15.net import (
    FC0_OUTPUTS,
    FC1_INPUTS,
    HALF_DIMENSIONS,
    OUTPUT_SCALE,
    PIECE_PLANES,
    PSQT_BUCKETS,
    WEIGHT_SCALE_BITS,
    StockfishNet,
)

KING_PLANE = 10
HALF_OUTPUT = HALF_DIMENSIONS // 2  # 512 products per perspective
# fc_0's skip output: 1.0 is 127 * 64 there and must become 600 * OUTPUT_SCALE at the output.
SKIP_NUMERATOR = 600 * OUTPUT_SCALE
SKIP_DENOMINATOR = 127 * (1 << WEIGHT_SCALE_BITS)
SQUARED_SHIFT = 2 * WEIGHT_SCALE_BITS + 7  # (x*x >> 12) / 128 = x*x >> 19


@njit(cache=True)
def divide_truncating(numerator: int, denominator: int) -> int:
    """C++ integer division (rounds towards zero), for a positive ``denominator``."""
    quotient = abs(numerator) // denominator
    return -quotient if numerator < 0 else quotient


@njit(cache=True)
def feature_index(perspective: int, king_square: int, square: int, piece: int) -> int:
    """The HalfKAv2_hm feature of ``piece`` on ``square`` for ``perspective``'s king square."""
    orient = 7 if (king_square & 7) < 4 else 0  # mirror files so the king stands on e-h
    if perspective == 1:
        orient ^= 56  # and flip ranks for Black
    oriented_king = king_square ^ orient
    king_bucket = 4 * (7 - (oriented_king >> 3)) + 7 - (oriented_king & 7)
    piece_type = piece & 7
    if piece_type == 6:
        plane = KING_PLANE
    else:
        plane = 2 * (piece_type - 1) + (0 if (piece >> 3) == perspective else 1)
    return (square ^ orient) + 64 * plane + 64 * PIECE_PLANES * king_bucket


@njit(cache=True)
def refresh(pieces, perspective, accumulator, psqt, biases, weights, psqt_weights) -> None:
    """Fill ``accumulator`` (1024,) int16 and ``psqt`` (8,) int32 from the board ``pieces``."""
    king = -1
    for square in range(64):
        if pieces[square] == 6 + 8 * perspective:
            king = square
    for j in range(HALF_DIMENSIONS):
        accumulator[j] = biases[j]
    for k in range(PSQT_BUCKETS):
        psqt[k] = 0
    for square in range(64):
        piece = pieces[square]
        if piece != 0:
            index = feature_index(perspective, king, square, piece)
            for j in range(HALF_DIMENSIONS):
                accumulator[j] += weights[index, j]
            for k in range(PSQT_BUCKETS):
                psqt[k] += psqt_weights[index, k]


@njit(cache=True)
def apply_changes(perspective, king_square, changes, count, source, source_psqt, target,
                  target_psqt, weights, psqt_weights) -> None:
    """target = source - removed features + added features. ``changes[i]`` = (piece, from,
    to) with -1 for "no square" (a capture removes, a promotion adds), Stockfish's DirtyPiece."""
    for j in range(HALF_DIMENSIONS):
        target[j] = source[j]
    for k in range(PSQT_BUCKETS):
        target_psqt[k] = source_psqt[k]
    for i in range(count):
        piece, origin, destination = changes[i, 0], changes[i, 1], changes[i, 2]
        if origin >= 0:
            index = feature_index(perspective, king_square, origin, piece)
            for j in range(HALF_DIMENSIONS):
                target[j] -= weights[index, j]
            for k in range(PSQT_BUCKETS):
                target_psqt[k] -= psqt_weights[index, k]
        if destination >= 0:
            index = feature_index(perspective, king_square, destination, piece)
            for j in range(HALF_DIMENSIONS):
                target[j] += weights[index, j]
            for k in range(PSQT_BUCKETS):
                target_psqt[k] += psqt_weights[index, k]


@njit(cache=True)
def propagate(us, them, bucket, fc0_biases, fc0_weights, fc1_biases, fc1_weights, fc2_biases,
              fc2_weights) -> int:
    """The layer stack ``bucket`` on the accumulators of the side to move (``us``) and the
    other side; returns the positional term in 1/16 Value units."""
    transformed = np.empty(HALF_DIMENSIONS, np.int64)  # uint8 activations, 127 = 1.0
    for j in range(HALF_OUTPUT):
        first = min(max(np.int64(us[j]), 0), 127)
        second = min(max(np.int64(us[j + HALF_OUTPUT]), 0), 127)
        transformed[j] = (first * second) >> 7
        first = min(max(np.int64(them[j]), 0), 127)
        second = min(max(np.int64(them[j + HALF_OUTPUT]), 0), 127)
        transformed[HALF_OUTPUT + j] = (first * second) >> 7
    fc0 = np.empty(FC0_OUTPUTS + 1, np.int64)
    for i in range(FC0_OUTPUTS + 1):
        total = np.int64(fc0_biases[bucket, i])
        for j in range(HALF_DIMENSIONS):
            total += fc0_weights[bucket, i, j] * transformed[j]
        fc0[i] = total
    hidden = np.zeros(fc1_weights.shape[2], np.int64)  # 30 inputs, zero padding to 32
    for i in range(FC0_OUTPUTS):
        hidden[i] = min(127, (fc0[i] * fc0[i]) >> SQUARED_SHIFT)
        hidden[FC0_OUTPUTS + i] = min(max(fc0[i] >> WEIGHT_SCALE_BITS, 0), 127)
    output = np.int64(fc2_biases[bucket, 0])
    for i in range(fc1_weights.shape[1]):
        total = np.int64(fc1_biases[bucket, i])
        for j in range(FC1_INPUTS):
            total += fc1_weights[bucket, i, j] * hidden[j]
        output += fc2_weights[bucket, 0, i] * min(max(total >> WEIGHT_SCALE_BITS, 0), 127)
    return output + divide_truncating(fc0[FC0_OUTPUTS] * SKIP_NUMERATOR, SKIP_DENOMINATOR)


@njit(cache=True)
def psqt_term(us_psqt, them_psqt, bucket) -> int:
    """The material (PSQT) term of ``bucket`` in 1/16 Value units, side to move's view."""
    return divide_truncating(np.int64(us_psqt[bucket]) - np.int64(them_psqt[bucket]), 2)


@njit(cache=True)
def evaluate_all_buckets(pieces, side_to_move, biases, weights, psqt_weights, fc0_biases,
                         fc0_weights, fc1_biases, fc1_weights, fc2_biases, fc2_weights):
    """(psqt, positional) of every bucket from scratch, (8,) int64 each, side to move's view."""
    accumulators = np.empty((2, HALF_DIMENSIONS), np.int16)
    psqts = np.empty((2, PSQT_BUCKETS), np.int32)
    for perspective in range(2):
        refresh(pieces, perspective, accumulators[perspective], psqts[perspective], biases,
                weights, psqt_weights)
    us, them = side_to_move, 1 - side_to_move
    material = np.empty(PSQT_BUCKETS, np.int64)
    positional = np.empty(PSQT_BUCKETS, np.int64)
    for bucket in range(PSQT_BUCKETS):
        material[bucket] = psqt_term(psqts[us], psqts[them], bucket)
        positional[bucket] = propagate(accumulators[us], accumulators[them], bucket, fc0_biases,
                                       fc0_weights, fc1_biases, fc1_weights, fc2_biases,
                                       fc2_weights)
    return material, positional


def layer_arrays(net: StockfishNet) -> tuple[np.ndarray, ...]:
    """The layer-stack arrays in the order ``propagate`` takes them."""
    return (net.fc0_biases, net.fc0_weights, net.fc1_biases, net.fc1_weights, net.fc2_biases,
            net.fc2_weights)


def transformer_arrays(net: StockfishNet) -> tuple[np.ndarray, ...]:
    """The feature-transformer arrays in the order ``refresh`` takes them."""
    return net.transformer_biases, net.transformer_weights, net.psqt_weights


@njit(cache=True)
def bring_up_to_date(accumulators, psqts, computed, changes, change_counts, king_moved, ply,
                     perspective, king_square, weights, psqt_weights) -> bool:
    """Compute ``perspective``'s accumulator at ``ply`` of a search stack from the nearest
    computed one below it, move by move. Returns False when a move of this perspective's king
    lies in between: its features all change, and the caller refreshes from the board instead
    (Stockfish does the same). ``changes[p]`` are the dirty pieces of the move into ply p."""
    start = ply
    while not computed[start, perspective]:
        if king_moved[start, perspective]:
            return False
        start -= 1
    for step in range(start + 1, ply + 1):
        apply_changes(perspective, king_square, changes[step], change_counts[step],
                      accumulators[step - 1, perspective], psqts[step - 1, perspective],
                      accumulators[step, perspective], psqts[step, perspective], weights,
                      psqt_weights)
        computed[step, perspective] = True
    return True


@njit(cache=True)
def evaluate_accumulators(us, them, us_psqt, them_psqt, bucket, fc0_biases, fc0_weights,
                          fc1_biases, fc1_weights, fc2_biases, fc2_weights):
    """(material, positional) of ``bucket``, 1/16 Value units, side to move's view."""
    return psqt_term(us_psqt, them_psqt, bucket), propagate(
        us, them, bucket, fc0_biases, fc0_weights, fc1_biases, fc1_weights, fc2_biases,
        fc2_weights)


@njit(cache=True)
def evaluate_board(pieces, side_to_move, bucket, biases, weights, psqt_weights, fc0_biases,
                   fc0_weights, fc1_biases, fc1_weights, fc2_biases, fc2_weights):
    """(material, positional) of ``bucket`` from scratch, 1/16 Value units, side to move."""
    accumulators = np.empty((2, HALF_DIMENSIONS), np.int16)
    psqts = np.empty((2, PSQT_BUCKETS), np.int32)
    for perspective in range(2):
        refresh(pieces, perspective, accumulators[perspective], psqts[perspective], biases,
                weights, psqt_weights)
    us, them = side_to_move, 1 - side_to_move
    return evaluate_accumulators(accumulators[us], accumulators[them], psqts[us], psqts[them],
                                 bucket, fc0_biases, fc0_weights, fc1_biases, fc1_weights,
                                 fc2_biases, fc2_weights)


@njit(cache=True)
def lifted_values(pieces, side_to_move, biases, weights, psqt_weights, fc0_biases, fc0_weights,
                  fc1_biases, fc1_weights, fc2_biases, fc2_weights):
    """``NNUE::evaluate`` (Value units, side to move) of the board and of the board with each
    non-king piece lifted off: (value of the board, (64,) values with that square emptied)."""
    lifted = np.zeros(64, np.int64)
    values = np.zeros(65, np.int64)
    board = pieces.copy()
    for square in range(-1, 64):
        if square >= 0 and (board[square] == 0 or board[square] & 7 == 6):
            continue
        saved = board[square] if square >= 0 else 0
        if square >= 0:
            board[square] = 0
        count = 0
        for other in range(64):
            if board[other] != 0:
                count += 1
        material, positional = evaluate_board(board, side_to_move, (count - 1) // 4, biases,
                                              weights, psqt_weights, fc0_biases, fc0_weights,
                                              fc1_biases, fc1_weights, fc2_biases, fc2_weights)
        values[square + 1] = divide_truncating(material + positional, OUTPUT_SCALE)
        if square >= 0:
            board[square] = saved
    lifted[:] = values[1:]
    return values[0], lifted

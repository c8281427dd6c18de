"""The NNUE inner loop compiled with numba: int16 accumulators, 8-bit activations, int32 sums.

Idea: the integer network of ``nnue/quantize.py`` needs nothing but small-integer arithmetic, the
kind a CPU does many lanes at a time (Stockfish writes it with SIMD intrinsics). Here it is plain
Python loops that numba compiles through LLVM, which vectorizes them: the accumulator update adds
and subtracts int16 weight rows (wrapping modulo 2**16, exact, see ``nnue/reference.py``); the
activations are clipped to 0..127 and stored as 8-bit integers; each hidden neuron sums 8-bit x
8-bit products in an int32 (compiled to AVX2 ``vpmaddwd``: 16-bit products added pairwise into
32-bit lanes), then ``(sum + 32) >> 6`` and the clip, exactly as the format documents. The numpy
twins in ``nnue/reference.py`` are the readable reference; the kernel equals them bit for
bit (tests), and ``KernelNet`` refuses a net whose int32 sums could overflow, since compiled code
would wrap silently where the reference computes in int64.

Calling compiled code from Python costs about a microsecond per call, more than the arithmetic
of a whole evaluation, so the incremental evaluator calls the kernel once per evaluated node
(``update_and_forward``: bring the accumulators up to date and run the dense layers) with the
move's changes packed into one integer (layout below, ``pack_changes``), and never on nodes it
does not score.

Reference: Stockfish 12 ``nnue/layers/affine_transform.h`` and ``clipped_relu.h`` (the AVX2
paths), ``nnue/nnue_feature_transformer.h``; numba's documentation on ``@njit(cache=True)``.
Commands: ``python -m nnue.kernel`` (compile into numba's cache now: the first compilation takes
about 10 s of CPU time, a cached start about a second); ``python -m pytest
tests/nnue/test_nnue_kernel.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from numba import njit

from nnue.features import (
    HALF_KP_BLOCK,
    KING_BUCKET_OF_SQUARE,
    PIECE_SQUARE_BLOCK,
    FeatureSet,
    batch_features,
    feature_set_named,
)
from nnue.quantize import (
    ACTIVATION_ONE,
    HIDDEN_ROUNDING,
    HIDDEN_WEIGHT_SCALE_BITS,
    INT8_MAX,
    INT16_MAX,
    MAX_ACTIVE_FEATURES,
    OUTPUT_ROUNDING,
    OUTPUT_SHIFT,
    QuantizedNet,
    load_net,
)

INT32_MAX = 2**31 - 1
KING = 5  # piece types 0..5 are pawn, knight, bishop, rook, queen, king (python-chess type - 1)

# What one move does to the board, packed into one integer for the kernel. An *absolute*
# piece-square is 384 x colour (0 White, 1 Black) + 64 x piece type (0..5) + square (0..63).
FIELD_MASK = 1023  # 10 bits per absolute piece-square
NO_PIECE = 1023  # an empty slot
PLACED_SHIFTS = (0, 10)  # up to two pieces put on the board (castling moves two)
LIFTED_SHIFTS = (20, 30)  # up to two taken off (a capture lifts the mover and the victim)
KING_SHIFTS = (40, 46)  # White's and Black's king square after the move, 6 bits each
REFRESHED_SHIFT = 52  # bit 52 + perspective: that perspective was refreshed at the push
NO_CHANGES = (NO_PIECE << PLACED_SHIFTS[0] | NO_PIECE << PLACED_SHIFTS[1]
              | NO_PIECE << LIFTED_SHIFTS[0] | NO_PIECE << LIFTED_SHIFTS[1])  # the null move
KINGS_MASK = 4095 << KING_SHIFTS[0]

# Which feature set the compiled code computes (``nnue.features``), as a small integer.
PIECE_SQUARE_MODE, HALF_KP_MODE, KING_BUCKETS_MODE = 0, 1, 2
FEATURE_MODES = {"piece-square": PIECE_SQUARE_MODE, "halfkp": HALF_KP_MODE,
                 "king-buckets": KING_BUCKETS_MODE}
KING_BUCKET_TABLE = np.array(KING_BUCKET_OF_SQUARE, dtype=np.int64)  # (64,) own-king bucket


def pack_changes(placed: tuple[int, ...], lifted: tuple[int, ...], white_king: int,
                 black_king: int, refreshed: tuple[int, ...] = ()) -> int:
    """The packed integer of a move: absolute piece-squares placed and lifted, the kings after
    it, and the perspectives (0 White, 1 Black) already refreshed."""
    changes = NO_CHANGES
    for shift, absolute in zip(PLACED_SHIFTS + LIFTED_SHIFTS,
                               tuple(placed) + (NO_PIECE,) * (2 - len(placed))
                               + tuple(lifted) + (NO_PIECE,) * (2 - len(lifted))):
        changes = changes & ~(FIELD_MASK << shift) | absolute << shift
    changes |= white_king << KING_SHIFTS[0] | black_king << KING_SHIFTS[1]
    for perspective in refreshed:
        changes |= 1 << (REFRESHED_SHIFT + perspective)
    return changes


# ----------------------------------------------------------------------------- compiled parts


@njit(cache=True)
def _clip(value: int) -> int:
    """The clipped ReLU on the integer scale: 0..127."""
    return 0 if value < 0 else (ACTIVATION_ONE if value > ACTIVATION_ONE else value)


@njit(cache=True)
def feature_of(absolute: int, perspective: int, king_square: int, feature_mode: int) -> int:
    """The feature index of an absolute piece-square for ``perspective`` (-1: not a feature).

    The compiled twin of ``nnue.features.feature_index``: own pieces first, Black's view with
    the ranks mirrored; under halfkp the kings are not features and the own king picks a block;
    under king-buckets the own king's bucket picks a block of piece-square features.
    """
    colour = absolute // 384
    piece_type = absolute % 384 // 64
    flip = 56 * perspective
    piece_index = 2 * piece_type + (1 if colour != perspective else 0)
    oriented = (absolute % 64) ^ flip
    if feature_mode == PIECE_SQUARE_MODE:
        return piece_index * 64 + oriented
    if feature_mode == KING_BUCKETS_MODE:
        return (KING_BUCKET_TABLE[king_square ^ flip] * PIECE_SQUARE_BLOCK + piece_index * 64
                + oriented)
    if piece_type == KING:
        return -1
    return ((king_square ^ flip) * HALF_KP_BLOCK + 1 + piece_index * 64 + oriented)


@njit(cache=True)
def _add_row(half: np.ndarray, weights: np.ndarray, feature: int) -> None:
    for i in range(half.shape[0]):
        half[i] += weights[feature, i]  # int16, wraps modulo 2**16: exact


@njit(cache=True)
def _subtract_row(half: np.ndarray, weights: np.ndarray, feature: int) -> None:
    for i in range(half.shape[0]):
        half[i] -= weights[feature, i]


@njit(cache=True)
def _apply_fields(half: np.ndarray, ft_weight: np.ndarray, changes: int, shifts: tuple,
                  add: bool, perspective: int, king_square: int, feature_mode: int) -> None:
    """Add (or subtract) the rows of the pieces packed in ``changes`` at ``shifts``, as
    ``perspective`` with its king on ``king_square`` sees them."""
    for shift in shifts:
        absolute = (changes >> shift) & FIELD_MASK
        if absolute != NO_PIECE:
            feature = feature_of(absolute, perspective, king_square, feature_mode)
            if feature >= 0:
                if add:
                    _add_row(half, ft_weight, feature)
                else:
                    _subtract_row(half, ft_weight, feature)


@njit(cache=True)
def apply_changes(accumulators: np.ndarray, parent: int, child: int, changes: int,
                  ft_weight: np.ndarray, feature_mode: int) -> None:
    """accumulators[child] = accumulators[parent] plus the rows the move adds, minus those it
    removes, for each perspective not already refreshed. ``accumulators``: (plies, 2, L1) int16,
    White's perspective at index 0."""
    for perspective in range(2):
        if (changes >> (REFRESHED_SHIFT + perspective)) & 1:
            continue
        king_square = (changes >> KING_SHIFTS[perspective]) & 63
        half = accumulators[child, perspective]
        half[:] = accumulators[parent, perspective]
        _apply_fields(half, ft_weight, changes, PLACED_SHIFTS, True, perspective, king_square,
                      feature_mode)
        _apply_fields(half, ft_weight, changes, LIFTED_SHIFTS, False, perspective, king_square,
                      feature_mode)


@njit(cache=True)
def refresh(accumulators: np.ndarray, ply: int, perspective: int, bitboards: np.ndarray,
            changes: int, ft_weight: np.ndarray, ft_bias: np.ndarray, feature_mode: int) -> None:
    """accumulators[ply, perspective] from scratch: the bias plus the rows of every piece of
    the position ``bitboards`` (int64: pawns, knights, bishops, rooks, queens, kings, White's,
    Black's, as python-chess keeps them) after the move ``changes`` (NO_CHANGES: as it is)."""
    half = accumulators[ply, perspective]
    half[:] = ft_bias
    king_square = (changes >> KING_SHIFTS[perspective]) & 63
    lifted0 = (changes >> LIFTED_SHIFTS[0]) & FIELD_MASK
    lifted1 = (changes >> LIFTED_SHIFTS[1]) & FIELD_MASK
    occupied = bitboards[6] | bitboards[7]
    for square in range(64):
        bit = np.int64(1) << square
        if not occupied & bit:
            continue
        piece_type = 0
        while piece_type < KING and not bitboards[piece_type] & bit:
            piece_type += 1
        colour = 0 if bitboards[6] & bit else 1
        absolute = 384 * colour + 64 * piece_type + square
        if absolute in (lifted0, lifted1):
            continue
        feature = feature_of(absolute, perspective, king_square, feature_mode)
        if feature >= 0:
            _add_row(half, ft_weight, feature)
    _apply_fields(half, ft_weight, changes, PLACED_SHIFTS, True, perspective, king_square,
                  feature_mode)


@njit(cache=True)
def _dot(activations: np.ndarray, weights: np.ndarray, start: int) -> int:
    """start + sum of 8-bit activation x 8-bit weight products, in int32 (no overflow: the
    bounds were checked by ``KernelNet``). Widening both to int16 first lets LLVM use the
    16-bit multiply-add instructions."""
    total = np.int32(start)
    for i in range(activations.shape[0]):
        total = np.int32(total + np.int16(activations[i]) * np.int16(weights[i]))
    return total


def pack_dense(net: QuantizedNet) -> tuple[np.ndarray, np.ndarray, int]:
    """The dense layers as the kernel takes them: (int8 weights, int32 biases, L2).

    The weights are hidden1 (L2, 2 L1), hidden2 (L3, L2) and output (L3,) one after the other,
    row by row, in one int8 vector; the biases hidden1 (L2,), hidden2 (L3,), output (1,) in one
    int32 vector. Two array arguments instead of six: each array costs a compiled call about
    0.2 µs to unpack, as much as the arithmetic of a whole hidden layer.
    """
    weights = np.concatenate([net.hidden1_weight.ravel(), net.hidden2_weight.ravel(),
                              net.output_weight.ravel()]).astype(np.int8)
    biases = np.concatenate([net.hidden1_bias, net.hidden2_bias, net.output_bias]).astype(
        np.int32)
    return weights, biases, net.l2


@njit(cache=True)
def unpack_dense(weights: np.ndarray, biases: np.ndarray, inputs: int, l2: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Views of ``pack_dense``'s vectors: hidden1 weight (L2, inputs) and bias, hidden2 weight
    (L3, L2) and bias, output weight (L3,) and bias; ``inputs`` is 2 L1."""
    l3 = biases.shape[0] - 1 - l2
    end1, end2 = l2 * inputs, l2 * inputs + l3 * l2
    return (weights[:end1].reshape((l2, inputs)), biases[:l2],
            weights[end1:end2].reshape((l3, l2)), biases[l2:l2 + l3],
            weights[end2:], biases[l2 + l3])


@njit(cache=True)
def _dense_layers(x0: np.ndarray, weights: np.ndarray, biases: np.ndarray, l2: int) -> int:
    """Centipawns from (2 L1,) uint8 activations, side to move first."""
    hidden1_weight, hidden1_bias, hidden2_weight, hidden2_bias, output_weight, output_bias = (
        unpack_dense(weights, biases, x0.shape[0], l2))
    x1 = np.empty(hidden1_weight.shape[0], np.uint8)  # (L2,)
    for j in range(x1.shape[0]):
        total = _dot(x0, hidden1_weight[j], hidden1_bias[j])
        x1[j] = _clip((total + HIDDEN_ROUNDING) >> HIDDEN_WEIGHT_SCALE_BITS)
    x2 = np.empty(hidden2_weight.shape[0], np.uint8)  # (L3,)
    for j in range(x2.shape[0]):
        total = _dot(x1, hidden2_weight[j], hidden2_bias[j])
        x2[j] = _clip((total + HIDDEN_ROUNDING) >> HIDDEN_WEIGHT_SCALE_BITS)
    return (_dot(x2, output_weight, output_bias) + OUTPUT_ROUNDING) >> OUTPUT_SHIFT


@njit(cache=True)
def forward(accumulators: np.ndarray, ply: int, white_to_move: bool, weights: np.ndarray,
            biases: np.ndarray, l2: int) -> int:
    """Centipawns for the side to move from accumulators[ply] (White's half at index 0);
    ``weights``, ``biases``, ``l2``: the dense layers as ``pack_dense`` lays them out."""
    l1 = accumulators.shape[2]
    us = 0 if white_to_move else 1
    x0 = np.empty(2 * l1, np.uint8)  # (2 L1,) clipped activations, side to move's half first
    for i in range(l1):
        x0[i] = _clip(accumulators[ply, us, i])
        x0[l1 + i] = _clip(accumulators[ply, 1 - us, i])
    return _dense_layers(x0, weights, biases, l2)


@njit(cache=True)
def update_and_forward(accumulators: np.ndarray, parent: int, child: int, changes: int,
                       ft_weight: np.ndarray, feature_mode: int, white_to_move: bool,
                       weights: np.ndarray, biases: np.ndarray, l2: int) -> int:
    """``apply_changes`` then ``forward`` in one call (one call's overhead instead of two)."""
    apply_changes(accumulators, parent, child, changes, ft_weight, feature_mode)
    return forward(accumulators, child, white_to_move, weights, biases, l2)


@njit(cache=True)
def accumulate_batch(features: np.ndarray, ft_weight: np.ndarray,
                     ft_bias: np.ndarray) -> np.ndarray:
    """(B, K) feature indices (``num_features`` pads) -> (B, L1) int16 accumulators."""
    batch, l1 = features.shape[0], ft_bias.shape[0]
    accumulators = np.empty((batch, l1), np.int16)
    for b in range(batch):
        accumulators[b] = ft_bias
        for k in range(features.shape[1]):
            if features[b, k] < ft_weight.shape[0]:
                _add_row(accumulators[b], ft_weight, features[b, k])
    return accumulators


@njit(cache=True)
def layers_batch(accumulators: np.ndarray, weights: np.ndarray, biases: np.ndarray,
                 l2: int) -> np.ndarray:
    """(B, 2 L1) int16 accumulators, side to move first -> (B,) int64 centipawns."""
    scores = np.empty(accumulators.shape[0], np.int64)
    x0 = np.empty(accumulators.shape[1], np.uint8)
    for b in range(accumulators.shape[0]):
        for i in range(x0.shape[0]):
            x0[i] = _clip(accumulators[b, i])
        scores[b] = _dense_layers(x0, weights, biases, l2)
    return scores


# ----------------------------------------------------------------------------- the net


def load_kernel_net(path: str | Path) -> KernelNet:
    """The ``.nnue`` file at ``path`` ready for the kernel; ValueError naming the file if it is
    missing, corrupt, foreign, or does not fit the kernel."""
    return KernelNet(load_net(Path(path)), str(path))


class KernelNet:
    """A quantized net checked and laid out for the compiled kernel.

    ``source`` names the file in every error. A net the kernel cannot compute exactly gets a
    ValueError: wrong array shapes or types, an int16 accumulator that could overflow, or a
    hidden layer whose int32 sums could (the numpy reference would still be right in int64).
    """

    def __init__(self, net: QuantizedNet, source: str = "<net>") -> None:
        self.net = net
        self.source = source
        self.features: FeatureSet = feature_set_named(net.feature_set)
        self.feature_mode = FEATURE_MODES[net.feature_set]
        self.l1, self.l2, self.l3 = net.l1, net.l2, net.l3
        expected = {
            "ft_weight": (np.int16, (self.features.num_features, net.l1)),
            "ft_bias": (np.int16, (net.l1,)),
            "hidden1_weight": (np.int8, (net.l2, 2 * net.l1)),
            "hidden1_bias": (np.int32, (net.l2,)),
            "hidden2_weight": (np.int8, (net.l3, net.l2)),
            "hidden2_bias": (np.int32, (net.l3,)),
            "output_weight": (np.int8, (1, net.l3)),
            "output_bias": (np.int32, (1,)),
        }
        for name, (dtype, shape) in expected.items():
            array = getattr(net, name)
            if array.dtype != dtype or array.shape != shape:
                raise ValueError(f"{source}: {name} is {array.dtype} {array.shape}, the kernel "
                                 f"needs {np.dtype(dtype)} {shape}")
        worst_accumulator = (int(np.abs(net.ft_bias.astype(np.int64)).max())
                             + MAX_ACTIVE_FEATURES * int(np.abs(net.ft_weight.astype(np.int64))
                                                         .max(initial=0)))
        if worst_accumulator > INT16_MAX:
            raise ValueError(f"{source}: an accumulator could reach {worst_accumulator}, past "
                             f"int16 ({INT16_MAX})")
        # The largest int32 sum of each layer: bias + inputs x 127 x 128 (+ the rounding).
        largest_product = ACTIVATION_ONE * (INT8_MAX + 1)
        for name, inputs, bias in (("hidden layer 1", 2 * net.l1, net.hidden1_bias),
                                   ("hidden layer 2", net.l2, net.hidden2_bias),
                                   ("output layer", net.l3, net.output_bias)):
            worst = int(np.abs(bias.astype(np.int64)).max()) + inputs * largest_product + (
                HIDDEN_ROUNDING)
            if worst > INT32_MAX:
                raise ValueError(f"{source}: {name} sums could reach {worst}, past int32; the "
                                 "kernel sums in int32")
        self.ft_weight = np.ascontiguousarray(net.ft_weight)  # (F, L1) int16
        self.ft_bias = np.ascontiguousarray(net.ft_bias)  # (L1,) int16
        self.dense = pack_dense(net)  # (int8 weights, int32 biases, L2)

    def layers(self, accumulators: np.ndarray) -> np.ndarray:
        """Dense layers: (B, 2 L1) int16 accumulators (side to move first) -> (B,) int64 cp."""
        accumulators = np.ascontiguousarray(accumulators, dtype=np.int16)
        if accumulators.ndim != 2 or accumulators.shape[1] != 2 * self.l1:
            raise ValueError(f"accumulators must be (B, {2 * self.l1}), not {accumulators.shape}")
        return layers_batch(accumulators, *self.dense)

    def evaluate_batch(self, pieces: np.ndarray, side_to_move: np.ndarray,
                       batch_size: int = 4096) -> np.ndarray:
        """Centipawns (side to move) of many encoded positions, (N,) int64, integer throughout."""
        scores = []
        for start in range(0, len(pieces), batch_size):
            stm, nstm = batch_features(pieces[start:start + batch_size],
                                       side_to_move[start:start + batch_size], self.features)
            both = np.concatenate([accumulate_batch(stm, self.ft_weight, self.ft_bias),
                                   accumulate_batch(nstm, self.ft_weight, self.ft_bias)], axis=1)
            scores.append(layers_batch(both, *self.dense))
        return np.concatenate(scores) if scores else np.zeros(0, np.int64)

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) every kernel now rather than at the first use."""
        accumulators = np.zeros((2, 2, self.l1), np.int16)
        bitboards = np.zeros(8, np.int64)
        refresh(accumulators, 0, 0, bitboards, NO_CHANGES, self.ft_weight, self.ft_bias,
                self.feature_mode)
        apply_changes(accumulators, 0, 1, NO_CHANGES, self.ft_weight, self.feature_mode)
        update_and_forward(accumulators, 0, 1, NO_CHANGES, self.ft_weight, self.feature_mode, True,
                           *self.dense)
        forward(accumulators, 1, True, *self.dense)


def compile_kernels() -> float:
    """Compile every kernel (or load it from numba's cache); the seconds it took."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    net = QuantizedNet(
        feature_set="piece-square", l1=8, l2=4, l3=4,
        ft_weight=rng.integers(-10, 10, (768, 8)).astype(np.int16),
        ft_bias=np.zeros(8, np.int16), hidden1_weight=np.ones((4, 16), np.int8),
        hidden1_bias=np.zeros(4, np.int32), hidden2_weight=np.ones((4, 4), np.int8),
        hidden2_bias=np.zeros(4, np.int32), output_weight=np.ones((1, 4), np.int8),
        output_bias=np.zeros(1, np.int32))
    kernel_net = KernelNet(net, "<compile_kernels>")
    kernel_net.warm_up()
    kernel_net.evaluate_batch(np.zeros((1, 64), np.uint8), np.ones(1, np.int64))
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"nnue kernels compiled or loaded from numba's cache in {compile_kernels():.1f} s")

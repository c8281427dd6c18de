"""The compiled kernel equals the numpy reference bit for bit, at the integer extremes too, and
refuses the nets it cannot compute exactly with an error naming the file."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import chess
import numpy as np
import pytest
from random_nets import random_game, random_net

from nnue import kernel, reference
from nnue.evaluator import bitboards, move_changes
from nnue.kernel import (
    INT32_MAX,
    KING_SHIFTS,
    KINGS_MASK,
    NO_CHANGES,
    KernelNet,
    load_kernel_net,
    pack_changes,
)
from nnue.quantize import QuantizedNet, save_net


def extreme_net(feature_set: str, l1: int, l2: int, l3: int, seed: int) -> QuantizedNet:
    """Hidden weights drawn from {-128, 127} and anything between; biases up to the largest the
    kernel accepts, so that its int32 sums come within a rounding of overflowing."""
    rng = np.random.default_rng(seed)
    num_features = 768 if feature_set == "piece-square" else 41024

    def weights(*shape: int) -> np.ndarray:
        extreme = rng.choice(np.array([-128, 127], np.int8), size=shape)
        anything = rng.integers(-128, 128, size=shape).astype(np.int8)
        return np.where(rng.random(shape) < 0.5, extreme, anything)

    def biases(inputs: int, size: int) -> np.ndarray:
        limit = INT32_MAX - inputs * 127 * 128 - 32
        extreme = rng.choice(np.array([-limit, limit]), size=size)
        moderate = rng.integers(-inputs * 127 * 16, inputs * 127 * 16, size=size)
        return np.where(rng.random(size) < 0.25, extreme, moderate).astype(np.int32)

    return QuantizedNet(
        feature_set=feature_set, l1=l1, l2=l2, l3=l3,
        ft_weight=rng.integers(-900, 900, (num_features, l1)).astype(np.int16),
        ft_bias=rng.integers(-3000, 3000, l1).astype(np.int16),
        hidden1_weight=weights(l2, 2 * l1), hidden1_bias=biases(2 * l1, l2),
        hidden2_weight=weights(l3, l2), hidden2_bias=biases(l2, l3),
        output_weight=weights(1, l3), output_bias=biases(l3, 1))


@pytest.mark.parametrize("sizes", [(256, 32, 32), (64, 16, 8), (33, 7, 5)])
def test_layers_equal_reference_at_the_extremes(sizes: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(1)
    for seed in range(3):
        net = KernelNet(extreme_net("piece-square", *sizes, seed=seed))
        wanted = reference.IntegerNet(net.net)
        edges = np.array([-32768, -32767, -1, 0, 1, 126, 127, 128, 255, 32766, 32767], np.int16)
        accumulators = np.concatenate([
            rng.choice(edges, size=(300, 2 * sizes[0])),  # int16 extremes and the clip's edges
            rng.integers(-32768, 32768, (300, 2 * sizes[0])),  # anything an int16 holds
            rng.integers(-20, 150, (300, 2 * sizes[0])),  # around the activation range
        ]).astype(np.int16)
        got = net.layers(accumulators)
        expected = wanted.layers(accumulators)
        assert np.array_equal(got, expected)
        assert len(np.unique(expected)) > 20  # the comparison is not between constants


def test_forward_equals_reference_for_either_side_to_move() -> None:
    net = KernelNet(extreme_net("halfkp", 64, 16, 8, seed=4))
    accumulators = np.random.default_rng(2).integers(-200, 300, (3, 2, 64)).astype(np.int16)
    for ply in range(3):
        for white_to_move in (True, False):
            assert kernel.forward(accumulators, ply, white_to_move, *net.dense) == (
                reference.forward(accumulators, ply, white_to_move, *net.dense))


@pytest.mark.parametrize("feature_set", ["piece-square", "halfkp", "king-buckets"])
def test_update_and_refresh_equal_reference(feature_set: str) -> None:
    """Each compiled step against its numpy twin on every move of random games."""
    _, net = random_net(feature_set, seed=6)
    feature_mode = net.feature_mode
    rng = random.Random(3)
    for _ in range(3):
        board = chess.Board()
        kings = (board.king(chess.WHITE) << KING_SHIFTS[0]) | (board.king(chess.BLACK)
                                                              << KING_SHIFTS[1])
        for move in random_game(rng, 100):
            changes = move_changes(board, move, kings)
            start = np.random.default_rng(len(board.move_stack)).integers(
                -3000, 3000, (2, 2, net.l1)).astype(np.int16)
            compiled, numpy_twin = start.copy(), start.copy()
            kernel.apply_changes(compiled, 0, 1, changes, net.ft_weight, feature_mode)
            reference.apply_changes(numpy_twin, 0, 1, changes, net.ft_weight, feature_mode)
            assert np.array_equal(compiled, numpy_twin), move
            pieces = bitboards(board)
            for perspective in range(2):
                kernel.refresh(compiled, 1, perspective, pieces, changes, net.ft_weight,
                               net.ft_bias, feature_mode)
                reference.refresh(numpy_twin, 1, perspective, pieces, changes, net.ft_weight,
                                  net.ft_bias, feature_mode)
            assert np.array_equal(compiled, numpy_twin), move
            board.push(move)
            kings = changes & KINGS_MASK


def test_pack_changes_matches_move_changes() -> None:
    board = chess.Board("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    kings = 4 << KING_SHIFTS[0] | 60 << KING_SHIFTS[1]
    castle = move_changes(board, chess.Move.from_uci("e1g1"), kings)
    # King e1 -> g1 and rook h1 -> f1: absolute piece-square 64 x type + square (White).
    assert castle == pack_changes((320 + 6, 192 + 5), (320 + 4, 192 + 7), 6, 60)
    assert pack_changes((), (), 4, 60) == NO_CHANGES | kings


def test_nets_the_kernel_cannot_compute_are_refused(tmp_path: Path) -> None:
    good = extreme_net("piece-square", 16, 8, 8, seed=0)
    KernelNet(good, "good.nnue")
    too_big = dataclasses.replace(good, hidden1_bias=good.hidden1_bias.copy())
    too_big.hidden1_bias[0] = INT32_MAX - 5
    path = tmp_path / "overflowing.nnue"
    save_net(too_big, path)  # a valid file: only the kernel's int32 sums could overflow
    with pytest.raises(ValueError, match=r"overflowing\.nnue: hidden layer 1 sums could reach"):
        load_kernel_net(path)
    wrong_shape = dataclasses.replace(good, hidden2_weight=np.zeros((8, 9), np.int8))
    with pytest.raises(ValueError, match=r"odd\.nnue: hidden2_weight is int8 \(8, 9\)"):
        KernelNet(wrong_shape, "odd.nnue")
    wrong_type = dataclasses.replace(good, ft_bias=good.ft_bias.astype(np.int32))
    with pytest.raises(ValueError, match="ft_bias is int32"):
        KernelNet(wrong_type, "odd.nnue")
    overflowing_accumulator = dataclasses.replace(good, ft_bias=np.full(16, 20000, np.int16))
    with pytest.raises(ValueError, match="past int16"):
        KernelNet(overflowing_accumulator, "odd.nnue")
    with pytest.raises(ValueError, match=r"missing\.nnue: no such file"):
        load_kernel_net(tmp_path / "missing.nnue")

"""Nets in Stockfish 15.1's format, written by our own test code: loader and symmetry tests run
without Stockfish and without its GPL net. ``synthetic_net_bytes`` fills every array with random
small integers; ``net_file_bytes`` writes any arrays given (test_sf15_hand_net.py's net)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from nnue.sf15 import net as sf

DESCRIPTION = b"synthetic test net"


def net_file_bytes(transformer_biases: np.ndarray, transformer_weights: np.ndarray,
                   psqt_weights: np.ndarray, stacks: list[tuple[np.ndarray, ...]],
                   description: bytes = DESCRIPTION) -> bytes:
    """The file: header, transformer (int16 biases and weights, int32 PSQT weights), then per
    layer stack (fc0 biases (16,), fc0 weights (16, 1024), fc1 biases (32,), fc1 weights
    (32, 30), fc2 biases (1,), fc2 weights (1, 32)); fc1's rows are padded to 32 bytes."""
    parts = [struct.pack("<III", sf.VERSION, sf.ARCHITECTURE_HASH, len(description)), description,
             struct.pack("<I", sf.TRANSFORMER_HASH),
             np.asarray(transformer_biases, "<i2").tobytes(),
             np.asarray(transformer_weights, "<i2").tobytes(),
             np.asarray(psqt_weights, "<i4").tobytes()]
    for b0, w0, b1, w1, b2, w2 in stacks:
        parts += [struct.pack("<I", sf.STACK_HASH), np.asarray(b0, "<i4").tobytes(),
                  np.asarray(w0, "i1").tobytes(), np.asarray(b1, "<i4").tobytes(),
                  np.pad(np.asarray(w1, "i1"), ((0, 0), (0, 2))).tobytes(),
                  np.asarray(b2, "<i4").tobytes(), np.asarray(w2, "i1").tobytes()]
    return b"".join(parts)


def synthetic_net_bytes(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    biases = rng.integers(0, 60, sf.HALF_DIMENSIONS, dtype=np.int16)
    weights = rng.integers(-12, 13, (sf.FEATURES, sf.HALF_DIMENSIONS), dtype=np.int16)
    psqt = rng.integers(-3000, 3001, (sf.FEATURES, sf.PSQT_BUCKETS), dtype=np.int32)
    stacks = [(rng.integers(-2000, 2001, 16, dtype=np.int32),
               rng.integers(-40, 41, (16, 1024), dtype=np.int8),
               rng.integers(-2000, 2001, 32, dtype=np.int32),
               rng.integers(-60, 61, (32, 30), dtype=np.int8),
               rng.integers(-2000, 2001, 1, dtype=np.int32),
               rng.integers(-60, 61, (1, 32), dtype=np.int8)) for _ in range(sf.LAYER_STACKS)]
    return net_file_bytes(biases, weights, psqt, stacks)


def write_synthetic_net(path: Path, seed: int = 0) -> Path:
    path.write_bytes(synthetic_net_bytes(seed))
    return path

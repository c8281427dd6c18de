"""A synthetic net in Stockfish 15.1's format (random small weights), written by our own test
code: loader and symmetry tests run without Stockfish and without its GPL net."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from nnue.sf15 import net as sf

DESCRIPTION = b"synthetic test net"


def synthetic_net_bytes(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    parts = [struct.pack("<III", sf.VERSION, sf.ARCHITECTURE_HASH, len(DESCRIPTION)), DESCRIPTION,
             struct.pack("<I", sf.TRANSFORMER_HASH),
             rng.integers(0, 60, sf.HALF_DIMENSIONS, dtype=np.int16).tobytes(),
             rng.integers(-12, 13, (sf.FEATURES, sf.HALF_DIMENSIONS), dtype=np.int16).tobytes(),
             rng.integers(-3000, 3001, (sf.FEATURES, sf.PSQT_BUCKETS), dtype=np.int32).tobytes()]
    for _ in range(sf.LAYER_STACKS):
        parts += [struct.pack("<I", sf.STACK_HASH),
                  rng.integers(-2000, 2001, 16, dtype=np.int32).tobytes(),
                  rng.integers(-40, 41, (16, 1024), dtype=np.int8).tobytes(),
                  rng.integers(-2000, 2001, 32, dtype=np.int32).tobytes(),
                  np.pad(rng.integers(-60, 61, (32, 30), dtype=np.int8), ((0, 0), (0, 2)))
                  .tobytes(),
                  rng.integers(-2000, 2001, 1, dtype=np.int32).tobytes(),
                  rng.integers(-60, 61, (1, 32), dtype=np.int8).tobytes()]
    return b"".join(parts)


def write_synthetic_net(path: Path, seed: int = 0) -> Path:
    path.write_bytes(synthetic_net_bytes(seed))
    return path

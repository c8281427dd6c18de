"""Shared NNUE fixtures: a small Stockfish-labelled dataset and a tiny net trained on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnue.data import GenerateConfig, Positions, generate, load_positions
from nnue.model import NnueConfig
from nnue.train import TrainConfig, train


@pytest.fixture(scope="session")
def labelled_dir(tmp_path_factory: pytest.TempPathFactory, stockfish_path: str) -> Path:
    """About 3,000 positions from Stockfish depth-4 games (two workers, two shards each)."""
    out = tmp_path_factory.mktemp("labelled")
    config = GenerateConfig(positions=3000, depth=4, workers=2, shard_size=750, seed=3)
    generate(config, stockfish_path, out, quiet=True)
    return out


@pytest.fixture(scope="session")
def labelled(labelled_dir: Path) -> Positions:
    return load_positions([labelled_dir])


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, labelled_dir: Path) -> Path:
    """A piece-square 64-32-32 net trained for a few epochs (quantization-aware)."""
    out = tmp_path_factory.mktemp("run") / "tiny"
    train([labelled_dir], out, NnueConfig("piece-square", 64, 32, 32),
          TrainConfig(epochs=6, batch_size=128, learning_rate=1e-2, validation_fraction=0.2),
          quiet=True)
    return out


@pytest.fixture(scope="session")
def sf15_synthetic_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random net in Stockfish 15.1's format (see sf15_synthetic.py), written once."""
    from tests.nnue.sf15_synthetic import write_synthetic_net

    return write_synthetic_net(tmp_path_factory.mktemp("sf15") / "synthetic.nnue", seed=7)

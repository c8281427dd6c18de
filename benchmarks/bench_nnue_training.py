"""Training throughput (positions per second) of both feature sets, side by side in one run.

One epoch over the same 200,000 positions of data/sf for piece-square and halfkp, L1 = 256,
batch 4,096, quantization-aware, torch's default threads.
Command: ``make bench BENCH=nnue_training``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import markdown_table, write_results
from benchmarks.nnue_common import DATA, require
from nnue.data import load_positions
from nnue.model import NnueConfig
from nnue.train import TrainConfig, train

POSITIONS = 200_000


def main() -> None:
    if not require(DATA):
        return
    positions = load_positions([DATA])
    chosen = np.random.default_rng(0).choice(len(positions), min(POSITIONS, len(positions)),
                                             replace=False)
    positions = positions.subset(np.sort(chosen))
    rows, results = [], {}
    for feature_set in ("piece-square", "halfkp"):
        with tempfile.TemporaryDirectory() as tmp:
            metrics = train([], Path(tmp) / "run", NnueConfig(feature_set, 256, 32, 32),
                            TrainConfig(epochs=1, validation_fraction=0.0), quiet=True,
                            positions=positions)
        results[feature_set] = metrics["train_positions_per_second"]
        speed = metrics["train_positions_per_second"]
        rows.append([feature_set, f"{len(positions):,}", f"{speed:,.0f}"])
    table = markdown_table(["feature set", "positions", "train positions/s"], rows)
    write_results("nnue_training", {"torch_threads": torch.get_num_threads(),
                                    "positions_per_second": results}, table)


if __name__ == "__main__":
    main()

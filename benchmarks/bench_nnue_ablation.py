"""Which buys a better net here: more positions or deeper labels? And which feature set?

Every net gets the same training budget (the same number of positions seen, so the same
number of optimizer steps) and is graded on the same test positions: 3,000 quiet positions of
the held-out games of data/sf-d8, labelled again by Stockfish at depth 12, deeper than any
training label. Rows:

* ``king-buckets, depth 8, all``: the reference.
* ``..., depth 8, half``: fewer positions (the games of data generator worker 0), same labels
  (twice the epochs).
* ``..., depth 6, half``: the *same positions* as the row above, labels from a depth-6 search
  (``nnue relabel``), so only the label depth differs.
* ``piece-square, depth 8, all``: the feature set alone differs.
* the shipped piece-square-256 net (trained on 1.2 M other positions at depth 6), for scale,
  and the nets trained from it on data/sf-d8 with ``nnue train --init`` (``FINE_TUNED``: the
  README's commands make them), where their runs exist.

The cost side: seconds per label at depths 6, 8 and 12 on the same 200 test positions.
Grades are R² and MAE in win-probability space (sigmoid(cp / 410)) of the integer net.
Command: ``make bench BENCH=nnue_ablation`` (needs data/sf-d8, made by ``nnue data --out
data/sf-d8 --depth 8 ...``; MINIZERO_ABLATION_SAMPLES sets the budget, default 150,000).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from benchmarks.common import markdown_table, write_results
from benchmarks.nnue_common import ROOT, SHIPPED_NET
from minizero.peers import find_stockfish
from nnue.check import held_out_positions, load_any
from nnue.data import Positions, load_positions, read_shard, write_shard
from nnue.model import NnueConfig, r_squared, win_probability
from nnue.relabel import relabel, relabel_positions
from nnue.train import TrainConfig, train

DATA = ROOT / "data" / "sf-d8"
AS_DEPTH6 = ROOT / "data" / "sf-d8-half-as-d6"
TEST = ROOT / "data" / "sf-d8-test"
TEST_D12 = ROOT / "data" / "sf-d8-test-d12"
RUNS = ROOT / "runs" / "ablation"
FINE_TUNED = {  # label -> run directory of the README's commands
    "king-buckets, depth 8, all, from piece-square-256": ROOT / "runs" / "nnue-kb256-d8",
    "piece-square, depth 8, all, from piece-square-256": ROOT / "runs" / "nnue-ps256-d8",
}
TEST_POSITIONS = 3000
VALIDATION_FRACTION = 0.05  # train()'s default: the same games are held out in every run


def grade(net_path: Path, test: Positions, teacher_d8: np.ndarray) -> dict[str, float]:
    """R² and MAE (win probability) of the integer net against depth-12 and depth-8 labels."""
    _, net, _ = load_any(net_path)
    predicted = win_probability(net.evaluate_batch(test.pieces, test.side_to_move))
    deep = win_probability(test.score.astype(np.float64))
    shallow = win_probability(teacher_d8.astype(np.float64))
    return {"r2_vs_d12": r_squared(predicted, deep),
            "mae_vs_d12": float(np.mean(np.abs(predicted - deep))),
            "r2_vs_d8": r_squared(predicted, shallow)}


def label_costs(test: Positions, stockfish: str) -> dict[str, float]:
    """Seconds per position of a depth-6, -8 and -12 label, the same 200 positions, 1 worker."""
    sample = test.subset(np.arange(min(200, len(test))))
    costs = {}
    for depth in (6, 8, 12):
        started = time.perf_counter()
        relabel_positions(sample, stockfish, depth, workers=1)
        costs[f"depth_{depth}"] = (time.perf_counter() - started) / len(sample)
    return costs


def run(name: str, positions: Positions, feature_set: str, epochs: int) -> Path:
    """Train (or resume) one ablation run; returns its quantized net."""
    from nnue.model import quantize
    from nnue.quantize import save_net
    from nnue.train import load_checkpoint

    out = RUNS / name
    net_path = out / "net.nnue"
    if not net_path.exists():
        config = TrainConfig(epochs=epochs, validation_fraction=VALIDATION_FRACTION)
        train([], out, NnueConfig(feature_set, 256, 32, 32), config, quiet=True,
              resume=(out / "config.json").exists(), positions=positions)
        model, _ = load_checkpoint(out / "checkpoint.pt")
        save_net(quantize(model), net_path)
    return net_path


def main() -> None:
    if not DATA.exists():
        print(f"missing {DATA}: nnue data --out data/sf-d8 --positions 2000000 --depth 8 ...")
        return
    stockfish = find_stockfish(None)
    budget = int(os.environ.get("MINIZERO_ABLATION_SAMPLES", "150000"))
    depth8 = load_positions([DATA])
    if not TEST.exists():
        write_shard(TEST / "test.npz", held_out_positions([DATA], TEST_POSITIONS,
                                                          VALIDATION_FRACTION))
    relabel([TEST], TEST_D12, stockfish, depth=12, quiet=True)
    half_shards = sorted(DATA.glob("sf-w00-*.npz"))  # worker 0's games: about half
    relabel(half_shards, AS_DEPTH6, stockfish, depth=6, quiet=True)
    test_d8, test_d12 = read_shard(TEST / "test.npz"), read_shard(TEST_D12 / "test.npz")
    depth8_half, depth6_half = load_positions(half_shards), load_positions([AS_DEPTH6])
    assert np.array_equal(depth6_half.pieces, depth8_half.pieces), "relabelled shards differ"
    training_size = int((~_held_out(depth8)).sum())
    epochs_all = max(1, round(budget / training_size))
    rows = [
        ("king-buckets, depth 8, all", depth8, "king-buckets", epochs_all),
        ("king-buckets, depth 8, half", depth8_half, "king-buckets", 2 * epochs_all),
        ("king-buckets, depth 6, half (same positions)", depth6_half, "king-buckets",
         2 * epochs_all),
        ("piece-square, depth 8, all", depth8, "piece-square", epochs_all),
    ]
    results = []
    for label, positions, feature_set, epochs in rows:
        name = label.split(" (")[0].replace(", ", "-").replace(" ", "_")
        started = time.perf_counter()
        net = run(name, positions, feature_set, epochs)
        seen = int((~_held_out(positions)).sum()) * epochs
        results.append({"run": label, "train_positions": int((~_held_out(positions)).sum()),
                        "epochs": epochs, "positions_seen": seen,
                        "seconds": time.perf_counter() - started,
                        **grade(net, test_d12, test_d8.score)})
    if SHIPPED_NET.exists():
        results.append({"run": "shipped piece-square-256 (1.2 M other positions, depth 6)",
                        "train_positions": None, "epochs": 12, "positions_seen": None,
                        "seconds": None, **grade(SHIPPED_NET, test_d12, test_d8.score)})
    for label, out in FINE_TUNED.items():
        if (out / "checkpoint.pt").exists():
            config = json.loads((out / "config.json").read_text())
            positions = load_positions([Path(path) for path in config["data"]])
            train_positions = int((~_held_out(positions)).sum())
            epochs = config["train"]["epochs"]
            results.append({"run": label, "train_positions": train_positions, "epochs": epochs,
                            "positions_seen": train_positions * epochs, "seconds": None,
                            **grade(out / "checkpoint.pt", test_d12, test_d8.score)})
    costs = label_costs(test_d8, stockfish)
    table = markdown_table(
        ["net", "training positions", "epochs", "R² vs depth-12 labels", "MAE vs depth 12",
         "R² vs depth-8 labels"],
        [[r["run"], f"{r['train_positions']:,}" if r["train_positions"] else "about 1.14 M",
          r["epochs"], f"{r['r2_vs_d12']:.4f}",
          f"{r['mae_vs_d12']:.4f}", f"{r['r2_vs_d8']:.4f}"] for r in results])
    table += "\n\nSeconds per Stockfish label (1 thread, same 200 positions): " + ", ".join(
        f"{key.replace('_', ' ')} {value * 1000:.1f} ms" for key, value in costs.items())
    write_results("nnue_ablation", {"test_positions": len(test_d12), "budget": budget,
                                    "runs": results, "label_seconds": costs}, table)


def _held_out(positions: Positions) -> np.ndarray:
    from nnue.data import validation_mask

    return validation_mask(positions.game_id, VALIDATION_FRACTION)


if __name__ == "__main__":
    main()

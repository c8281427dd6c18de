"""NNUE evaluation speed of the shipped nets (piece-square and king-buckets 256-32-32-1), side by
side in one run.

Interleaved position by position along random games (``nnue.check.bench``): one incremental
push + evaluate + pop with the compiled kernel (python-chess's own board push and pop included,
and timed alone for reference), the same steps through the numpy reference, a full numpy
refresh + evaluate, and a single-position torch float32 forward of the same weights (features
precomputed, so torch is not charged for them); then the batched integer path at batch 1,024,
kernel and numpy. Once with torch on one thread and once on all.
Command: ``make bench BENCH=nnue_speed``.
"""

from __future__ import annotations

import torch

from benchmarks.common import markdown_table, write_results
from benchmarks.nnue_common import PLAYING_NET, SHIPPED_NET, require
from nnue.check import bench, load_any


def main() -> None:
    nets = [path for path in (SHIPPED_NET, PLAYING_NET) if require(path)]
    rows, results = [], {}
    default_threads = torch.get_num_threads()
    for path in nets:
        model, net, _ = load_any(path)
        net.warm_up()
        for threads in (1, default_threads):
            torch.set_num_threads(threads)
            result = bench(model, net, games=30, plies=80, batch_size=1024, repeats=5)
            results[f"{path.stem}_torch_threads_{threads}"] = result
            evaluator_alone = (result["kernel_push_evaluate_pop_us"]
                               - result["board_push_pop_alone_us"])
            rows.append([path.stem, threads, f"{result['kernel_push_evaluate_pop_us']:.1f}",
                         f"{result['board_push_pop_alone_us']:.1f}",
                         f"{result['numpy_push_evaluate_pop_us']:.1f}",
                         f"{result['numpy_refresh_evaluate_us']:.1f}",
                         f"{result['torch_float_forward_us']:.1f}",
                         f"{result['kernel_speedup_vs_torch']:.1f}x",
                         f"{result['torch_float_forward_us'] / evaluator_alone:.1f}x",
                         f"{result['kernel_speedup_vs_numpy']:.1f}x",
                         f"{result['kernel_batched_positions_per_second']:,.0f}",
                         f"{result['numpy_batched_positions_per_second']:,.0f}"])
    torch.set_num_threads(default_threads)
    table = markdown_table(
        ["net", "torch threads", "kernel push+eval+pop µs", "of which board push+pop µs",
         "numpy push+eval+pop µs", "numpy refresh+eval µs", "torch forward µs",
         "kernel vs torch", "kernel vs torch, board excluded", "kernel vs numpy",
         "kernel batched pos/s", "numpy batched pos/s"], rows)
    write_results("nnue_speed", {"nets": [path.name for path in nets], **results}, table)

if __name__ == "__main__":
    main()

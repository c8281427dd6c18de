"""NNUE evaluation speed, side by side in one run on the shipped net (piece-square 256-32-32-1).

One incremental update + evaluation per move (the evaluator's push and evaluate, python-chess's
own board push included, and that push alone for reference) against a full refresh + evaluation
and against a single-position torch float32 forward pass of the same weights (features
precomputed, so torch is not charged for them); and the batched integer path at batch 1,024.
Command: ``make bench BENCH=nnue_speed``.
"""

from __future__ import annotations

import time

import chess
import torch

from benchmarks.common import markdown_table, write_results
from benchmarks.nnue_common import SHIPPED_NET, require
from nnue.check import bench, load_any, random_lines


def board_push_us(games: int, plies: int, repeats: int = 3) -> float:
    """python-chess push alone over the same random lines: part of any search's move loop."""
    lines = random_lines(games, plies)
    moves = sum(len(line) for line in lines)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for line in lines:
            board = chess.Board()
            for move in line:
                board.push(move)
        best = min(best, time.perf_counter() - start)
    return best / moves * 1e6


def main() -> None:
    if not require(SHIPPED_NET):
        return
    model, net, _ = load_any(SHIPPED_NET)
    rows, results = [], {}
    for threads in (1, torch.get_num_threads()):
        torch.set_num_threads(threads)
        result = bench(model, net, games=30, plies=80, batch_size=1024, repeats=5)
        result["board_push_alone_us"] = board_push_us(30, 80)
        results[f"torch_threads_{threads}"] = result
        rows.append([threads, f"{result['incremental_update_and_eval_us']:.1f}",
                     f"{result['board_push_alone_us']:.1f}",
                     f"{result['full_refresh_and_eval_us']:.1f}",
                     f"{result['torch_float_forward_us']:.1f}",
                     f"{result['speedup_vs_torch']:.1f}x", f"{result['speedup_vs_refresh']:.1f}x",
                     f"{result['batched_positions_per_second']:,.0f}"])
    table = markdown_table(
        ["torch threads", "incremental push+eval µs", "of which board push µs",
         "refresh+eval µs", "torch forward µs", "vs torch", "vs refresh",
         "batched pos/s (1024)"], rows)
    write_results("nnue_speed", {"net": SHIPPED_NET.name, **results}, table)


if __name__ == "__main__":
    main()

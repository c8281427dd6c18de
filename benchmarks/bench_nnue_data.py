"""Data generation speed: labelled positions per second, Stockfish depth 6, two workers.

Command: ``make bench BENCH=nnue_data`` (needs Stockfish: ``make peers``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import markdown_table, write_results
from minizero.peers import find_stockfish
from nnue.data import GenerateConfig, generate

POSITIONS = 6_000


def main() -> None:
    try:
        stockfish = find_stockfish()
    except FileNotFoundError as error:
        print(error)
        return
    rows, results = [], {}
    for depth in (4, 6):
        config = GenerateConfig(positions=POSITIONS, depth=depth, workers=2, shard_size=1_000)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            count = generate(config, stockfish, Path(tmp), quiet=True)
            seconds = time.perf_counter() - start
        results[f"depth_{depth}"] = {"positions": count, "seconds": seconds,
                                     "positions_per_second": count / seconds}
        rows.append([depth, 2, count, f"{seconds:.1f}", f"{count / seconds:,.0f}"])
    table = markdown_table(["depth", "workers", "positions", "seconds", "labelled positions/s"],
                           rows)
    write_results("nnue_data", results, table)


if __name__ == "__main__":
    main()

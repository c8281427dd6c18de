"""Hexapawn Zero on 4x4: what each method reaches in 30 minutes (about an hour in all).

    make bench BENCH=hexapawn_zero_4x4
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import markdown_table, write_results
from hexapawn.experiment import CompareConfig, compare

BUDGET = 1800.0


def main(out: str | None = None) -> None:
    directory = Path(out) if out else Path(tempfile.mkdtemp(prefix="compare-4x4-"))
    began = time.perf_counter()
    summary = compare(4, 4, directory / "run", seed=0,
                      config=CompareConfig(supervised_seconds=BUDGET, selfplay_seconds=BUDGET),
                      progress=False, log=lambda line: print(line, flush=True))
    wall = time.perf_counter() - began
    rows, payload = [], {"budget_seconds": BUDGET, "wall_seconds": wall, "run": str(directory)}
    for method in ("supervised", "selfplay"):
        result = summary[method]
        final = result["final"]
        payload[method] = {key: result[key] for key in
                           ("best_accuracy", "seconds_to_99", "seconds_to_perfect",
                            "positions_to_perfect")}
        payload[method]["final"] = final
        rows.append([method, f"{result['best_accuracy']:.2%}",
                     f"{final['accuracy_white']:.2%}", f"{final['accuracy_black']:.2%}",
                     result["seconds_to_99"], result["seconds_to_perfect"],
                     f"{final['raw_vs_solver_white']:.0%}", f"{final['seconds']:.0f}"])
    table = markdown_table(
        ["4x4 method", "best accuracy", "final, White to move", "final, Black to move",
         "s to 99%", "s to perfect", "raw net wins vs solver as White (winning side)",
         "training s"], rows)
    write_results("hexapawn_zero_4x4", payload, table)


if __name__ == "__main__":
    main()

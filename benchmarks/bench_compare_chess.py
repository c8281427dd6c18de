"""Chess: supervised vs self-play at an equal wall-clock budget (``minizero compare``).

Runs (or resumes, or just reports, if it has finished) one comparison in a run directory and
copies its figures to benchmarks/results/compare_chess.{json,md,png}. Environment:
MINIZERO_BENCH_BUDGET (per arm, default 15m), MINIZERO_BENCH_OUT (run directory, default
/work/data/compare/real-15m), MINIZERO_AZ_DATA (held-out shards, default
/work/data/az-chess/sf-d8; labelled afresh when absent), MINIZERO_BENCH_SEED (default 1: the
held-out shards were made with seed 0, so the supervised arm's openings differ from theirs).

    make bench BENCH=compare_chess
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmarks.common import RESULTS, write_results
from minizero.chessgame.compare import CompareConfig, Comparison, parse_budget
from minizero.peers import find_stockfish


def main() -> None:
    budget = os.environ.get("MINIZERO_BENCH_BUDGET", "15m")
    out = Path(os.environ.get("MINIZERO_BENCH_OUT", "/work/data/compare/real-15m"))
    held_out = os.environ.get("MINIZERO_AZ_DATA", "/work/data/az-chess/sf-d8")
    config = CompareConfig(budget=parse_budget(budget),
                           seed=int(os.environ.get("MINIZERO_BENCH_SEED", "1")))
    comparison = Comparison(out, config, find_stockfish(),
                            held_out if Path(held_out).is_dir() else None,
                            resume=(out / "config.json").exists(), progress=False,
                            log=lambda line: print(line, flush=True))
    summary = comparison.run()
    table = (out / "summary.md").read_text()
    command = (f"minizero compare --game chess --budget {budget} --out {out} --seed {config.seed}"
               + (f" --held-out {held_out}" if Path(held_out).is_dir() else ""))
    write_results("compare_chess", {"command": command, "run": str(out), **summary},
                  f"`{command}`\n\n{table}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "learning_curves.png", RESULTS / "compare_chess.png")


if __name__ == "__main__":
    main()

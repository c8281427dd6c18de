"""What quantization costs and how well the big net matches its teacher, on held-out games.

Integer vs float on 10,000 held-out positions not in check (bar: mean |diff| <= 3 cp, 99th
percentile <= 15 cp), and both against Stockfish's labels in win-probability space (aim: R² >=
0.7), for the piece-square 256 net trained on data/sf. The float model is the trained checkpoint
(quantization-aware weights); the integer net is its quantization, as shipped.
Command: ``make bench BENCH=nnue_quality``.
"""

from __future__ import annotations

import json

from benchmarks.common import markdown_table, write_results
from benchmarks.nnue_common import DATA, RUN, require
from nnue.check import check, held_out_positions, load_any
from nnue.data import load_positions


def main() -> None:
    if not (require(DATA) and require(RUN / "checkpoint.pt")):
        return
    config = json.loads((RUN / "config.json").read_text())
    fraction = config["train"]["validation_fraction"]
    model, net, _ = load_any(RUN / "checkpoint.pt")
    positions = held_out_positions([DATA], 10_000, fraction)
    report = check(model, net, positions)
    total = len(load_positions([DATA]))
    metrics = [json.loads(line) for line in (RUN / "metrics.jsonl").read_text().splitlines()]
    p = report["int_vs_float_percentiles_cp"]
    table = markdown_table(
        ["dataset positions", "held-out checked", "int-float mean |d| cp", "p68", "p95", "p99",
         "p99.7", "max", "R² int vs teacher (WDL)", "MAE int vs teacher (WDL)",
         "R² float vs teacher (WDL)"],
        [[f"{total:,}", report["positions"], f"{report['int_vs_float_mean_abs_cp']:.2f}",
          f"{p['68']:.2f}", f"{p['95']:.2f}", f"{p['99']:.2f}", f"{p['99.7']:.2f}",
          f"{report['int_vs_float_max_abs_cp']:.1f}", f"{report['int_vs_teacher_r2_wdl']:.4f}",
          f"{report['int_vs_teacher_mae_wdl']:.4f}", f"{report['float_vs_teacher_r2_wdl']:.4f}"]])
    write_results("nnue_quality", {"dataset_positions": total, "run_config": config,
                                   "last_epoch": metrics[-1], **report}, table)


if __name__ == "__main__":
    main()

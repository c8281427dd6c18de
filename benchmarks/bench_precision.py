"""The reduced-precision lab at full size: NNUE (shipped net) and Hexapawn 3x3 and 4x4.

1. ``nnue precision`` on the shipped net: 2,000 random-playout positions from the shared opening
   set, best moves of 200; formats, approximate multipliers, mixed precision, Monte Carlo
   arithmetic, and the divergence search against random sampling at 3,000 evaluations each.
2. ``hexapawn precision`` on 3x3 with the default study sizes, on 4x4 with smaller ones.

Each study is kept in ``runs/bench-precision/`` and skipped when done, so a killed benchmark
resumes where it was. Writes benchmarks/results/precision.json and .md.

    make bench BENCH=precision
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.common import write_results
from hexapawn import precision as hexapawn_precision
from hexapawn.precision_report import tables as hexapawn_tables
from nnue import precision_study
from nnue.precision_study import NnuePrecisionConfig

ROOT = Path(__file__).resolve().parent.parent
NET = ROOT / "nnue" / "nets" / "piece-square-256.nnue"
OPENINGS = ROOT.parent / "shared" / "data" / "openings.fen"
RUNS = ROOT / "runs" / "bench-precision"


def openings() -> list[str]:
    if not OPENINGS.exists():
        return []
    return [line.strip() for line in OPENINGS.read_text().splitlines() if line.strip()]


def compact(results: dict[str, Any]) -> dict[str, Any]:
    """The results without the long per-evaluation traces (those stay in the run directory)."""
    out = {}
    for name, study in results.items():
        if name == "divergence":
            study = {method: {k: v for k, v in value.items() if k != "trace"}
                     for method, value in study.items()}
        out[name] = study
    return out


def main() -> None:
    payload: dict[str, Any] = {}
    sections = []
    config = NnuePrecisionConfig(budget=3000)
    results = precision_study.run(NET, RUNS / "nnue", config, openings(), resume=True)
    payload["nnue"] = {"config": {"positions": config.positions, "budget": config.budget,
                                  "openings": str(OPENINGS)}, **compact(results)}
    sections.append("## NNUE (nnue/nets/piece-square-256.nnue)\n\n" +
                    precision_study.tables(results))
    for size in ((3, 3), (4, 4)):
        name = f"{size[0]}x{size[1]}"
        settings = hexapawn_precision.HexapawnPrecisionConfig(train_steps=4000)
        if size == (4, 4):  # a network 7x larger on 40x the positions: smaller studies
            settings = hexapawn_precision.HexapawnPrecisionConfig(
                train_steps=8000, qat_steps=150, draws=3, fixed_steps=1000,
                qat_formats=("int4-channel", "int3-channel", "int2-channel", "binary-channel"),
                mca_samples=4, studies=("ptq", "qat"))  # the rest did not fit the time here
        results = hexapawn_precision.run(size, RUNS / f"hexapawn-{name}", settings, resume=True)
        payload[f"hexapawn_{name}"] = results
        sections.append(f"## Hexapawn {name}\n\n" + hexapawn_tables(results, name))
    write_results("precision", payload, "\n\n".join(sections))


if __name__ == "__main__":
    main()

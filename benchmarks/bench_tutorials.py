"""How long each tutorial takes in its quick and full modes, and how long the docs site takes.

Each tutorial runs as a script in a fresh folder, one at a time; the figures are wall-clock
seconds and the CPU seconds of the process (user + system), with the load average seen at the
start, since on a shared machine the wall clock says as much about the neighbours as about the
tutorial. Finished rows are kept in runs/bench-tutorials/rows.json, so a killed run resumes.

    make bench BENCH=tutorials
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import markdown_table, write_results

ROOT = Path(__file__).resolve().parent.parent
ROWS = ROOT / "runs" / "bench-tutorials" / "rows.json"


def timed(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Run ``command``; wall and CPU seconds (this child alone), load average, exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    began = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
    return {"wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
            "load_average": round(load, 1), "returncode": result.returncode}


def main() -> None:
    ROWS.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(ROWS.read_text()) if ROWS.exists() else {}
    tutorials = sorted((ROOT / "tutorials").glob("[0-9]*.py"))
    for path in tutorials:
        for mode in ("quick", "full"):
            key = f"{path.stem}/{mode}"
            if key in rows:
                continue
            with tempfile.TemporaryDirectory(prefix="bench-tutorial-") as folder:
                env = dict(os.environ, MPLBACKEND="Agg", MINIZERO_TUTORIAL_OUT=folder,
                           MINIZERO_TUTORIAL_SMALL="1" if mode == "quick" else "0")
                print(f"{key} ...", file=sys.stderr, flush=True)
                rows[key] = timed([sys.executable, str(path)], env, Path(folder))
            ROWS.write_text(json.dumps(rows, indent=2) + "\n")
    if "docs" not in rows:
        with tempfile.TemporaryDirectory(prefix="bench-docs-") as folder:
            print("docs build ...", file=sys.stderr, flush=True)
            rows["docs"] = timed([sys.executable, str(ROOT / "docs" / "build_site.py"),
                                  "--site", f"{folder}/site", "--work", f"{folder}/work"],
                                 dict(os.environ), ROOT)
        ROWS.write_text(json.dumps(rows, indent=2) + "\n")

    def cell(key: str) -> str:
        row = rows.get(key)
        if row is None:
            return "-"
        failed = "" if row["returncode"] == 0 else f" (exit {row['returncode']})"
        return (f"{row['wall_seconds']:.0f} s ({row['cpu_seconds']:.0f} s CPU, "
                f"load {row['load_average']:.0f}){failed}")

    table_rows = [[path.stem, cell(f"{path.stem}/quick"), cell(f"{path.stem}/full")]
                  for path in tutorials]
    table_rows.append(["docs site (make docs: every tutorial quick, strict build)", cell("docs"),
                       ""])
    table = markdown_table(["tutorial", "quick mode (MINIZERO_TUTORIAL_SMALL=1)", "full mode"],
                           table_rows)
    write_results("tutorials", {"rows": rows}, table)


if __name__ == "__main__":
    main()

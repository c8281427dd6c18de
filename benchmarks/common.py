"""What every benchmark shares: where results go, how a table is printed, and how engines are
graded on an EPD test suite."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minizero.atomic import write_text
from minizero.precision.report import markdown_table  # noqa: F401  (the benches import it from here)

if TYPE_CHECKING:
    from minizero.chessgame.match import EngineSpec

RESULTS = Path(__file__).resolve().parent / "results"


def cpu() -> dict[str, Any]:
    """The CPU's model name and the vector extensions that decide how fast numpy, numba and
    torch run on it (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")
    return {"model": model, "vector_extensions": [flag for flag in wanted if flag in flags]}


def machine() -> dict[str, Any]:
    """A short description of where the figures were measured."""
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu": cpu(),
        "load_average_1_5_15_min": [round(load, 2) for load in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d"),
    }


def write_results(name: str, payload: dict[str, Any], table: str) -> Path:
    """Write benchmarks/results/<name>.json and <name>.md and print the table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "machine": machine(), **payload}
    json_path = RESULTS / f"{name}.json"
    write_text(json_path, json.dumps(payload, indent=2) + "\n")
    write_text(RESULTS / f"{name}.md", table.rstrip() + "\n")
    print(table)
    return json_path


def time_handicap_text(row: dict[str, Any]) -> str:
    """The 'time handicap' cell of a match row: each engine whose options changed its thinking
    time (``minizero.chessgame.match.TIME_OPTIONS``) with those options, or 'none'."""
    handicaps = row.get("time_handicap") or {}
    return "; ".join(f"{name}: {options}" for name, options in handicaps.items()
                     if options) or "none"


def adjudication() -> dict[str, int]:
    """MINIZERO_BENCH_ADJUDICATE=1: a game is lost when both engines agree on -600 cp or worse
    for 4 moves each, drawn after move 40 when both see |score| <= 10 for 8 moves each."""
    if os.environ.get("MINIZERO_BENCH_ADJUDICATE") != "1":
        return {}
    return {"resign_score": 600, "resign_moves": 4, "draw_score": 10, "draw_moves": 8,
            "draw_after": 40}


def solve_epd(specs: dict[str, EngineSpec], path: Path, seconds: float,
              count: int | None = None) -> dict[str, Any]:
    """The first ``count`` positions of the EPD file ``path`` played by every engine at
    ``seconds`` a move, the engines alternating position by position (so load drifts hit all
    alike); a position is solved when the move is one of its ``bm`` moves."""
    import chess
    import chess.engine
    from tqdm import tqdm

    lines = [line for line in path.read_text().splitlines() if line.strip()][:count]
    suite = [chess.Board.from_epd(line) for line in lines]
    engines = {name: chess.engine.SimpleEngine.popen_uci(list(spec.command))
               for name, spec in specs.items()}
    solved: dict[str, list[str]] = {name: [] for name in engines}
    try:
        for name, spec in specs.items():
            if spec.options:
                engines[name].configure(dict(spec.options))
            engines[name].ping()  # isready: nets load now, not inside the first second
        for board, operations in tqdm(suite, desc=path.stem, file=sys.stderr,
                                      disable=not sys.stderr.isatty()):
            for name, engine in engines.items():
                move = engine.play(board, chess.engine.Limit(time=seconds)).move
                if move in operations.get("bm", []):
                    solved[name].append(operations.get("id", board.fen()))
    finally:
        for engine in engines.values():
            engine.quit()
    return {"seconds_per_position": seconds, "positions": len(suite),
            "solved": {name: len(ids) for name, ids in solved.items()}, "solved_ids": solved}

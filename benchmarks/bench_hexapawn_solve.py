"""How fast and how lean the exact Hexapawn solver is, beside a straightforward dict solver.

Each measurement runs in a fresh process so its peak memory (ru_maxrss) is its own. The baseline
is what one writes first: a memoized recursive negamax over position objects in a dictionary,
using the same game rules.

    make bench BENCH=hexapawn_solve
"""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.common import markdown_table, write_results

VECTORIZED = """
import json, resource, sys, time
from hexapawn.solve import solve
began = time.perf_counter()
solution = solve({width}, {height})
seconds = time.perf_counter() - began
summary = solution.summary()
print(json.dumps({{"seconds": seconds, "positions": summary["positions"],
    "with_moves": summary["with_moves"], "winner": summary["winner"],
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

DICTIONARY = """
import json, resource, sys, time
from hexapawn.game import Hexapawn
sys.setrecursionlimit(10000)
game = Hexapawn({width}, {height})
table = {{}}

def solve(position):
    known = table.get(position)
    if known is not None:
        return known
    actions = game.legal_actions(position)
    if not actions:
        best = -1000
    else:
        best = -10**6
        for action in actions:
            child = solve(game._play(position, action))
            best = max(best, -child + (1 if child > 0 else -1))
    table[position] = best
    return best

began = time.perf_counter()
value = solve(game.initial_state())
seconds = time.perf_counter() - began
print(json.dumps({{"seconds": seconds, "positions": len(table),
    "winner": "White" if value > 0 else "Black",
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(script: str, width: int, height: int) -> dict:
    result = subprocess.run([sys.executable, "-c", script.format(width=width, height=height)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    rows, payload = [], {"sizes": {}}
    for width, height in ((3, 3), (4, 4), (5, 5)):
        ours = measure(VECTORIZED, width, height)
        entry = {"vectorized": ours}
        row = [f"{width}x{height}", ours["winner"], f"{ours['positions']:,}",
               f"{ours['with_moves']:,}", f"{ours['seconds']:.3f}", f"{ours['peak_mib']:.0f}"]
        baseline = measure(DICTIONARY, width, height)
        assert baseline["positions"] == ours["positions"], (baseline, ours)
        assert baseline["winner"] == ours["winner"]
        entry["dictionary"] = baseline
        row += [f"{baseline['seconds']:.3f}", f"{baseline['peak_mib']:.0f}",
                f"{baseline['seconds'] / ours['seconds']:.1f}x"]
        payload["sizes"][f"{width}x{height}"] = entry
        rows.append(row)
    table = markdown_table(
        ["size", "winner", "positions", "with moves", "solve s", "peak MiB",
         "dict solver s", "dict peak MiB", "speed-up"], rows)
    write_results("hexapawn_solve", payload, table)


if __name__ == "__main__":
    main()

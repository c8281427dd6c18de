"""Nodes visited by minimax and alpha-beta for the same exact value, from the initial position.

    make bench BENCH=hexapawn_search
"""

from __future__ import annotations

from benchmarks.common import markdown_table, write_results
from hexapawn.demo import node_counts


def main() -> None:
    rows, payload = [], {}
    for width, height in ((3, 3), (4, 4)):
        counts = node_counts(width, height)
        values = {row["value"] for row in counts.values()}
        assert len(values) == 1, counts  # every search finds the same exact value
        payload[f"{width}x{height}"] = counts
        minimax_nodes = counts["minimax"]["nodes"]
        for name, row in counts.items():
            rows.append([f"{width}x{height}", name, f"{row['value']:+.0f}", f"{row['nodes']:,}",
                         f"{minimax_nodes / row['nodes']:.1f}x", f"{row['seconds']:.3f}"])
    table = markdown_table(
        ["size", "search", "value (White)", "nodes", "minimax nodes / nodes", "seconds"], rows)
    write_results("hexapawn_search", payload, table)


if __name__ == "__main__":
    main()

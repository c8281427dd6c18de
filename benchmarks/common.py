"""What every benchmark shares: where results go and how a table is printed."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from minizero.atomic import write_text

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """A short description of where the figures were measured."""
    import os

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
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


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)

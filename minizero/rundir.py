"""Run directories: config.json, metrics.jsonl and the checks that keep a run whole.

A run directory is created with its config; it is resumed only when asked and only with the same
config; metrics lines are appended once per generation or epoch, even when a crash cut the last
line or a resumed run measures a generation again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from minizero.checkpoint import load_checkpoint


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically (temp file + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)


def open_run(directory: Path, config: dict[str, Any], resume: bool,
             latest: Path) -> dict[str, Any] | None:
    """Create the run (writing config.json) or, with ``resume``, check its config and return the
    parts of its ``latest`` checkpoint (None if it has none yet). ValueError when a run exists
    and ``resume`` is not set, when there is nothing to resume, or when the configs differ."""
    config_path = directory / "config.json"
    if config_path.exists():
        if not resume:
            raise ValueError(f"{directory} already holds a run; pass --resume to continue it "
                             "or choose another --out")
        check_same_config(config_path, config)
        return load_checkpoint(latest)[1] if latest.exists() else None
    if resume:
        raise ValueError(f"{directory}: nothing to resume (no config.json)")
    directory.mkdir(parents=True, exist_ok=True)
    write_json(config_path, config)
    return None


def check_same_config(path: Path, expected: dict[str, Any]) -> None:
    """ValueError if the run directory's config.json differs from ``expected``."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: unreadable run config ({error})") from None
    expected = json.loads(json.dumps(expected))  # tuples -> lists, as stored
    if stored != expected:
        differing = sorted(key for key in set(stored) | set(expected)
                           if stored.get(key) != expected.get(key))
        raise ValueError(f"{path.parent} was made by a different configuration "
                         f"(differs in: {', '.join(differing)})")


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line, unless this generation (or epoch) is already recorded."""
    key = "generation" if "generation" in record else "epoch"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                if json.loads(line).get(key) == record[key]:
                    return
            except json.JSONDecodeError:
                continue  # a line cut by a crash
    cut = path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n")
    with open(path, "a") as handle:
        handle.write(("\n" if cut else "") + json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())

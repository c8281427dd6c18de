"""Run directories: config.json, metrics.jsonl and the checks that keep a run whole.

One implementation for every command that has runs (``minizero selfplay``, ``minizero train``,
``nnue train``). A run directory is created with its config (written atomically, tagged with the
kind of run); it is resumed only when asked, only by the same kind of command and only with the
same config; a non-empty folder that holds no run is refused, so a run never mixes its files
with someone else's.

metrics.jsonl holds one JSON object a line, one line per generation or epoch. Lines are
appended once per key (a resumed run that measures a generation again does not duplicate it),
only with finite numbers (``NaN`` is not JSON), and fsynced. A line cut by a crash is the last
one: it is repaired (dropped, with a message naming the file) when the run is resumed; a
damaged line anywhere else is an error naming the file and the line.

Command: ``minizero selfplay --out runs/zero --resume`` (and ``minizero train``, ``nnue train``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from minizero.atomic import TEMPORARY_SUFFIX, remove_stale_temporaries, write_text

CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"
KIND_KEY = "run"  # config.json names the command that made the run
# Keys that runs record only since a later version: a config.json without one is not checked
# for it (like one without the kind tag), so older runs stay resumable.
RECORDED_LATER = ("data_options",)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically (see minizero.atomic)."""
    write_text(path, json.dumps(payload, indent=2) + "\n")


def _holds_only_temporaries(directory: Path) -> bool:
    return all(entry.name.startswith(".") and entry.name.endswith(TEMPORARY_SUFFIX)
               for entry in directory.iterdir())


def open_run(directory: str | Path, config: dict[str, Any], resume: bool, kind: str) -> bool:
    """Create the run (writing config.json) or, with ``resume``, check that the directory holds
    a ``kind`` run with this config. Returns True when an existing run is resumed.

    ValueError when a run exists and ``resume`` is not set, when there is nothing to resume,
    when the run is of another kind or config, or when the directory is a non-empty folder that
    holds no run.
    """
    directory = Path(directory)
    config_path = directory / CONFIG_NAME
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} is a file, not a run directory")
    if config_path.exists():
        if not resume:
            raise ValueError(f"{directory}: a run is already there; pass --resume to continue "
                             "it or choose another --out")
        check_same_config(config_path, config, kind)
        remove_stale_temporaries(directory)
        read_metrics(directory / METRICS_NAME)  # repairs a line cut by a crash, or says why not
        return True
    if resume:
        raise ValueError(f"{directory}: nothing to resume (no {CONFIG_NAME})")
    check_empty(directory, "run")
    try:  # before the directory is made: a config that is not JSON leaves nothing behind
        text = json.dumps({KIND_KEY: kind, **config}, indent=2, allow_nan=False) + "\n"
    except ValueError as error:
        raise ValueError(f"{directory}: the run's settings cannot be recorded ({error})") from None
    directory.mkdir(parents=True, exist_ok=True)
    write_text(config_path, text)
    return False


def check_empty(directory: str | Path, holds: str) -> None:
    """ValueError unless ``directory`` is absent or empty (a killed writer's temporaries aside):
    a new run or dataset (``holds`` names it) never mixes its files with someone else's."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} is a file, not a directory for --out")
    if directory.exists() and not _holds_only_temporaries(directory):
        raise ValueError(f"{directory} is not empty and holds no {holds}; choose a new or "
                         "empty folder for --out")


def check_same_config(path: Path, expected: dict[str, Any], kind: str) -> None:
    """ValueError if the run directory's config.json is not a ``kind`` run made by ``expected``.

    (A config.json without the kind tag, from before runs were tagged, counts as any kind;
    one without a key of ``RECORDED_LATER`` is not checked for that key.)
    """
    try:
        stored = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: unreadable run config ({error})") from None
    if not isinstance(stored, dict):
        raise ValueError(f"{path}: not a run config")
    stored_kind = stored.pop(KIND_KEY, kind)
    if stored_kind != kind:
        raise ValueError(f"{path.parent} holds a {stored_kind!r} run, not a {kind!r} run")
    expected = json.loads(json.dumps(expected))  # tuples -> lists, as stored
    for key in RECORDED_LATER:
        if key not in stored:
            expected.pop(key, None)
    if stored != expected:
        differing = sorted(key for key in set(stored) | set(expected)
                           if stored.get(key) != expected.get(key))
        raise ValueError(f"{path.parent} was made by a different configuration "
                         f"(differs in: {', '.join(differing)})")


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl ([] if there is none).

    A last line cut by a crash (no newline at its end, not valid JSON) is removed from the file
    with a message on stderr naming it; any other unreadable line is a ValueError naming the
    file and the line number.
    """
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as error:
            torn = number == len(lines) and not text.endswith("\n")
            if not torn:
                raise ValueError(f"{path}:{number}: damaged metrics line ({error})") from None
            print(f"{path}: removed line {number}, cut short by an interruption",
                  file=sys.stderr)
            write_text(path, "".join(kept + "\n" for kept in lines[:number - 1] if kept.strip()))
            return records
        records.append(record)
    if text and not text.endswith("\n"):  # a whole last line whose newline was not written
        write_text(path, text + "\n")
    return records


def append_metrics(path: str | Path, record: dict[str, Any], key: str | None = None) -> bool:
    """Append ``record`` as one fsynced JSON line unless a line with the same ``key`` value
    (default "generation" or "epoch") is there already. Returns True when a line was written.

    A NaN or infinite value is a ValueError naming the field: the file stays valid JSON lines.
    """
    path = Path(path)
    key = key or ("generation" if "generation" in record else "epoch")
    bad = [name for name, value in record.items()
           if isinstance(value, float) and not (value == value and abs(value) != float("inf"))]
    if bad:
        raise ValueError(f"{path}: refusing to record non-finite {', '.join(bad)} "
                         f"({', '.join(f'{name}={record[name]}' for name in bad)}) "
                         f"for {key} {record.get(key)}")
    existing = read_metrics(path)
    if any(line.get(key) == record[key] for line in existing):
        return False
    line = json.dumps(record, allow_nan=False) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    return True

"""Weights-only checkpoints: tensors and plain values, never pickled objects.

A checkpoint is one ``torch.save`` file holding a dict of state dicts (network, optimizer),
counters and the component configs as a JSON string. It is read back with
``torch.load(..., weights_only=True)``, which refuses anything but tensors and plain containers,
so a checkpoint from a stranger cannot run code. Writes go through ``minizero.atomic``, so a
crash (kill -9 included) leaves either the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import torch

from minizero.atomic import atomic_write

FORMAT = "minizero-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, *, config: dict[str, Any], **parts: Any) -> None:
    """Write ``parts`` (state dicts, ints, floats, strings) and ``config`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, "config": json.dumps(config), **parts}
    with atomic_write(path) as handle:
        torch.save(payload, handle)


def load_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a checkpoint: (config dict, parts). ValueError naming the file if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile,
            AttributeError, KeyError) as error:
        # torch's messages run on for lines; its first sentence says what is wrong.
        text = str(error).strip()
        reason = text.splitlines()[0].split(". ")[0][:100] if text else type(error).__name__
        raise ValueError(f"{path}: not a readable checkpoint ({reason})") from None
    except Exception as error:  # torch's unpickler raises its own types for foreign content
        raise ValueError(f"{path}: not a readable checkpoint ({type(error).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a minizero checkpoint")
    if payload.get("version") != VERSION:
        raise ValueError(f"{path}: checkpoint version {payload.get('version')} is not {VERSION}")
    try:
        config = json.loads(payload.pop("config"))
    except (KeyError, TypeError, json.JSONDecodeError):
        raise ValueError(f"{path}: checkpoint has no readable config") from None
    return config, payload

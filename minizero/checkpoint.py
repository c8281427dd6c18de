"""Weights-only checkpoints: tensors and plain values, never pickled objects.

A checkpoint is one ``torch.save`` file holding a dict of state dicts (network, optimizer),
counters and the component configs as a JSON string. It is read back with
``torch.load(..., weights_only=True)``, which refuses anything but tensors and plain containers,
so a checkpoint from a stranger cannot run code. Writes go through ``minizero.atomic``, so a
crash (kill -9 included) leaves either the old checkpoint or the new one, never half of one;
the bytes are made in memory first, so a full disk is an OSError naming the file (torch's own
writer would report it as an internal RuntimeError).
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from minizero.atomic import atomic_write
from minizero.inputs import regular_file

FORMAT = "minizero-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, *, config: dict[str, Any], **parts: Any) -> None:
    """Write ``parts`` (state dicts, ints, floats, strings) and ``config`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, "config": json.dumps(config), **parts}
    serialized = io.BytesIO()
    torch.save(payload, serialized)
    with atomic_write(path) as handle:
        handle.write(serialized.getbuffer())


def load_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a checkpoint: (config dict, parts). ValueError naming the file if it is not one."""
    path = regular_file(path, "checkpoint")  # not a device or a FIFO: read without end
    try:
        with warnings.catch_warnings():  # torch warns about what it then refuses; we say why
            warnings.simplefilter("ignore")
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

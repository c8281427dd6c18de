"""The project's own file formats refuse what they cannot read: a shard whose arrays have the
wrong width or type, a checkpoint of another version; argparse types take their whole range."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from minizero.checkpoint import VERSION, load_checkpoint
from minizero.options import fraction, non_negative_int, positive_float
from minizero.shards import read_shard, write_shard

SCHEMA = {"moves": (np.int16, ()), "planes": (np.uint8, (4,))}


def test_a_shard_with_another_integer_width_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "shard.npz"
    arrays = {"moves": np.array([1, 2], np.int16), "planes": np.zeros((2, 4), np.uint8)}
    write_shard(path, b"test", 1, arrays, SCHEMA)
    assert read_shard(path, b"test", 1, SCHEMA)["moves"].tolist() == [1, 2]
    np.savez_compressed(path, format=np.array(b"test"), version=np.array(1, np.int32),
                        moves=np.array([1, 2], np.int32), planes=np.zeros((2, 4), np.uint8))
    with pytest.raises(ValueError, match=r"array moves has int32\(2,\), expected int16"):
        read_shard(path, b"test", 1, SCHEMA)
    with pytest.raises(ValueError, match="shard version 1, this code reads 2"):
        read_shard(path, b"test", 2, SCHEMA)


def test_a_checkpoint_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    torch.save({"format": "minizero-checkpoint", "version": VERSION + 1, "config": "{}"}, path)
    with pytest.raises(ValueError, match=f"checkpoint version {VERSION + 1} is not {VERSION}"):
        load_checkpoint(path)


def test_argparse_types_accept_their_whole_range() -> None:
    assert fraction("0") == 0.0 and fraction("1") == 1.0
    assert non_negative_int("0") == 0
    for bad, parse in (("1.5", fraction), ("-0.1", fraction), ("-1", non_negative_int),
                       ("0", positive_float), ("nan", positive_float)):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(bad)

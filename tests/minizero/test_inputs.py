"""Reading user files: bounded, line-numbered, regular files for binary formats, no warnings."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import pytest

from minizero.checkpoint import load_checkpoint
from minizero.inputs import MAX_LINE, npz_file, read_bytes, regular_file, text_lines
from tests.hostile_inputs import RAW_PICKLE


def test_comment_lines_are_skipped_whatever_their_bytes(tmp_path: Path) -> None:
    path = tmp_path / "positions.epd"
    path.write_bytes("# caf\xe9 au lait\n\n  8/8/8/8/8/8/8/K1k5 w - -\n".encode("latin-1"))
    assert list(text_lines(path)) == [(3, "8/8/8/8/8/8/8/K1k5 w - -")]


def test_a_line_that_is_not_utf8_is_named_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "openings.fen"
    path.write_bytes(b"# fine\nstartpos\n8/8 w \xff\n")
    with pytest.raises(ValueError, match=r"openings.fen:3: not UTF-8 text \(byte 0xff\)"):
        list(text_lines(path))
    assert [text for _, text in text_lines(path, errors="replace")][-1] == "8/8 w \ufffd"


def test_an_endless_file_is_read_no_further_than_one_long_line() -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError, match=f"/dev/zero:1: line longer than {MAX_LINE} bytes"):
        list(text_lines("/dev/zero"))
    assert time.perf_counter() - started < 1


def test_binary_formats_come_from_regular_files_of_bounded_size(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it would block: it is never opened
    with pytest.raises(ValueError, match="pipe: not a regular file"):
        regular_file(fifo, "net")
    with pytest.raises(ValueError, match="zero: not a regular file"):
        read_bytes("/dev/zero", "net", 100)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 101)
    with pytest.raises(ValueError, match="big.bin: 101 bytes, more than a net can have"):
        read_bytes(big, "net", 100)
    with pytest.raises(ValueError, match="File name too long"):
        regular_file(tmp_path / ("n" * 300), "net")


def test_random_bytes_are_not_an_npz_nor_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "shard.npz"
    path.write_bytes(os.urandom(500))
    with pytest.raises(ValueError, match="shard.npz: not an npz file") as error:
        npz_file(path, "replay shard")
    assert "pickle" not in str(error.value)


def test_a_raw_pickle_is_refused_without_torch_warnings(tmp_path: Path) -> None:
    path = tmp_path / "raw.pt"
    path.write_bytes(RAW_PICKLE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="raw.pt: not a readable checkpoint"):
            load_checkpoint(path)
    assert [str(warning.message) for warning in caught] == []

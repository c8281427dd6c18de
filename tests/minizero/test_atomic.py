"""Atomic writes and run directories: no half file, no stray temporary, no lost or doubled line."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from minizero import atomic
from minizero.atomic import atomic_write, remove_stale_temporaries, write_text
from minizero.rundir import append_metrics, open_run, read_metrics


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "config.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("half of the new")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.json"]


def test_the_data_is_fsynced_before_the_rename(tmp_path: Path, monkeypatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(atomic.os, "replace",
                        lambda a, b: (events.append("replace"), real_replace(a, b)))
    write_text(tmp_path / "a.txt", "hello")
    assert events[:2] == ["fsync", "replace"]
    assert (tmp_path / "a.txt").read_text() == "hello"


def test_two_writers_of_one_file_do_not_collide(tmp_path: Path) -> None:
    """Each writer has its own temporary name; the file ends as one writer's whole content."""
    target = tmp_path / "shared.txt"
    both_open = threading.Barrier(2)

    def write(content: str) -> None:
        with atomic_write(target, "w") as handle:
            handle.write(content[:5000])
            both_open.wait(timeout=10)  # both temporaries exist at once
            handle.write(content[5000:])

    threads = [threading.Thread(target=write, args=(letter * 10_000,)) for letter in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_text() in ("a" * 10_000, "b" * 10_000)
    assert [path.name for path in tmp_path.iterdir()] == ["shared.txt"]


def test_a_directory_is_not_overwritten(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a directory"):
        write_text(tmp_path, "x")


def _device(path: Path) -> None:
    """A character device like /dev/full, made where we may (root); else the test skips."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    except (PermissionError, OSError) as error:
        pytest.skip(f"cannot make a device here ({error.strerror})")


@pytest.mark.parametrize("make", [os.mkfifo, _device], ids=["fifo", "device"])
def test_a_device_or_fifo_is_never_replaced_by_a_file(make, tmp_path: Path) -> None:
    target = tmp_path / "special"
    make(target)
    mode = target.lstat().st_mode
    with pytest.raises(ValueError, match="special is not a regular file"):
        write_text(target, "x")
    assert target.lstat().st_mode == mode  # still the FIFO or the device
    assert [path.name for path in tmp_path.iterdir()] == ["special"]


def test_a_failed_write_names_the_file(tmp_path: Path) -> None:
    """A full disk: the OSError of the write names the file it was for."""
    target = tmp_path / "data.bin"
    with pytest.raises(OSError, match="data.bin") as error, atomic_write(target) as handle:
        handle.write(b"x")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert error.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_a_config_that_is_not_json_leaves_no_run_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be recorded"):
        open_run(tmp_path / "run", {"budget": float("inf")}, resume=False, kind="compare")
    assert not (tmp_path / "run").exists()


def test_stale_temporaries_are_cleared(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    stale = tmp_path / "checkpoints" / ".latest.pt.abc123.tmp"
    stale.write_bytes(b"half")
    keep = tmp_path / "notes.tmp"  # not one of ours
    keep.write_text("mine")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert keep.exists()


def test_a_torn_last_metrics_line_is_repaired_with_a_message(tmp_path: Path, capsys) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1, "loss": 0.5}\n{"epoch": 2, "lo')
    assert read_metrics(path) == [{"epoch": 1, "loss": 0.5}]
    assert str(path) in capsys.readouterr().err
    assert path.read_text() == '{"epoch": 1, "loss": 0.5}\n'
    assert append_metrics(path, {"epoch": 2, "loss": 0.25})
    assert not append_metrics(path, {"epoch": 2, "loss": 0.25})  # never twice
    assert [row["epoch"] for row in read_metrics(path)] == [1, 2]


def test_a_damaged_metrics_line_in_the_middle_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1}\nnot json\n{"epoch": 3}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:2"):
        read_metrics(path)


def test_nan_is_never_written_into_metrics(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    with pytest.raises(ValueError, match="non-finite loss"):
        append_metrics(path, {"epoch": 1, "loss": float("nan")})
    with pytest.raises(ValueError, match="non-finite"):
        append_metrics(path, {"epoch": 1, "loss": float("inf")})
    assert not path.exists()


def test_run_directories_refuse_foreign_folders_and_other_kinds(tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(ValueError, match="not empty and holds no run"):
        open_run(foreign, {"a": 1}, resume=False, kind="selfplay")
    assert not (foreign / "config.json").exists()

    run = tmp_path / "run"
    assert open_run(run, {"a": 1}, resume=False, kind="selfplay") is False
    assert json.loads((run / "config.json").read_text()) == {"run": "selfplay", "a": 1}
    with pytest.raises(ValueError, match="already there"):
        open_run(run, {"a": 1}, resume=False, kind="selfplay")
    with pytest.raises(ValueError, match="'selfplay' run, not a 'train' run"):
        open_run(run, {"a": 1}, resume=True, kind="train")
    with pytest.raises(ValueError, match="differs in: a"):
        open_run(run, {"a": 2}, resume=True, kind="selfplay")
    assert open_run(run, {"a": 1}, resume=True, kind="selfplay") is True
    with pytest.raises(ValueError, match="nothing to resume"):
        open_run(tmp_path / "new", {"a": 1}, resume=True, kind="selfplay")
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        open_run(file, {"a": 1}, resume=False, kind="selfplay")

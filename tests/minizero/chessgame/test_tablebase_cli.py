"""``minizero tablebase``: the three commands, the file format's refusals, bad input, resume."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from minizero.chessgame.tablebase.signature import parse_signature
from minizero.chessgame.tablebase.storage import (
    FORMAT_LINE,
    load_table,
    read_header,
    save_table,
    table_path,
)
from minizero.cli import main

ROOT = Path(__file__).resolve().parents[3]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_probe_prints_the_result_and_every_move(tablebase_dir: Path, capsys) -> None:
    code, out, _ = run(["tablebase", "probe", "8/8/8/8/8/2k5/8/KQ6 w - - 0 1", "--dir",
                        str(tablebase_dir)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[1] == "White to move: win, mate in 6 (11 plies)"
    assert len(lines) == 2 + 21  # 20 queen moves and Ka2, each with its value
    assert "Qe4" in lines[2] and "mate in 6" in lines[2]


def test_stats_prints_counts_and_the_longest_mate(tablebase_dir: Path, capsys) -> None:
    code, out, _ = run(["tablebase", "stats", "krvk", "--dir", str(tablebase_dir)], capsys)
    assert code == 0
    assert "longest mate: 16 moves (31 plies)" in out
    assert "Black to move" in out and "draws" in out


def test_build_writes_into_out_and_keeps_what_is_there(tmp_path: Path, capsys) -> None:
    code, out, _ = run(["tablebase", "build", "KRvK", "--out", str(tmp_path), "--quiet"],
                       capsys)
    assert code == 0 and "1 tables" in out
    path = tmp_path / "KRvK.mztb"
    stamp = path.stat().st_mtime_ns
    assert run(["tablebase", "build", "KRvK", "--out", str(tmp_path), "--quiet"], capsys)[0] == 0
    assert path.stat().st_mtime_ns == stamp  # already built: kept
    assert run(["tablebase", "build", "KRvK", "--out", str(tmp_path), "--force", "--quiet"],
               capsys)[0] == 0
    assert path.stat().st_mtime_ns != stamp


def test_the_default_folder_is_the_user_cache(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    code, out, _ = run(["tablebase", "probe", "8/8/8/8/8/2k5/8/KR6 b - - 0 1", "--quiet"],
                       capsys)
    assert code == 0 and "Black to move: loss" in out
    assert (tmp_path / "minizero" / "tablebases" / "KRvK.mztb").is_file()


@pytest.mark.parametrize("argv, words", [
    (["build", "KQvKRR"], "5 men"),
    (["build", "QvK"], "not a material signature"),
    (["build", "KQQQQQQQQQvK"], "11 men"),
    (["build", "KXvK"], "unknown piece letter 'X'"),
    (["build", "KKvK"], "exactly one king"),
    (["build", "KvK"], "two bare kings"),
    (["build", "--all", "5"], "--all takes 3 or 4"),
    (["build"], "name one table"),
    (["probe", "8/8/8/8/8/2k5/8/KQ4RR w - - 0 1"], "5 men"),
    (["probe", "8/8/8/8/8/2k5/8/KK6 w - - 0 1"], "not a legal position"),
    (["probe", "not a fen"], "not a FEN"),
    (["probe", "4k3/8/8/8/8/8/8/R3K3 w Q - 0 1"], "castling"),
    (["stats", "KPPPvK"], "5 men"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], words: str, tmp_path: Path,
                                          capsys) -> None:
    code, out, err = run(["tablebase", *argv, "--quiet"] if argv[0] != "build" or len(argv) > 1
                         else ["tablebase", *argv], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and words in err, err
    assert not any(tmp_path.iterdir())


def test_a_folder_that_is_a_file_is_refused(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    for argv in (["build", "KQvK", "--out", str(blocker)], ["stats", "KQvK", "--dir", str(blocker)],
                 ["probe", "8/8/8/8/8/2k5/8/KQ6 w - - 0 1", "--dir", str(blocker)]):
        code, _, err = run(["tablebase", *argv], capsys)
        assert code == 2 and "is a file, not a folder" in err
    assert blocker.read_text() == "mine"


@pytest.fixture
def krvk(tablebase_dir: Path) -> tuple[Path, np.ndarray]:
    signature = parse_signature("KRvK")
    return table_path(tablebase_dir, signature), load_table(table_path(tablebase_dir, signature),
                                                           signature)


def test_damaged_files_are_named_with_their_problem(krvk, tmp_path: Path) -> None:
    path, values = krvk
    signature = parse_signature("KRvK")
    good = path.read_bytes()
    cases = {
        "truncated": good[:-100],
        "checksum mismatch": good[:-60] + bytes(b ^ 0xFF for b in good[-60:-59]) + good[-59:],
        "not a minizero tablebase file": b"\x89PNG\r\n" + good,
        "another format version": b"minizero-tablebase 9\n" + good[len(FORMAT_LINE):],
        "corrupt header": FORMAT_LINE + b"{not json\n" + good[len(FORMAT_LINE) + 40:],
    }
    for problem, data in cases.items():
        damaged = tmp_path / "KRvK.mztb"
        damaged.write_bytes(data)
        with pytest.raises(ValueError) as error:
            load_table(damaged, signature)
        message = str(error.value)
        assert message.startswith(str(damaged)) and "\n" not in message, message
        if problem != "checksum mismatch":
            assert problem in message, message
        else:
            assert "checksum" in message or "corrupt payload" in message, message
    foreign = tmp_path / "KQvK.mztb"
    foreign.write_bytes(good)
    with pytest.raises(ValueError, match="holds KRvK, not KQvK"):
        read_header(foreign, parse_signature("KQvK"))
    save_table(tmp_path / "again.mztb", signature, values)
    assert np.array_equal(load_table(tmp_path / "again.mztb", signature), values)


def _capped_disk() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_full_disk_leaves_nothing_half_written(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "minizero", "tablebase", "build", "KQvKR",
                             "--out", str(tmp_path), "--quiet"], capture_output=True, text=True,
                            preexec_fn=_capped_disk, cwd=ROOT, timeout=300)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "mztb" in result.stderr
    for path in tmp_path.iterdir():  # only whole tables remain, no temporary files
        assert not path.name.startswith(".")
        read_header(path, parse_signature(path.stem))


@pytest.mark.slow
def test_a_build_killed_with_sigkill_resumes(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "minizero", "tablebase", "build", "KBNvK", "--out",
               str(tmp_path), "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT)
    deadline = time.monotonic() + 120
    while not (tmp_path / "KNvK.mztb").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "KBNvK.mztb").exists()
    done = {path.name for path in tmp_path.glob("*.mztb")}
    stamps = {name: os.stat(tmp_path / name).st_mtime_ns for name in done}
    assert subprocess.run(command, cwd=ROOT, timeout=300).returncode == 0
    assert {name: os.stat(tmp_path / name).st_mtime_ns for name in done} == stamps
    read_header(tmp_path / "KBNvK.mztb", parse_signature("KBNvK"))
    assert not list(tmp_path.glob(".*"))  # a killed atomic write's temporary is cleared


def test_a_corrupt_unit_is_named_and_the_finished_tables_kept(tmp_path: Path,
                                                              monkeypatch) -> None:
    """A worker that hands back something else than the table's values (a bug, a node that
    lies): one line naming the table; the tables written before it stay."""
    from minizero.chessgame.tablebase import probe

    solve_unit = probe.solve_unit

    def corrupt(signature, *rest):
        values = solve_unit(signature, *rest)
        return values[:-1] if signature.name == "KRvK" else values

    monkeypatch.setattr(probe, "solve_unit", corrupt)
    with pytest.raises(ValueError, match="a worker returned a corrupt KRvK table"):
        probe.build_tables([parse_signature("KRvK")], tmp_path, quiet=True)
    assert [path.name for path in tmp_path.iterdir()] == []  # KRvK needs no other table
    with pytest.raises(ValueError, match="a worker returned a corrupt KRvK table"):
        probe.build_tables([parse_signature("KQvK"), parse_signature("KRvK")], tmp_path,
                           quiet=True)
    assert [path.name for path in tmp_path.iterdir()] == ["KQvK.mztb"]


@pytest.mark.parametrize("argv, words", [
    (["--cluster", "spark"], "unknown cluster 'spark': use local, ray or ray://HOST:PORT"),
    (["--workers", "0"], "--workers: must be positive"),
])
def test_bad_cluster_options_are_usage_errors(argv: list[str], words: str, tmp_path: Path,
                                              capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["tablebase", "build", "KQvK", "--out", str(tmp_path / "new"), *argv])
    assert exit_.value.code == 2 and words in capsys.readouterr().err
    assert not any(tmp_path.iterdir())

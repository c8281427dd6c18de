"""The hexapawn command: results, one-line errors, and an interactive game that survives typos."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hexapawn.cli import build_parser, main
from hexapawn.solve import Solution


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hexapawn", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_solve_reports_winner_counts_and_time(tmp_path) -> None:
    out = tmp_path / "three.npz"
    result = run("solve", "--size", "3x3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Black wins" in result.stdout
    assert "135" in result.stdout and "70 with a move to choose" in result.stdout
    assert Solution.load(out).summary()["positions"] == 135


@pytest.mark.parametrize("size", ["2x9", "abc", "9x9"])
def test_impossible_sizes_exit_nonzero_with_one_line(size: str) -> None:
    result = run("solve", "--size", size)
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(error_lines) == 1 and "Traceback" not in result.stderr


def test_too_large_for_the_solver_is_a_clean_error(capsys) -> None:
    assert main(["solve", "--size", "8x8"]) == 2
    assert "at most 31 squares" in capsys.readouterr().err


def test_play_asks_again_after_garbled_and_illegal_moves() -> None:
    # White against the perfect player: typos and an illegal move, then a legal game to the end.
    moves = ["nonsense", "a1a3", "b1b2"] + ["a1a2", "c1c2", "a2a3", "c2c3", "b2b3"] * 2
    lines: list[str] = []
    feed = iter(moves)

    def read(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    args = build_parser().parse_args(["play", "--size", "3x3", "--opponent", "solver"])
    assert args.run(args, read=read, write=lines.append) == 0
    text = "\n".join(lines)
    assert "is not a move" in text and "not legal" in text
    assert "solver wins." in text  # 3x3 is a win for Black with perfect play


def test_play_from_a_pipe_ends_cleanly() -> None:
    result = run("play", "--opponent", "random", "--color", "black", stdin="zz\nquit\n")
    assert result.returncode == 0, result.stderr
    assert "is not a move" in result.stdout

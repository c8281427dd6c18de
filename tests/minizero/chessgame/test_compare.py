"""minizero compare: the budget, bad input, the clock, and a tiny run killed twice and resumed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from minizero.cli import main
from minizero.compare import ArmClock, parse_budget

STOCKFISH = shutil.which("stockfish") or next(
    (path for path in ("/usr/games/stockfish",) if os.access(path, os.X_OK)), None)
needs_stockfish = pytest.mark.skipif(
    STOCKFISH is None, reason="Stockfish is not installed (`make peers` installs it)")
BUDGET = 12.0
TINY = [sys.executable, "-m", "minizero", "compare", "--game", "chess:max_plies=30",
        "--budget", f"{BUDGET:.0f}s", "--checkpoints", "3", "--held-out-positions", "40",
        "--held-out-depth", "2", "--label-depth", "2", "--simulations", "4",
        "--games-per-generation", "2", "--train-steps", "4", "--blocks", "1", "--channels", "8",
        "--batch-size", "16", "--match-games", "2", "--match-nodes", "2", "--match-plies", "24",
        "--workers", "2", "--policy-head", "conv", "--quiet"]


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("20m", 1200), ("2h", 7200),
                                           ("1.5h", 5400), (" 45 s ", 45)])
def test_budget_forms(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "h", "-5m", "0s", "0.0h", "2d", "1e3s", "m20", "x"])
def test_bad_budgets_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="budget"):
        parse_budget(text)


def _refused(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["compare", *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith("minizero: error: ") and error.count("\n") == 1, error
    return error


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "run")
    assert "budget '5x'" in _refused(["--budget", "5x", "--out", out], capsys)
    assert "positive" in _refused(["--budget", "0m", "--out", out], capsys)
    assert "compare is for chess" in _refused(
        ["--game", "hexapawn:3x3", "--budget", "1m", "--out", out], capsys)
    assert "even" in _refused(["--budget", "1m", "--match-games", "3", "--out", out], capsys)
    assert "label_fraction" in _refused(
        ["--budget", "1m", "--label-fraction", "1.5", "--out", out], capsys)
    assert "Stockfish not found" in _refused(
        ["--budget", "1m", "--stockfish", str(tmp_path / "none"), "--out", out], capsys)
    empty = tmp_path / "empty"
    empty.mkdir()
    if STOCKFISH is not None:  # these checks come after Stockfish is found
        assert "policy_head" in _refused(
            ["--budget", "1m", "--policy-head", "attention", "--out", out], capsys)
        if not torch.cuda.is_available():
            assert "no CUDA device" in _refused(
                ["--budget", "1m", "--device", "cuda", "--out", out], capsys)
        assert "no chess shards" in _refused(
            ["--budget", "1m", "--held-out", str(empty), "--out", out], capsys)
        junk = tmp_path / "junk"
        junk.mkdir()
        (junk / "az-w00-00000.npz").write_bytes(b"not a shard")
        assert "az-w00-00000.npz" in _refused(
            ["--budget", "1m", "--held-out", str(junk), "--out", out], capsys)
    assert not (tmp_path / "run").exists()  # nothing was started


def test_a_killed_session_is_charged_up_to_its_newest_artefact(tmp_path: Path) -> None:
    now = time.time()
    (tmp_path / "clock.json").write_text(json.dumps({"seconds": 5.0, "saved_at": now - 10}))
    for name, age in (("old.npz", 20), ("kept.npz", 4)):  # written 20 s and 4 s ago
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (now - age, now - age))
    clock = ArmClock(tmp_path)  # the killed session ran 6 s past its record, then died
    assert 11.0 <= clock.seconds() < 11.5
    with clock.paused():
        time.sleep(0.2)
    assert clock.seconds() < 11.5
    again = ArmClock(tmp_path)  # resumed at once: nothing new to charge
    assert 11.0 <= again.seconds() < 12.0


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _start_and_kill(out: Path, arm: str) -> None:
    """Run (or resume) until ``arm`` has recorded a snapshot, then kill -9."""
    resume = ["--resume"] if (out / "config.json").exists() else []
    process = subprocess.Popen([*TINY, "--stockfish", STOCKFISH or "", "--out", str(out),
                                *resume], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and not _lines(out / arm / "snapshots.jsonl"):
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    _, error = process.communicate()
    assert process.returncode == -9, error.decode()


@needs_stockfish
@pytest.mark.slow
def test_a_tiny_comparison_killed_twice_resumes_to_a_whole_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _start_and_kill(out, "supervised")
    first = out / "supervised" / "snapshot-01.pt"
    kept = {path: path.stat().st_mtime_ns for path in (out / "supervised").glob("*.pt")
            if path.name.startswith("snapshot")}
    assert first in kept
    _start_and_kill(out, "selfplay")
    selfplay_first = _lines(out / "selfplay" / "snapshots.jsonl")
    finished = subprocess.run([*TINY, "--stockfish", str(STOCKFISH), "--out", str(out),
                               "--resume"], capture_output=True, text=True, timeout=400)
    assert finished.returncode == 0, finished.stderr
    assert "| supervised |" in finished.stdout and "learning curves" in finished.stdout

    # Nothing finished was lost or redone; every snapshot was graded once.
    for path, mtime in kept.items():
        assert path.stat().st_mtime_ns == mtime
    supervised = _lines(out / "supervised" / "snapshots.jsonl")
    selfplay = _lines(out / "selfplay" / "snapshots.jsonl")
    assert [line["snapshot"] for line in supervised] == [1, 2, 3]
    assert selfplay[:len(selfplay_first)] == selfplay_first
    numbers = [line["snapshot"] for line in selfplay]
    assert numbers == sorted(set(numbers)) and numbers[-1] == 3
    names = [line["name"] for line in _lines(out / "grades.jsonl")]
    assert sorted(names) == sorted(["initial-00", *(f"supervised-{n:02d}" for n in [1, 2, 3]),
                                    *(f"selfplay-{n:02d}" for n in numbers)])
    # Each arm spent its budget (kills included) and not far beyond it.
    for lines in (supervised, selfplay):
        assert all(a["seconds"] < b["seconds"] for a, b in zip(lines, lines[1:]))
        assert BUDGET <= lines[-1]["seconds"] < 4 * BUDGET
    assert supervised[-1]["positions"] > 0 and supervised[-1]["steps"] > 0
    assert selfplay[-1]["games"] > 0 and selfplay[-1]["steps"] > 0
    assert all(line["load_average"] >= 0 for line in supervised + selfplay)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["held_out_positions"] == 40
    for arm in ("supervised", "selfplay"):
        for point in summary["arms"][arm]["curve"]:
            assert 0 <= point["top1"] <= 1 and 0 <= point["value_mae"] <= 2
    for match in summary["matches"].values():
        assert match["games"] == 2 == match["wins"] + match["draws"] + match["losses"]
        bounds = [match[key] for key in ("elo_low", "elo", "elo_high") if match[key] is not None]
        assert bounds == sorted(bounds)  # null: unbounded (every game won or lost)
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| self-play |" in (out / "summary.md").read_text()
    assert not list(out.rglob("*.tmp"))
    assert main(["compare", *TINY[4:], "--out", str(out)]) == 2  # no silent restart

"""Chaos: runs killed with SIGKILL at random moments, resumed, end exactly as an unbroken run.

A short self-play run and a short supervised training run are each started, killed (kill -9)
after a random delay several times, resumed each time, and finished. The end state must equal
that of the same run done in one go: the same metrics lines (one per generation or epoch, no
gap, no double, the same losses), the same replay shards and bit-identical final weights.
The delays are drawn from a seeded generator, scaled to the unbroken run's duration on this
machine, so that kills land during start-up, self-play, training and checkpoint writes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from minizero.checkpoint import load_checkpoint
from tests.helpers import alive, descendants

KILLS = 4
SELFPLAY = [sys.executable, "-m", "minizero", "selfplay", "--game", "hexapawn:3x3", "--workers",
            "1", "--games", "6", "--shard-games", "2", "--train-steps", "30", "--simulations",
            "12", "--generations", "3", "--channels", "8", "--quiet"]
TRAIN = [sys.executable, "-m", "minizero", "train", "--game", "hexapawn:4x4", "--epochs", "4",
         "--channels", "8", "--batch-size", "128", "--quiet"]


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def without_times(rows: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if "seconds" not in key} for row in rows]


def run_to_the_end(command: list[str], out: Path, resume: bool) -> float:
    started = time.perf_counter()
    result = subprocess.run([*command, "--out", str(out), *(["--resume"] if resume else [])],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return time.perf_counter() - started


def run_with_kills(command: list[str], out: Path, duration: float, seed: int) -> int:
    """Start, kill -9 after a random delay, resume, ... ``KILLS`` times; then finish."""
    rng = random.Random(seed)
    kills = 0
    for _ in range(KILLS):
        resume = (out / "config.json").exists()
        process = subprocess.Popen([*command, "--out", str(out), *(["--resume"] * resume)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # Each resumed run has less left to do, so the delays stay well inside the time
            # an unbroken run takes (start-up included) for the kills to land.
            process.wait(timeout=rng.uniform(0.2, 0.7) * duration)
        except subprocess.TimeoutExpired:
            process.kill()
            kills += 1
        _, error = process.communicate()
        assert process.returncode in (0, -9), error.decode()
    run_to_the_end(command, out, resume=(out / "config.json").exists())
    return kills


def assert_same_end(reference: Path, chaos: Path, latest: Path) -> None:
    assert without_times(metrics(chaos)) == without_times(metrics(reference))
    first, second = load_checkpoint(reference / latest)[1], load_checkpoint(chaos / latest)[1]
    assert first["step"] == second["step"]
    for name, tensor in first["model"].items():
        assert torch.equal(tensor, second["model"][name]), name
    assert not list(chaos.rglob("*.tmp"))


@pytest.mark.slow
def test_selfplay_survives_random_kills(tmp_path: Path) -> None:
    duration = run_to_the_end(SELFPLAY, tmp_path / "straight", resume=False)
    kills = run_with_kills(SELFPLAY, tmp_path / "chaos", duration, seed=1)
    assert kills >= 2, f"only {kills} of {KILLS} runs were killed before they finished"
    assert_same_end(tmp_path / "straight", tmp_path / "chaos", Path("checkpoints/latest.pt"))
    shards = sorted(path.name for path in (tmp_path / "straight" / "replay").iterdir())
    assert sorted(path.name for path in (tmp_path / "chaos" / "replay").iterdir()) == shards
    assert [row["generation"] for row in metrics(tmp_path / "chaos")] == [1, 2, 3]


@pytest.mark.slow
def test_training_survives_random_kills(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    made = subprocess.run([sys.executable, "-m", "hexapawn", "dataset", "--size", "4x4", "--out",
                           str(data)], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    command = [*TRAIN, "--data", str(data)]
    duration = run_to_the_end(command, tmp_path / "straight", resume=False)
    kills = run_with_kills(command, tmp_path / "chaos", duration, seed=2)
    assert kills >= 2, f"only {kills} of {KILLS} runs were killed before they finished"
    assert_same_end(tmp_path / "straight", tmp_path / "chaos", Path("checkpoints/latest.pt"))
    assert [row["epoch"] for row in metrics(tmp_path / "chaos")] == [1, 2, 3, 4]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_selfplay_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    # Two shards of 64 games: each worker is busy for a long while (an idle pool worker would
    # also end on its own, at the end of its pipe).
    process = subprocess.Popen([*SELFPLAY[:-3], "--workers", "2", "--games", "128",
                                "--shard-games", "64", "--simulations", "400", "--out",
                                str(tmp_path / "run")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180  # start-up is slow on a loaded machine
    workers: set[int] = set()
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = descendants(process.pid)
    assert len(workers) >= 2, workers
    time.sleep(3)  # the workers take their shards and play
    process.kill()
    process.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    survivors = [pid for pid in workers if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"{len(survivors)} of {len(workers)} workers outlived their parent"

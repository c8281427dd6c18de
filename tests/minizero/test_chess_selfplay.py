"""Self-play on chess through the generic loop: resignation and its check, kill -9 and resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from minizero.chessgame.game import ChessGame
from minizero.search.puct import LeafEvaluator, PUCTConfig, uniform_evaluator
from minizero.selfplay import play_game

RUN = [sys.executable, "-m", "minizero", "selfplay", "--game", "chess:max_plies=16",
       "--workers", "1", "--games", "6", "--shard-games", "1", "--train-steps", "2",
       "--simulations", "4", "--leaf-batch", "4", "--blocks", "1", "--channels", "8",
       "--value-head", "wdl", "--batch-size", "8", "--resign", "-0.5", "--quiet"]


def hopeless(game: ChessGame) -> LeafEvaluator:
    """Uniform priors; every position looks won for its side to move, so whatever the root
    plays hands the opponent a won game: the root's value is -0.9."""
    uniform = uniform_evaluator(game)
    return lambda states: (uniform(states)[0], np.full(len(states), 0.9))


def test_resignation_ends_the_game_and_the_check_counts_it() -> None:
    game = ChessGame(max_plies=12)
    config = PUCTConfig(simulations=4, batch_size=4)
    stats: dict[str, int] = {}
    resigned = play_game(game, hopeless(game), config, np.random.default_rng(0),
                         resign_threshold=-0.5, stats=stats)
    assert len(resigned) == 1 and resigned.value[0] == -1.0  # the first mover gave up
    played = play_game(game, hopeless(game), config, np.random.default_rng(0),
                       resign_threshold=-0.5, may_resign=False, stats=stats)
    assert len(played) == 12 and np.all(played.value == 0)  # the cap: a draw
    assert stats == {"games": 2, "plies": 12, "resigned": 1, "no_resign_checks": 1,
                     "false_resignations": 1}  # the would-be resigner drew


def test_chess_selfplay_resumes_after_sigkill(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen([*RUN, "--out", str(out), "--generations", "3"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and not list((out / "replay").glob("gen-0002-part-01.npz")):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {path.name: path.stat().st_mtime_ns for path in (out / "replay").glob("*.npz")}
    assert "gen-0002-part-01.npz" in finished
    resumed = subprocess.run([*RUN, "--out", str(out), "--generations", "3", "--resume"],
                             capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stderr
    for name, mtime in finished.items():
        assert (out / "replay" / name).stat().st_mtime_ns == mtime
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["generation"] for line in lines] == [1, 2, 3]
    assert lines[-1]["games"] == 6 and lines[-1]["steps"] == 6
    assert len(list((out / "replay").glob("*.npz"))) == 3 * 6

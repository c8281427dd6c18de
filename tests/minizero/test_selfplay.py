"""Self-play runs: samples from the side to move, resume after kill -9, refusals of bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hexapawn.game import Hexapawn
from minizero.replay import ReplayBuffer, Samples, load_samples, save_samples
from minizero.search.puct import PUCTConfig, uniform_evaluator
from minizero.selfplay import play_game

RUN = [sys.executable, "-m", "minizero", "selfplay", "--game", "hexapawn:3x3", "--workers", "1",
       "--games", "16", "--shard-games", "4", "--train-steps", "40", "--quiet"]


def test_samples_hold_outcomes_from_the_side_to_move() -> None:
    game = Hexapawn(3, 3)
    config = PUCTConfig(simulations=16, add_noise=True, temperature_moves=10)
    samples = play_game(game, uniform_evaluator(game), config, np.random.default_rng(0),
                        symmetries=False)
    plies = len(samples)
    # The last mover won: the last position's side to move gets +1, and signs alternate back.
    expected = np.array([1.0 if (plies - 1 - i) % 2 == 0 else -1.0 for i in range(plies)])
    assert np.array_equal(samples.value, expected)
    assert np.allclose(samples.policy.sum(axis=1), 1.0)
    mirrored = play_game(game, uniform_evaluator(game), config, np.random.default_rng(0))
    assert len(mirrored) == 2 * plies  # with the left-right mirror images


def test_a_discount_shrinks_each_target_by_the_plies_left() -> None:
    game = Hexapawn(3, 3)
    config = PUCTConfig(simulations=16, add_noise=True, temperature_moves=10)
    plain = play_game(game, uniform_evaluator(game), config, np.random.default_rng(0),
                      symmetries=False)
    discounted = play_game(game, uniform_evaluator(game), config, np.random.default_rng(0),
                           symmetries=False, discount=0.5)
    left = np.arange(len(plain) - 1, -1, -1)  # plies from each position to the end
    assert len(plain) > 2 and np.allclose(discounted.value, plain.value * 0.5 ** left)
    assert abs(discounted.value[-1]) == 1  # the winner's last move is worth the whole win


def test_replay_buffer_window_and_corrupt_shards(tmp_path: Path) -> None:
    buffer = ReplayBuffer(tmp_path, window=2)
    for generation in (1, 2, 3):
        samples = Samples(np.zeros((2, 2, 3, 3), np.float32), np.full((2, 27), 1 / 27, np.float32),
                          np.full(2, generation / 4, np.float32))
        save_samples(buffer.shard_path(generation, 0), samples)
    assert sorted(set(buffer.load(3).value.tolist())) == [0.5, 0.75]
    bad = buffer.shard_path(4, 0)
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=bad.name):
        load_samples(bad)
    with pytest.raises(ValueError, match="window"):
        ReplayBuffer(tmp_path, window=0)


def test_the_window_keeps_the_shards_of_the_last_versions(tmp_path: Path) -> None:
    """Shards written by players that play on: the learner of version 3 (training generation 4)
    with a window of 2 trains on the games of versions 2 and 3 only, whatever their generation;
    staleness is the games' mean distance to version 3."""
    buffer = ReplayBuffer(tmp_path, window=2)
    for generation, part, version, games in ((3, 0, 1, 2), (3, 1, 2, 2), (4, 0, 2, 1),
                                             (4, 1, 3, 3)):
        samples = Samples(np.zeros((1, 2, 3, 3), np.float32),
                          np.full((1, 27), 1 / 27, np.float32), np.full(1, version / 4, np.float32))
        buffer.write(generation, part, samples, {"games": games, "version": version})
    assert buffer.window_shards(4) == [(3, 1), (4, 0), (4, 1)]
    assert sorted(buffer.load(4).value.tolist()) == [0.5, 0.5, 0.75]
    assert buffer.staleness(4) == (2 * 1 + 1 * 1 + 3 * 0) / 6


def test_only_the_first_temperature_moves_plies_are_drawn_by_visit_counts() -> None:
    game = Hexapawn(3, 3)

    def games(temperature_moves: int) -> list[bytes]:
        config = PUCTConfig(simulations=16, temperature_moves=temperature_moves)
        return [play_game(game, uniform_evaluator(game), config, np.random.default_rng(seed),
                          symmetries=False).planes.tobytes() for seed in range(8)]

    assert len(set(games(0))) == 1  # the most visited move at every ply: one game
    drawn = games(1)
    opening = 2 * 2 * 3 * 3 * 4  # bytes of the first two positions: the start, after move 1
    first_moves = {planes[:opening]: planes for planes in drawn}
    assert len(first_moves) > 1  # the first move was drawn...
    for planes in drawn:  # ...and everything after it was not
        assert first_moves[planes[:opening]] == planes


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_and_finishes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen([*RUN, "--out", str(out), "--generations", "5"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "replay").glob("gen-0003-part-01.npz")):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before = {path.name: path.stat().st_mtime_ns
                       for path in (out / "replay").glob("*.npz")}
    assert "gen-0003-part-01.npz" in finished_before

    again = subprocess.run([*RUN, "--out", str(out), "--generations", "5"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "--resume" in again.stderr  # never overwrites a run

    resumed = subprocess.run([*RUN, "--out", str(out), "--generations", "5", "--resume"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert [m["generation"] for m in read_metrics(out / "metrics.jsonl")] == [1, 2, 3, 4, 5]
    for name, mtime in finished_before.items():  # no finished game was played again
        assert (out / "replay" / name).stat().st_mtime_ns == mtime
    assert len(list((out / "replay").glob("*.npz"))) == 5 * 4
    assert not list(out.rglob("*.tmp"))
    metrics = read_metrics(out / "metrics.jsonl")
    assert metrics[-1]["steps"] == 5 * 40


def test_resume_with_a_different_configuration_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = subprocess.run([*RUN, "--out", str(out), "--generations", "1"],
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    changed = subprocess.run([*RUN, "--out", str(out), "--generations", "2", "--resume",
                              "--channels", "32"], capture_output=True, text=True, timeout=300)
    assert changed.returncode == 2
    assert "different configuration" in changed.stderr and "network" in changed.stderr
    assert "Traceback" not in changed.stderr


@pytest.mark.parametrize("arguments, message", [
    (["selfplay", "--game", "chesspawn:3x3"], "unknown game"),
    (["selfplay", "--game", "hexapawn:2x9"], "out of range"),
    (["selfplay", "--games", "0"], "must be positive"),
    (["selfplay", "--generations", "-3"], "must be positive"),
    (["selfplay", "--discount", "1.5"], "discount must be in (0, 1]"),
    (["train", "--data", "missing.npz"], "no such file (expected a replay shard)"),
    (["arena", "--a", "random", "--b", "nothere.pt"], "neither random"),
])
def test_bad_input_gets_one_line_and_nonzero_exit(arguments, message, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "minizero", *arguments], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not os.listdir(tmp_path)  # nothing written


def test_arena_refuses_a_corrupt_checkpoint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 64)
    result = subprocess.run([sys.executable, "-m", "minizero", "arena", "--a", str(bad),
                             "--b", "random"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "bad.pt" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

"""The learners graded by the solver: both reach perfect play on 3x3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hexapawn.experiment import Grader, compare, results_table, supervised_samples
from hexapawn.solve import solve
from minizero.nn import NetworkConfig, PolicyValueNet


def test_supervised_samples_cover_every_position_with_a_move() -> None:
    solution = solve(3, 3)
    samples = supervised_samples(solution)
    assert len(samples) == 70
    assert np.allclose(samples.policy.sum(axis=1), 1.0)
    assert set(np.unique(samples.value).tolist()) == {-1.0, 1.0}


def test_grader_counts_a_perfect_policy_as_perfect() -> None:
    solution = solve(3, 3)
    grader = Grader(solution, games=4)

    class Oracle:
        """A 'network' that plays the solver's first optimal move and knows the value."""

        def predict(self, planes, legal):
            policy = np.where(grader.correct & legal, 1.0, 0.0)
            policy /= policy.sum(axis=1, keepdims=True)
            return policy.astype(np.float32), grader.values.astype(np.float32)

    scores = grader.accuracy(Oracle())
    assert scores["accuracy"] == scores["value_accuracy"] == 1.0
    torch.manual_seed(0)
    untrained = grader.accuracy(PolicyValueNet(NetworkConfig((2, 3, 3), 27)))
    assert untrained["accuracy"] < 1.0


def test_a_move_is_correct_when_it_keeps_a_win_and_any_move_is_in_a_lost_position() -> None:
    solution = solve(3, 3)
    grader = Grader(solution, games=2)
    game = solution.game
    lost = won = 0
    for row, index in enumerate(np.flatnonzero(~solution.terminal)):  # the grader's rows
        legal = np.flatnonzero(grader.legal[row])
        correct = set(np.flatnonzero(grader.correct[row]).tolist())
        if grader.values[row] < 0:
            assert correct == set(legal.tolist())  # nothing to keep: every move is fine
            lost += 1
        else:
            position = solution.position(int(index))
            keeping = {a for a in legal.tolist() if solution.value(game.apply(position, a)) < 0}
            assert correct == keeping and keeping
            won += 1
    assert lost > 10 and won > 10


@pytest.mark.slow
def test_compare_reaches_perfect_play_with_both_methods(tmp_path: Path) -> None:
    summary = compare(3, 3, tmp_path / "run", seed=0, workers=2, progress=False,
                      log=lambda line: None)
    for method in ("supervised", "selfplay"):
        final = summary[method]["final"]
        assert final["accuracy_white"] == final["accuracy_black"] == 1.0, method
        assert final["raw_vs_solver_black"] == 1.0  # Black wins 3x3: every game won
        assert summary[method]["seconds_to_perfect"] is not None
    assert summary["supervised"]["seconds_to_perfect"] < 20
    assert summary["selfplay"]["seconds_to_perfect"] < 120
    assert (tmp_path / "run" / "learning_curves.png").stat().st_size > 10_000
    assert "seconds to perfect play" in results_table(summary)
    with pytest.raises(ValueError, match="not empty"):
        compare(3, 3, tmp_path / "run")


def test_supervised_cli_trains_and_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    out = tmp_path / "sup"

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", *arguments], capture_output=True,
                              text=True, timeout=300)

    made = run("hexapawn", "dataset", "--size", "3x3", "--out", str(data))
    assert made.returncode == 0, made.stderr
    common = ["minizero", "train", "--game", "hexapawn:3x3", "--data", str(data), "--out",
              str(out), "--quiet"]
    assert run(*common, "--epochs", "2").returncode == 0
    resumed = run(*common, "--epochs", "4", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").open()]
    assert epochs == [1, 2, 3, 4]
    wrong_game = run("minizero", "train", "--game", "hexapawn:4x4", "--data", str(data))
    assert wrong_game.returncode == 2 and "needs" in wrong_game.stderr
    arena = run("minizero", "arena", "--a", str(out / "checkpoints" / "latest.pt"), "--b",
                "random", "--games", "4")
    assert arena.returncode == 0 and "score" in arena.stdout

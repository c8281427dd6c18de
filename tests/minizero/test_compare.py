"""The shared comparison (minizero/compare.py) with a tiny fake labeller and grader on Hexapawn
3x3: both arms run, an interrupted run resumes to the same snapshots, another game's run is
refused, bad budgets are refused."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from hexapawn.cli import main as hexapawn_main
from hexapawn.game import Hexapawn
from minizero.checkpoint import load_checkpoint
from minizero.compare import Budget, Comparison, Grader, Labeller, Schedule, parse_budget
from minizero.compare_curves import arm_curves
from minizero.nn.network import NetworkConfig, PolicyValueNet
from minizero.replay import Samples, load_samples, save_samples
from minizero.search.puct import PUCTConfig
from minizero.selfplay import SelfPlayConfig
from minizero.train import TrainConfig

GAME = Hexapawn(3, 3)
CHUNKS = 2  # the fake labeller has this many chunks to give


class Interrupted(Exception):
    """Stands for a kill in the middle of grading."""


class RandomLabeller(Labeller):
    """Chunks of 16 positions of seeded random games, with a uniform policy over the legal
    moves and a value of 0: data to train on, nothing more."""

    def label(self, directory: Path, seconds: float) -> bool:
        chunk = len(list(directory.glob("chunk-*.npz")))
        if chunk >= CHUNKS:
            return False
        rng = np.random.default_rng(chunk)
        planes, policies = [], []
        while len(planes) < 16:
            state = GAME.initial_state()
            while GAME.terminal_value(state) is None and len(planes) < 16:
                legal = GAME.legal_actions(state)
                policy = np.zeros(GAME.action_size, np.float32)
                policy[legal] = 1.0 / len(legal)
                planes.append(GAME.encode(state))
                policies.append(policy)
                state = GAME.apply(state, int(rng.choice(legal)))
        save_samples(directory / f"chunk-{chunk}.npz",
                     Samples(np.stack(planes), np.stack(policies), np.zeros(16, np.float32)))
        return True

    def load(self, directory: Path) -> Samples | None:
        parts = [load_samples(path) for path in sorted(directory.glob("chunk-*.npz"))]
        return Samples.concatenate(parts) if parts else None


class ValueGrader(Grader):
    """The value of the start position; `interrupt_at` grade calls in, it raises once."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.calls: list[bool] = []
        self.interrupt_at = interrupt_at

    def grade(self, network: PolicyValueNet, final: bool) -> dict[str, Any]:
        self.calls.append(final)
        if len(self.calls) == self.interrupt_at:
            raise Interrupted
        _, value = network.predict(GAME.encode(GAME.initial_state())[None],
                                   np.ones((1, GAME.action_size), bool))
        return {"start_value": float(value[0]), "final_mark": float(final)}


def comparison(out: Path, grader: Grader, resume: bool = False,
               game_name: str = "hexapawn:3x3") -> Comparison:
    """Budgets: 3 epochs of the supervised arm, 2 generations of the self-play arm."""
    network = NetworkConfig(GAME.input_shape, GAME.action_size, blocks=0, channels=4)
    puct = PUCTConfig(simulations=4, batch_size=1)
    selfplay_config = SelfPlayConfig(games_per_generation=2, games_per_shard=2,
                                     train_steps=3, workers=1)
    train = TrainConfig(batch_size=8)
    schedule = Schedule(Budget(rounds=3), Budget(rounds=2), min_epoch_steps=3)
    return Comparison(out, GAME, "hexapawn:3x3", {"game": game_name}, network, puct,
                      selfplay_config, train, schedule,
                      RandomLabeller(), grader, seed=3, resume=resume, progress=False,
                      log=lambda line: None)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def snapshots(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Each arm's snapshot lines without the clock readings, and the weights of each."""
    result = {}
    for arm in ("supervised", "selfplay"):
        result[arm] = [{key: value for key, value in line.items()
                        if key not in ("seconds", "load_average")}
                       for line in lines(out / arm / "snapshots.jsonl")]
        for line in result[arm]:
            line["weights"] = load_checkpoint(out / line["checkpoint"])[1]["model"]
    return result


def same(a: dict[str, list[dict[str, Any]]], b: dict[str, list[dict[str, Any]]]) -> None:
    for arm in a:
        assert len(a[arm]) == len(b[arm]), arm
        for first, second in zip(a[arm], b[arm]):
            assert {k: v for k, v in first.items() if k != "weights"} == {
                k: v for k, v in second.items() if k != "weights"}
            for name, tensor in first["weights"].items():
                assert torch.equal(tensor, second["weights"][name]), (arm, name)


def test_both_arms_run_to_their_budgets_and_are_graded(tmp_path: Path) -> None:
    grader = ValueGrader()
    run = comparison(tmp_path / "run", grader)
    run.run_arms()
    taken = snapshots(tmp_path / "run")
    supervised, selfplay = taken["supervised"], taken["selfplay"]
    assert [line["snapshot"] for line in supervised] == [1, 2, 3]
    assert [line["final"] for line in supervised] == [False, False, True]
    assert [line["steps"] for line in supervised] == [3, 7, 11]  # 16, then 32 positions
    assert [line["positions"] for line in supervised] == [16, 32, 32]
    assert [line["generation"] for line in selfplay] == [1, 2]
    assert [line["steps"] for line in selfplay] == [3, 6] and selfplay[-1]["games"] == 4
    # The shared initial weights: the first steps of both arms start from initial.pt.
    initial = load_checkpoint(tmp_path / "run" / "initial.pt")[1]["model"]
    start = load_checkpoint(tmp_path / "run" / "selfplay" / "run" / "checkpoints"
                            / "gen-0000.pt")[1]["model"]
    assert all(torch.equal(initial[name], start[name]) for name in initial)
    grades = lines(tmp_path / "run" / "grades.jsonl")
    assert [line["name"] for line in grades] == [
        "initial-00", "supervised-01", "supervised-02", "supervised-03", "selfplay-01",
        "selfplay-02"]
    assert grader.calls == [False, False, False, True, False, True]
    summary = arm_curves(tmp_path / "run", {"start_value": (-math.inf,)})
    assert summary["initial"]["name"] == "initial-00"
    for arm in ("supervised", "selfplay"):
        assert len(summary["arms"][arm]["curve"]) == len(taken[arm]) + 1
        assert summary["arms"][arm]["final"]["final_mark"] == 1.0
        assert summary["arms"][arm]["time_to"]["start_value_-inf"] == 0.0


@pytest.mark.parametrize("interrupt_at", [3, 5])  # a supervised, then a self-play snapshot
def test_an_interrupted_run_resumes_to_the_same_snapshots(tmp_path: Path,
                                                          interrupt_at: int) -> None:
    comparison(tmp_path / "whole", ValueGrader()).run_arms()
    with pytest.raises(Interrupted):
        comparison(tmp_path / "cut", ValueGrader(interrupt_at)).run_arms()
    with pytest.raises(ValueError, match="pass --resume"):
        comparison(tmp_path / "cut", ValueGrader())
    comparison(tmp_path / "cut", ValueGrader(), resume=True).run_arms()
    same(snapshots(tmp_path / "whole"), snapshots(tmp_path / "cut"))
    names = [line["name"] for line in lines(tmp_path / "cut" / "grades.jsonl")]
    assert sorted(names) == sorted(set(names)) and len(names) == 6  # each graded once
    finished = ValueGrader()
    comparison(tmp_path / "cut", finished, resume=True).run_arms()  # nothing left to do
    assert finished.calls == []


def test_a_run_of_another_game_is_refused_in_one_line(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    comparison(out, ValueGrader(), game_name="fake-game")
    before = sorted(path.name for path in out.rglob("*"))
    with pytest.raises(ValueError, match="differs in: game"):
        comparison(out, ValueGrader(), resume=True)
    assert hexapawn_main(["compare", "--size", "3x3", "--out", str(out), "--resume",
                          "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "differs in" in error, error
    assert sorted(path.name for path in out.rglob("*")) == before


@pytest.mark.parametrize("budget", [{"seconds": 0.0}, {"seconds": -5.0}, {"seconds": math.nan},
                                    {"seconds": math.inf}, {"rounds": 0}, {"rounds": -2},
                                    {"rounds": 1.5}, {}, {"seconds": 1.0, "rounds": 1}])
def test_bad_budgets_are_refused(budget: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="budget"):
        Budget(**budget)


@pytest.mark.parametrize("text", ["0s", "-1m", "nans", "inf h", "0.0h"])
def test_bad_budget_texts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="budget"):
        parse_budget(text)


def test_checkpoints_need_clock_budgets_and_bad_budgets_reach_no_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="checkpoints"):
        Schedule(Budget(rounds=2), Budget(seconds=5.0), checkpoints=2)
    for flag in ("--supervised-seconds", "--selfplay-seconds"):
        for value in ("0", "-1", "nan"):
            assert hexapawn_main(["compare", "--out", str(tmp_path / "run"), flag, value,
                                  "--quiet"]) == 2
    assert not (tmp_path / "run").exists()

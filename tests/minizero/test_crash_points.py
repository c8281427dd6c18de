"""A crash at each write of a generation's or an epoch's end loses nothing once resumed.

The crash is simulated in-process: the write at that moment raises, as a kill -9 would stop the
run there (nothing after it is written). The resumed run must end with every generation's (or
epoch's) checkpoint and exactly one metrics line each.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hexapawn.game import Hexapawn
from minizero import selfplay as selfplay_module
from minizero import supervised as supervised_module
from minizero.nn.network import NetworkConfig
from minizero.replay import Samples
from minizero.search.puct import PUCTConfig
from minizero.selfplay import SelfPlayConfig, SelfPlayRun
from minizero.supervised import SupervisedRun
from minizero.train import TrainConfig


class Killed(BaseException):
    """Stands for kill -9: not an Exception, so nothing on the way catches it."""


def crash_on(monkeypatch, module, name: str, when) -> None:
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        if when(*args, **kwargs):
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


GAME = Hexapawn(3, 3)
NETWORK = NetworkConfig(GAME.input_shape, GAME.action_size, blocks=1, channels=8)


def selfplay_run(out: Path, resume: bool) -> SelfPlayRun:
    return SelfPlayRun(out, GAME, "hexapawn:3x3", NETWORK, PUCTConfig(simulations=8),
                       SelfPlayConfig(games_per_generation=2, games_per_shard=2, train_steps=5,
                                      workers=1),
                       TrainConfig(batch_size=16), resume=resume, progress=False)


@pytest.mark.parametrize("crash_at", ["generation checkpoint", "metrics line"])
def test_selfplay_crash_at_the_end_of_a_generation_loses_nothing(
        tmp_path: Path, monkeypatch, crash_at: str) -> None:
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        if crash_at == "generation checkpoint":
            crash_on(patch, selfplay_module, "save_checkpoint",
                     lambda path, **_: Path(path).name == "gen-0002.pt")
        else:
            crash_on(patch, selfplay_module, "append_metrics",
                     lambda path, record, *_: record["generation"] == 2)
        with pytest.raises(Killed):
            selfplay_run(out, resume=False).run(3)
    selfplay_run(out, resume=True).run(3)
    assert [row["generation"] for row in read_metrics(out / "metrics.jsonl")] == [1, 2, 3]
    for generation in range(4):
        assert (out / "checkpoints" / f"gen-{generation:04d}.pt").exists()


def supervised_run(out: Path, resume: bool) -> SupervisedRun:
    return SupervisedRun(out, "hexapawn:3x3", NETWORK, TrainConfig(batch_size=8), ["none"],
                         resume=resume, progress=False)


@pytest.mark.parametrize("crash_at", ["epoch checkpoint", "metrics line"])
def test_training_crash_at_the_end_of_an_epoch_loses_nothing(
        tmp_path: Path, monkeypatch, crash_at: str) -> None:
    rng = np.random.default_rng(0)
    samples = Samples(rng.random((32, *GAME.input_shape), dtype=np.float32),
                      np.full((32, GAME.action_size), 1 / GAME.action_size, np.float32),
                      rng.choice([-1.0, 1.0], 32).astype(np.float32))
    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        if crash_at == "epoch checkpoint":
            crash_on(patch, SupervisedRun, "_save",
                     lambda self, path, elapsed: Path(path).name == "epoch-0002.pt")
        else:
            crash_on(patch, supervised_module, "append_metrics",
                     lambda path, record, *_: record["epoch"] == 2)
        with pytest.raises(Killed):
            supervised_run(out, resume=False).run(samples, 3)
    supervised_run(out, resume=True).run(samples, 3)
    assert [row["epoch"] for row in read_metrics(out / "metrics.jsonl")] == [1, 2, 3]
    for epoch in (1, 2, 3):
        assert (out / "checkpoints" / f"epoch-{epoch:04d}.pt").exists()

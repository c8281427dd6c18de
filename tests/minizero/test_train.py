"""The trainer's schedule and the supervised run's epochs, by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hexapawn.game import Hexapawn
from minizero.nn import NetworkConfig, PolicyValueNet
from minizero.replay import Samples
from minizero.supervised import SupervisedRun
from minizero.train import TrainConfig, Trainer

GAME = Hexapawn(3, 3)
NETWORK = NetworkConfig(GAME.input_shape, GAME.action_size, channels=4)


def test_the_cosine_schedule_decays_to_5_percent_and_stays_there() -> None:
    trainer = Trainer(PolicyValueNet(NETWORK), TrainConfig(learning_rate=0.01, schedule="cosine",
                                                           total_steps=100))
    # lr x (0.05 + 0.95 x (1 + cos(pi x step / total)) / 2)
    assert trainer.learning_rate(0) == pytest.approx(0.01)
    assert trainer.learning_rate(50) == pytest.approx(0.01 * (0.05 + 0.95 / 2))
    assert trainer.learning_rate(100) == pytest.approx(0.0005)
    assert trainer.learning_rate(250) == pytest.approx(0.0005)  # a resumed run past the end
    constant = Trainer(PolicyValueNet(NETWORK), TrainConfig(learning_rate=0.01))
    assert constant.learning_rate(10**6) == 0.01


def test_an_epoch_is_one_pass_with_the_last_batch_counted(tmp_path: Path) -> None:
    count = 10
    samples = Samples(np.zeros((count, *GAME.input_shape), np.float32),
                      np.full((count, GAME.action_size), 1 / GAME.action_size, np.float32),
                      np.zeros(count, np.float32))
    torch.manual_seed(0)
    run = SupervisedRun(tmp_path / "run", "hexapawn:3x3", NETWORK, TrainConfig(batch_size=4),
                        ["none"], progress=False)
    records = run.run(samples, epochs=2)
    # 10 samples in batches of 4: three steps an epoch (4 + 4 + 2, the last one drawn full).
    assert [record["epoch"] for record in records] == [1, 2]
    assert run.trainer.step == 6
    assert records[-1]["positions_seen"] == 24

"""Hexapawn precision studies: training modes against the plain trainer; the command end to end."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from hexapawn.cli import main as hexapawn_main
from hexapawn.experiment import Grader, default_configs, supervised_samples
from hexapawn.game import Hexapawn
from hexapawn.precision import HexapawnPrecisionConfig, clone, grade_format, run
from hexapawn.solve import solve
from minizero.checkpoint import save_checkpoint
from minizero.nn.network import PolicyValueNet
from minizero.precision.qat import quantized_parameters, round_parameters_, train_steps
from minizero.train import TrainConfig, Trainer


@pytest.fixture(scope="module")
def setting() -> tuple[Grader, object, PolicyValueNet]:
    torch.set_num_threads(1)  # a network this small runs fastest on one thread
    grader = Grader(solve(3, 3))
    torch.manual_seed(0)
    network = PolicyValueNet(default_configs(Hexapawn(3, 3), 1)["network"])
    return grader, supervised_samples(grader.solution), network


def trainer_for(network: PolicyValueNet, **kwargs) -> Trainer:
    return Trainer(clone(network), TrainConfig(batch_size=16, **kwargs), seed=3)


def test_float_steps_equal_the_plain_trainer(setting) -> None:
    _, samples, network = setting
    plain, ours = trainer_for(network), trainer_for(network)
    plain.train_steps(samples, 5)
    train_steps(ours, samples, 5, None)
    for (name, a), (_, b) in zip(plain.network.state_dict().items(),
                                 ours.network.state_dict().items()):
        assert torch.equal(a, b), name


def test_storage_training_keeps_weights_on_the_grid(setting) -> None:
    _, samples, network = setting
    results = {}
    for rounding in ("nearest", "stochastic"):
        trainer = trainer_for(network, optimizer="sgd", learning_rate=0.05)
        train_steps(trainer, samples, 5, "fixed2.6", rounding, np.random.default_rng(0),
                    mode="storage")
        for parameter in quantized_parameters(trainer.network).values():
            units = parameter.detach().double().numpy() * 64
            assert np.array_equal(units, np.round(units))
        results[rounding] = trainer.network.stem[0].weight.detach().clone()
    assert not torch.equal(results["nearest"], results["stochastic"])


def test_straight_through_keeps_float_masters(setting) -> None:
    _, samples, network = setting
    trainer = trainer_for(network)
    train_steps(trainer, samples, 3, "binary-channel", "nearest", np.random.default_rng(0))
    weight = trainer.network.stem[0].weight.detach()
    assert len(torch.unique(weight.abs())) > 100  # masters stay float
    rounded = clone(trainer.network)
    round_parameters_(rounded, "binary-channel")
    per_channel = rounded.stem[0].weight.detach().abs().flatten(1)
    assert all(len(torch.unique(row)) == 1 for row in per_channel)


def test_float32_through_the_harness_is_the_untouched_network(setting) -> None:
    grader, _, network = setting
    rounded = clone(network)
    round_parameters_(rounded, "float32")
    for (name, a), (_, b) in zip(network.state_dict().items(), rounded.state_dict().items()):
        assert torch.equal(a, b), name
    expected = grader.accuracy(network)["accuracy"]
    for rounding in ("nearest", "stochastic"):
        row = grade_format(grader, network, "float32", rounding, draws=2, seed=0)
        assert row["accuracy"] == row["accuracy_min"] == expected


def test_every_study_end_to_end(tmp_path: Path) -> None:
    config = HexapawnPrecisionConfig(
        train_steps=300, qat_steps=10, draws=2, fixed_steps=60, fixed_every=30,
        formats=("float32", "int4-channel", "binary-channel"), qat_formats=("int2-channel",),
        mixed_budget=0.7, mca_precisions=(24, 3), mca_samples=2)
    results = run((3, 3), tmp_path / "a", config, quiet=True)
    run_directory = tmp_path / "a"
    for name in ("float.pt", "ptq.json", "qat.json", "fixed_training.json", "mixed.json",
                 "mca.json", "results.md", "accuracy_vs_bits.png", "fixed_training.png",
                 "mca.png"):
        assert (run_directory / name).exists(), name
    float_rows = [r for r in results["ptq"]["rows"] if r["format"] == "float32"]
    assert all(r["accuracy"] == results["float_accuracy"] for r in float_rows)
    mixed = results["mixed"]
    assert mixed["path"][-1]["memory_bits"] <= mixed["budget_bits"] < mixed["path"][0][
        "memory_bits"]
    assert [len(c) for c in results["fixed_training"]["curves"].values()] == [3, 3, 3]


def test_precision_command_is_reproducible(tmp_path: Path, capsys) -> None:
    torch.manual_seed(5)
    network = PolicyValueNet(default_configs(Hexapawn(3, 3), 1)["network"])
    save_checkpoint(tmp_path / "net.pt", config={"network": dataclasses.asdict(network.config)},
                    model=network.state_dict())
    common = ["precision", "--size", "3x3", "--net", str(tmp_path / "net.pt"), "--study", "ptq",
              "fixed_training", "--fixed-steps", "40", "--draws", "2", "--formats", "float32",
              "fixed2.3", "int3-channel", "--quiet"]
    for name in ("b", "c"):
        assert hexapawn_main([*common, "--out", str(tmp_path / name)]) == 0
    assert "Post-training rounding" in capsys.readouterr().out
    for name in ("ptq.json", "fixed_training.json"):
        assert (tmp_path / "b" / name).read_text() == (tmp_path / "c" / name).read_text()


def test_bad_input_is_one_line_and_leaves_no_run(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    net = tmp_path / "net.nnue"
    net.write_bytes(b"MINIZERO-NNUE\n")
    cases = [(["--formats", "int0"], "bit width 0"), (["--formats", "int64"], "bit width 64"),
             (["--qat-formats", "quaternary"], "unknown number format"),
             (["--net", str(broken)], "not a readable checkpoint"),
             (["--net", str(net)], "an NNUE net, not a Hexapawn network")]
    for extra, message in cases:
        out = tmp_path / "run"
        assert hexapawn_main(["precision", "--out", str(out), *extra]) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1, error
        assert not out.exists()

"""The int8 twin of the policy-value net: graded by the float32 net, its calibration file
refused when missing, corrupt or stale, and the engine's fallback to float32."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import chess
import numpy as np
import pytest
import torch

from minizero.checkpoint import save_checkpoint
from minizero.chessgame.puct_engine import PuctEngine
from minizero.chessgame.search import Limits
from minizero.nn.int8 import (
    Int8Network,
    calibrate,
    calibration_path,
    read_calibration,
    save_calibration,
)
from minizero.nn.network import NetworkConfig, PolicyValueNet, load_network


def planes_of(count: int, seed: int) -> np.ndarray:
    """Chess-like inputs: sparse 0/1 planes, (count, 35, 8, 8)."""
    rng = np.random.default_rng(seed)
    return (rng.random((count, 35, 8, 8)) < 0.1).astype(np.float32)


@pytest.fixture(scope="module")
def calibrated_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small chess-shaped net (2 blocks x 16 channels, seeded) and its calibration file."""
    config = NetworkConfig((35, 8, 8), 4672, blocks=2, channels=16, value_head="wdl",
                           policy_head="conv")
    torch.manual_seed(0)
    network = PolicyValueNet(config).eval()
    path = tmp_path_factory.mktemp("int8") / "small.pt"
    save_checkpoint(path, config={"network": dataclasses.asdict(config)},
                    model=network.state_dict())
    save_calibration(calibration_path(path), calibrate(load_network(str(path)),
                                                       planes_of(128, seed=1)))
    return path


@pytest.mark.parametrize("full_range", [True, False])
def test_int8_net_follows_the_float32_net(calibrated_net: Path, full_range: bool) -> None:
    network = load_network(str(calibrated_net))
    int8 = Int8Network.from_file(network, calibration_path(calibrated_net), full_range)
    planes = planes_of(64, seed=2)  # not the calibration positions
    legal = np.ones((64, 4672), dtype=bool)
    with torch.no_grad():
        float_logits, float_value = network(torch.from_numpy(planes))
        int8_logits, int8_value = int8(torch.from_numpy(planes))
    spread = float(float_logits.std())
    # logits off by 2% of their spread on average (7 bits: 4%); ranges four times too wide
    # (a calibration gone wrong) give 2.3% (4.6%)
    tolerance = 1 if full_range else 2
    assert float((int8_logits - float_logits).abs().mean()) < 0.02 * tolerance * spread
    policy, value = int8.predict(planes, legal)
    float_policy, float_expected = network.predict(planes, legal)
    assert np.allclose(policy.sum(1), 1, atol=1e-5) and policy.shape == float_policy.shape
    assert np.abs(value - float_expected).max() < 0.003
    assert not torch.equal(int8_logits, float_logits)  # it really is another computation
    assert int8_value.shape == float_value.shape


def test_missing_corrupt_and_stale_calibrations_are_refused(calibrated_net: Path,
                                                            tmp_path: Path) -> None:
    network = load_network(str(calibrated_net))
    good = json.loads(calibration_path(calibrated_net).read_text())
    with pytest.raises(ValueError, match="no int8 calibration file"):
        read_calibration(tmp_path / "missing.int8.json", network)
    corrupt = tmp_path / "corrupt.int8.json"
    corrupt.write_text('{"format": ')
    with pytest.raises(ValueError, match="corrupt.int8.json: not an int8 calibration file"):
        read_calibration(corrupt, network)
    bad_range = dict(good, activation_ranges={"activation_post_process_0": [1.0, float("nan")]})
    corrupt.write_text(json.dumps(bad_range))
    with pytest.raises(ValueError, match="corrupt int8 calibration"):
        read_calibration(corrupt, network)
    corrupt.write_text(json.dumps(dict(good, activation_ranges={"x": [0.0, 1.0]})))
    with pytest.raises(ValueError, match="corrupt.int8.json: .*does not fit"):
        Int8Network.from_file(network, corrupt)
    with torch.no_grad():
        network.stem[0].weight[0, 0, 0, 0] += 0.01  # other weights: the calibration is stale
    with pytest.raises(ValueError, match="stale int8 calibration"):
        read_calibration(calibration_path(calibrated_net), network)


def test_engine_plays_int8_and_falls_back_to_float32(calibrated_net: Path,
                                                     tmp_path: Path) -> None:
    engine = PuctEngine(str(calibrated_net), precision="int8")
    result = engine.search(chess.Board(), Limits(nodes=16))
    assert isinstance(engine.int8_network, Int8Network) and result.nodes == 16
    engine.set_option("Precision", "float32")
    assert engine.int8_network is None
    # the same weights elsewhere, without a calibration file: float32 plays, and says why
    lone = tmp_path / "lone.pt"
    lone.write_bytes(calibrated_net.read_bytes())
    engine.set_option("WeightsFile", str(lone))
    with pytest.raises(ValueError, match="lone.int8.json: no int8 calibration.*playing float32"):
        engine.set_option("Precision", "int8")
    assert engine.int8_network is None and engine.network is not None
    assert engine.search(chess.Board(), Limits(nodes=8)).best_move in chess.Board().legal_moves
    # from the command line the reason comes with the first search, as an info string
    lines: list[str] = []
    cli_engine = PuctEngine(str(lone), precision="int8")
    cli_engine.search(chess.Board(), Limits(nodes=8),
                      on_info=lambda info: lines.append(info.text))
    assert any("no int8 calibration file" in line and "playing float32" in line
               for line in lines)

"""The policy-value network: SE arithmetic, masking, heads, and weights-only checkpoints."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from minizero.checkpoint import load_checkpoint, save_checkpoint
from minizero.nn import NetworkConfig, PolicyValueNet, ResidualBlock, SqueezeExcitation
from minizero.nn.network import deepen, load_network
from minizero.replay import Samples


def test_squeeze_excitation_is_sigmoid_scale_plus_bias() -> None:
    torch.manual_seed(0)
    se = SqueezeExcitation(8, reduction=2)
    x = torch.randn(3, 8, 4, 5)
    pooled = x.mean(dim=(2, 3))
    hidden = torch.relu(pooled @ se.squeeze.weight.T + se.squeeze.bias)
    out = hidden @ se.excite.weight.T + se.excite.bias
    gamma, beta = out[:, :8], out[:, 8:]
    expected = torch.sigmoid(gamma)[:, :, None, None] * x + beta[:, :, None, None]
    assert torch.allclose(se(x), expected, atol=1e-6)


def test_residual_block_keeps_shape_with_and_without_se() -> None:
    x = torch.randn(2, 16, 3, 3)
    for se in (True, False):
        assert ResidualBlock(16, se=se)(x).shape == x.shape


def test_training_zeroes_denormal_weights_and_keeps_the_rest(tmp_path) -> None:
    """Denormal floats make CPU arithmetic many times slower; after each step the trainer sets
    weights below DENORMAL_FLOOR to zero, and a loaded network arrives without them."""
    from minizero.nn.network import DENORMAL_FLOOR
    from minizero.train import TrainConfig, Trainer

    torch.manual_seed(5)
    net = PolicyValueNet(NetworkConfig((3, 3, 3), 9, blocks=1, channels=8))
    stuck = net.tower[0].se.excite.weight.detach()  # a step at lr 1e-30 moves no weight by more
    with torch.no_grad():                   # than 1e-30, so only the flush can zero one
        stuck[0, 0] = 1e-39  # denormal
        stuck[0, 1] = 1e-20  # tiny but normal, and above the floor
    rng = np.random.default_rng(0)
    samples = Samples(rng.random((8, 3, 3, 3), dtype=np.float32),
                      np.full((8, 9), 1 / 9, dtype=np.float32), np.zeros(8, dtype=np.float32))
    Trainer(net, TrainConfig(batch_size=4, learning_rate=1e-30)).train_steps(samples, 1)
    assert float(stuck[0, 0]) == 0.0
    assert float(stuck[0, 1]) == pytest.approx(1e-20, rel=1e-3)
    assert DENORMAL_FLOOR > 1.2e-38
    with torch.no_grad():
        stuck[0, 0] = -1e-39
    save_checkpoint(tmp_path / "net.pt", config={"network": dataclasses.asdict(net.config)},
                    model=net.state_dict())
    loaded = load_network(str(tmp_path / "net.pt")).tower[0].se.excite.weight.detach()
    assert float(loaded[0, 0]) == 0.0 and float(loaded[0, 1]) == float(stuck[0, 1])


@pytest.mark.parametrize("se", [True, False])
def test_deepen_computes_the_same_function_and_its_new_blocks_learn(se: bool) -> None:
    """Oracle: the trained net itself. Appended blocks start as the identity (same logits and
    values, in eval and in train mode), and one optimizer step moves them off it."""
    torch.manual_seed(3)
    config = NetworkConfig((3, 4, 4), 16, blocks=2, channels=8, se=se, value_head="wdl")
    net = PolicyValueNet(config)
    for module in net.modules():  # trained-looking batch-norm statistics, not the defaults
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            torch.nn.init.uniform_(module.weight, 0.5, 1.5)
    deeper = deepen(net, 3)
    assert deeper.config.blocks == 5 and len(deeper.tower) == 5
    x = torch.randn(6, 3, 4, 4)
    for mode in (False, True):
        net.train(mode)
        deeper.train(mode)
        for ours, theirs in zip(net(x), deeper(x)):
            torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    new_block = deeper.tower[4]
    before = [p.detach().clone() for p in new_block.parameters()]
    optimizer = torch.optim.SGD(deeper.parameters(), lr=0.1)
    logits, value = deeper(x)
    (logits.logsumexp(1).sum() + value.square().sum()).backward()
    optimizer.step()
    assert new_block.bn2.weight.abs().sum() > 0
    assert any(not torch.equal(b, p) for b, p in zip(before, new_block.parameters()))
    with pytest.raises(ValueError, match="extra_blocks"):
        deepen(net, -1)


def _random_samples(count: int, seed: int) -> Samples:
    """``count`` random (3, 4, 4) positions with random 16-move policies and values."""
    rng = np.random.default_rng(seed)
    policy = rng.random((count, 16), dtype=np.float32)
    return Samples(rng.random((count, 3, 4, 4), dtype=np.float32),
                   policy / policy.sum(1, keepdims=True),
                   rng.uniform(-1, 1, count).astype(np.float32))


def test_adam_l2_shrinks_a_grown_blocks_weights_by_the_learning_rate_adamw_barely() -> None:
    """A block appended by `deepen` gets no loss gradient while its branch is zero. With "adam"
    the L2 term alone is Adam-normalised, so the first step moves each weight the full learning
    rate towards zero, whatever the decay coefficient; "adamw" only multiplies it by
    1 - lr * c. (TrainConfig's docstring; the README measures what this did to a chess net.)"""
    from minizero.train import TrainConfig, Trainer

    samples = _random_samples(8, seed=0)
    lr, decay = 1e-3, 1e-4
    shrink = {}
    for optimizer in ("adam", "adamw"):
        torch.manual_seed(3)
        net = deepen(PolicyValueNet(NetworkConfig((3, 4, 4), 16, blocks=1, channels=8)), 1)
        weights = net.tower[1].conv1.weight
        before = weights.detach().clone()
        Trainer(net, TrainConfig(batch_size=8, learning_rate=lr, optimizer=optimizer,
                                 weight_decay=decay)).train_steps(samples, 1)
        gradient = decay * before  # Adam's first step: lr * g / (|g| + eps), g the L2 term alone
        expected = (before - lr * gradient / (gradient.abs() + 1e-8) if optimizer == "adam"
                    else before * (1 - lr * decay))
        torch.testing.assert_close(weights.detach(), expected, rtol=1e-5, atol=1e-9)
        shrink[optimizer] = (before.abs() - weights.detach().abs())[before.abs() > 0.01]
    assert shrink["adam"].numel() > 0.5 * before.numel()  # most weights: nearly the full lr
    assert shrink["adam"].min() > 0.99 * lr and shrink["adamw"].max() < 1e-3 * lr


def test_bfloat16_training_keeps_float32_weights_matches_the_loss_and_learns() -> None:
    """precision="bfloat16" autocasts the passes only: the weights stay float32, the first loss
    is float32's to bfloat16's precision, and the steps fit the samples as float32's do."""
    from minizero.train import TrainConfig, Trainer

    samples = _random_samples(16, seed=1)
    losses = {}
    for precision in ("float32", "bfloat16"):
        torch.manual_seed(5)
        net = PolicyValueNet(NetworkConfig((3, 4, 4), 16, blocks=2, channels=16))
        trainer = Trainer(net, TrainConfig(batch_size=16, learning_rate=3e-3,
                                           precision=precision))
        first = trainer.train_steps(samples, 1)["loss"]
        last = trainer.train_steps(samples, 60)["loss"]
        assert all(p.dtype == torch.float32 for p in net.parameters())
        losses[precision] = (first, last)
    assert losses["bfloat16"][0] == pytest.approx(losses["float32"][0], rel=0.02)
    assert losses["float32"][1] < losses["float32"][0] - 0.2
    assert losses["bfloat16"][1] == pytest.approx(losses["float32"][1], rel=0.03)
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="float16")


@pytest.mark.parametrize("policy_head", ["fc", "conv"])
@pytest.mark.parametrize("value_head", ["scalar", "wdl"])
def test_policy_is_masked_and_value_in_range(value_head: str, policy_head: str) -> None:
    config = NetworkConfig((2, 4, 4), 48, blocks=2, channels=8, value_head=value_head,
                           policy_head=policy_head)
    network = PolicyValueNet(config)
    planes = np.random.default_rng(0).random((5, 2, 4, 4), dtype=np.float32)
    legal = np.zeros((5, 48), dtype=bool)
    legal[:, [1, 7, 30]] = True
    policy, value = network.predict(planes, legal)
    assert policy.shape == (5, 48) and value.shape == (5,)
    assert np.allclose(policy.sum(axis=1), 1.0, atol=1e-6)
    assert (policy[:, ~legal[0]] == 0).all()
    assert ((value >= -1) & (value <= 1)).all()


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="value_head"):
        NetworkConfig((2, 3, 3), 27, value_head="logistic")
    with pytest.raises(ValueError, match="channels"):
        NetworkConfig((2, 3, 3), 27, channels=0)
    with pytest.raises(ValueError, match="input_shape"):
        NetworkConfig((3, 3), 27)
    with pytest.raises(ValueError, match="policy_head"):
        NetworkConfig((2, 3, 3), 27, policy_head="attention")
    with pytest.raises(ValueError, match="multiple of the 9 squares"):
        NetworkConfig((2, 3, 3), 28, policy_head="conv")


def test_conv_policy_head_reads_plane_p_of_square_s_at_index_p_count_s_plus_p() -> None:
    """The layout of chess's move map: ``index = 73 * from_square + plane``."""
    torch.manual_seed(0)
    network = PolicyValueNet(NetworkConfig((3, 8, 8), 64 * 73, channels=8, policy_head="conv"))
    network.eval()
    features = torch.randn(2, 8, 8, 8)
    logits = network.policy_head(features)
    planes = network.policy_head.out(network.policy_head.hidden(features))  # (B, 73, rank, file)
    for square, plane in ((0, 0), (9, 72), (63, 40), (28, 5)):
        rank, file = divmod(square, 8)
        assert torch.equal(logits[:, 73 * square + plane], planes[:, plane, rank, file])


def test_checkpoint_round_trip_and_bad_files(tmp_path) -> None:
    config = NetworkConfig((2, 3, 3), 27)
    network = PolicyValueNet(config)
    path = tmp_path / "net.pt"

    save_checkpoint(path, config={"network": dataclasses.asdict(config)},
                    model=network.state_dict(), step=3)
    loaded = load_network(str(path), (2, 3, 3), 27)
    for name, tensor in network.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)
    assert load_checkpoint(path)[1]["step"] == 3
    with pytest.raises(ValueError, match="game gives"):
        load_network(str(path), (2, 4, 4), 48)

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(path.read_bytes()[:200])
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    malicious = tmp_path / "object.pt"
    torch.save({"format": "minizero-checkpoint", "thing": ValueError("arbitrary object")},
               malicious)
    for bad in (corrupt, foreign, malicious, tmp_path / "missing.pt"):
        with pytest.raises(ValueError) as error:
            load_network(str(bad))
        assert bad.name in str(error.value) and "\n" not in str(error.value)


def test_the_wdl_head_expects_p_win_minus_p_loss() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))  # win, draw, loss
    assert PolicyValueNet.expected_value(logits).tolist() == pytest.approx([0.3, -0.7])
    tanh_values = torch.tensor([0.25, -1.0])
    assert torch.equal(PolicyValueNet.expected_value(tanh_values), tanh_values)

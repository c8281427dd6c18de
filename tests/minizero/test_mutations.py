"""Tests that pin down behaviour a small bug would change while every shape stays right.

Each test here was written against one realistic bug (see ``benchmarks/mutation.py``, run with
``make mutation``) that the rest of the suite let through: Dirichlet noise at every node instead
of the root only; virtual loss never taken back; the first-play-urgency reduction with the wrong
sign; a residual block without its skip connection; the value loss pulling toward the negated
target.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch

from hexapawn.game import Hexapawn
from minizero.nn.blocks import ResidualBlock
from minizero.nn.network import NetworkConfig, PolicyValueNet
from minizero.replay import Samples
from minizero.search.puct import PUCT, Node, PUCTConfig
from minizero.train import TrainConfig, Trainer

GAME = Hexapawn(4, 4)


class EndlessGame:
    """Four moves everywhere, no end in sight (a draw after 40 plies): the search's choices
    below the root depend on the priors alone."""

    action_size = 4

    def initial_state(self) -> tuple[int, ...]:
        return ()

    def to_play(self, state: tuple[int, ...]) -> int:
        return len(state) % 2

    def legal_actions(self, state: tuple[int, ...]) -> list[int]:
        return [0, 1, 2, 3]

    def apply(self, state: tuple[int, ...], action: int) -> tuple[int, ...]:
        return (*state, action)

    def terminal_value(self, state: tuple[int, ...]) -> float | None:
        return 0.0 if len(state) >= 40 else None

    def key(self, state: tuple[int, ...]) -> tuple[int, ...]:
        return state


def favour_first_move(states: Sequence[Any]) -> tuple[list[np.ndarray], np.ndarray]:
    """Priors 0.7 on move 0 (0.1 on each other), value 0 everywhere."""
    return [np.array([0.7, 0.1, 0.1, 0.1]) for _ in states], np.zeros(len(states))


def expanded_nodes(node: Node) -> list[Node]:
    found = [node] if node.expanded else []
    for child in node.children:
        if child is not None:
            found += expanded_nodes(child)
    return found


def test_dirichlet_noise_touches_the_root_only() -> None:
    """With noise at full weight the root follows the noise, but every node below still follows
    the network's priors: the favoured move is the most visited one wherever the choice has
    been made often enough."""
    config = PUCTConfig(simulations=300, add_noise=True, dirichlet_alpha=0.3,
                        dirichlet_epsilon=1.0, batch_size=1)
    game = EndlessGame()
    checked = 0
    for seed in range(4):
        search = PUCT(game, favour_first_move, config, np.random.default_rng(seed))
        search.search(game.initial_state())
        for node in expanded_nodes(search.root)[1:]:
            if node.child_visits.sum() >= 20:
                assert int(np.argmax(node.child_visits)) == 0
                checked += 1
    assert checked >= 8


def test_virtual_loss_is_taken_back_after_every_batch() -> None:
    config = PUCTConfig(simulations=200, batch_size=8, virtual_loss=3.0)
    search = PUCT(EndlessGame(), favour_first_move, config)
    search.search(())
    nodes = expanded_nodes(search.root)
    assert len(nodes) > 10
    for node in nodes:
        assert not node.child_virtual.any()
    # ... and so a batched search ends with the statistics of its visits alone.
    root = search.root
    assert root.child_visits.sum() == 200


@pytest.mark.parametrize("fpu_reduction, spread", [(1.0, False), (0.0, True)])
def test_first_play_urgency_reduction_discourages_unvisited_moves(
        fpu_reduction: float, spread: bool) -> None:
    """Values 0 everywhere: with a reduction of 1 an unvisited move looks like a loss (-1), so
    the search stays with the first move it tried; without it, it tries every move."""
    config = PUCTConfig(simulations=6, fpu_reduction=fpu_reduction, batch_size=1)
    search = PUCT(GAME, lambda states: (
        [np.full(len(GAME.legal_actions(s)), 1 / len(GAME.legal_actions(s))) for s in states],
        np.zeros(len(states))), config)
    result = search.search(GAME.initial_state())
    tried = int((result.visit_counts > 0).sum())
    moves = len(GAME.legal_actions(GAME.initial_state()))
    assert moves > 2
    assert tried == (moves if spread else 1)


@pytest.mark.parametrize("se", [False, True])
def test_residual_block_adds_its_input_back(se: bool) -> None:
    """With its second convolution zeroed (and SE neutral), a block is ReLU of its input."""
    torch.manual_seed(0)
    block = ResidualBlock(4, se=se).eval()
    with torch.no_grad():
        block.conv2.weight.zero_()
        if block.se is not None:
            block.se.excite.weight.zero_()
            block.se.excite.bias.zero_()
    x = torch.randn(2, 4, 3, 3)
    assert torch.allclose(block(x), torch.relu(x), atol=1e-6)


@pytest.mark.parametrize("value_head", ["scalar", "wdl"])
def test_value_head_learns_the_sign_of_the_target(value_head: str) -> None:
    """Two kinds of positions, one won and one lost: after a little training the value head
    says so (a loss pulling toward -target would teach the opposite)."""
    rng = np.random.default_rng(0)
    planes = np.zeros((64, 2, 3, 3), np.float32)
    value = np.where(np.arange(64) % 2 == 0, 1.0, -1.0).astype(np.float32)
    planes[value > 0, 0] = 1.0
    planes[value < 0, 1] = 1.0
    planes += rng.normal(0, 0.05, planes.shape).astype(np.float32)
    policy = np.full((64, 5), 0.2, np.float32)
    torch.manual_seed(0)
    torch.set_num_threads(1)  # a network this small is fastest on one thread
    network = PolicyValueNet(NetworkConfig((2, 3, 3), 5, blocks=1, channels=8,
                                           value_head=value_head))
    Trainer(network, TrainConfig(batch_size=32, learning_rate=1e-2)).train_steps(
        Samples(planes, policy, value), 60)
    _, predicted = network.predict(planes, np.ones((64, 5), bool))
    assert np.all(np.sign(predicted) == value)
    assert np.mean(predicted * value) > 0.5


def test_temperature_sharpens_and_flattens_the_visit_distribution() -> None:
    """pi(a) ~ N(a)^(1/T): T = 0.5 squares the counts, T = 2 takes their square root."""
    from minizero.search.puct import PUCTResult

    result = PUCTResult(np.array([0, 1, 4, 16]), 0.0, 1, 1)
    assert np.allclose(result.policy(1.0), [0, 1 / 21, 4 / 21, 16 / 21])
    assert np.allclose(result.policy(0.5), np.array([0, 1, 16, 256]) / 273)
    assert np.allclose(result.policy(2.0), np.array([0, 1, 2, 4]) / 7)
    assert np.array_equal(result.policy(0), [0, 0, 0, 1])


def test_root_noise_is_mixed_with_weight_epsilon() -> None:
    """Root priors = (1 - epsilon) P + epsilon Dir(alpha), the noise drawn from the search's rng."""
    config = PUCTConfig(simulations=4, add_noise=True, dirichlet_alpha=0.3,
                        dirichlet_epsilon=0.25)
    search = PUCT(EndlessGame(), favour_first_move, config, np.random.default_rng(5))
    search.search(())
    noise = np.random.default_rng(5).dirichlet([0.3] * 4)
    expected = 0.75 * np.array([0.7, 0.1, 0.1, 0.1]) + 0.25 * noise
    assert np.allclose(search._root_priors, expected)

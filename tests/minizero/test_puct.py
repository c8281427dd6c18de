"""PUCT graded by the solver; what batching, virtual loss, noise and tree reuse may change."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hexapawn.game import Hexapawn
from hexapawn.solve import solve
from minizero.nn import NetworkConfig, PolicyValueNet
from minizero.search.puct import PUCT, PUCTConfig, network_evaluator, uniform_evaluator


def clearly_best_positions(width: int, height: int):
    """Positions the side to move wins where some move loses, with the winning moves."""
    solution = solve(width, height)
    game = solution.game
    for position in solution.positions():
        actions = game.legal_actions(position)
        if not actions or solution.value(position) < 0:
            continue
        winning = {a for a in actions if solution.value(game.apply(position, a)) < 0}
        if len(winning) < len(actions):
            yield game, position, winning


@pytest.mark.parametrize("batch_size", [1, 8])
def test_uniform_prior_and_many_simulations_agree_with_the_solver(batch_size: int) -> None:
    # Measured: 50 simulations already suffice on all 27 such 3x3 positions; we use 200.
    config = PUCTConfig(simulations=200, batch_size=batch_size)
    count = 0
    for game, position, winning in clearly_best_positions(3, 3):
        result = PUCT(game, uniform_evaluator(game), config).search(position)
        assert int(np.argmax(result.visit_counts)) in winning, game.format(position)
        assert result.visit_counts.sum() == 200
        assert result.value > 0  # the side to move wins
        count += 1
    assert count == 27


def test_virtual_loss_changes_nothing_at_batch_size_one() -> None:
    # At batch size 1 the virtual loss is removed before the next selection: same tree.
    game = Hexapawn(4, 4)
    start = game.initial_state()
    counts = [
        PUCT(game, uniform_evaluator(game), PUCTConfig(simulations=300, batch_size=1,
                                                      virtual_loss=loss)).search(start)
        for loss in (0.0, 1.0, 3.0)
    ]
    for other in counts[1:]:
        assert np.array_equal(other.visit_counts, counts[0].visit_counts)


def test_batching_serves_many_leaves_per_network_call() -> None:
    game = Hexapawn(4, 4)
    torch.manual_seed(0)
    network = PolicyValueNet(NetworkConfig(game.input_shape, game.action_size))
    evaluate = network_evaluator(game, network)
    start = game.initial_state()
    single = PUCT(game, evaluate, PUCTConfig(simulations=256, batch_size=1)).search(start)
    batched = PUCT(game, evaluate, PUCTConfig(simulations=256, batch_size=16)).search(start)
    assert single.network_calls == single.evaluations
    assert batched.network_calls * 4 < batched.evaluations  # collisions end some batches early
    # Documented difference: virtual loss spreads visits a little; the totals and the sign of
    # the root value stay, and so does the preferred move on a clearly decided position.
    assert batched.visit_counts.sum() == single.visit_counts.sum() == 256
    for game, position, winning in list(clearly_best_positions(3, 3))[:10]:
        result = PUCT(game, uniform_evaluator(game), PUCTConfig(simulations=200,
                                                               batch_size=16)).search(position)
        assert int(np.argmax(result.visit_counts)) in winning


def test_tree_reuse_keeps_the_subtree() -> None:
    game = Hexapawn(3, 3)
    search = PUCT(game, uniform_evaluator(game), PUCTConfig(simulations=100))
    first = search.search(game.initial_state())
    action = int(np.argmax(first.visit_counts))
    visits_before = int(first.visit_counts[action])
    search.advance(action)
    assert search.root.visits == visits_before  # the child's statistics came along
    second = search.search()
    assert second.visit_counts.sum() == visits_before - 1 + 100  # old child visits + new ones


def test_root_noise_is_seeded_and_changes_the_search() -> None:
    game = Hexapawn(4, 4)
    start = game.initial_state()

    def run(noise: bool, seed: int) -> np.ndarray:
        config = PUCTConfig(simulations=64, add_noise=noise, dirichlet_alpha=0.5)
        search = PUCT(game, uniform_evaluator(game), config, np.random.default_rng(seed))
        return search.search(start).visit_counts

    assert np.array_equal(run(True, 1), run(True, 1))
    assert not np.array_equal(run(True, 1), run(False, 1))


def test_bad_configs_and_finished_games() -> None:
    with pytest.raises(ValueError):
        PUCTConfig(simulations=0)
    with pytest.raises(ValueError):
        PUCTConfig(dirichlet_alpha=0)
    game = Hexapawn(3, 3)
    finished = game.parse("P2/3/3 b")
    with pytest.raises(ValueError, match="finished"):
        PUCT(game, uniform_evaluator(game)).search(finished)

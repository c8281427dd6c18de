"""Monte Carlo tree search with UCT selection and random rollouts.

Each iteration walks down the tree choosing the child with the highest upper confidence bound
``Q + c * sqrt(ln N_parent / N_child)`` (UCT), adds one new child, finishes the game from there with
uniformly random moves (the rollout), and backs the result up the path, negating it at each level
because the players alternate. Visit counts concentrate on the best moves as iterations grow; the
move played is the most visited.

Perspective: a node's ``value_sum`` is from the point of view of the player who moved *into* it,
so a parent picks the child with the highest mean directly. Values are +1 win, -1 loss.

Reference: Kocsis & Szepesvari, "Bandit based Monte-Carlo planning" (2006), UCT; Browne et al.,
"A survey of Monte Carlo tree search methods" (2012), Algorithm 2.
Run it: ``hexapawn play --size 3x3 --opponent mcts``.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minizero.game import Game


@dataclass(frozen=True)
class MCTSConfig:
    """Settings of `mcts`.

    exploration: the UCT constant c (sqrt 2 in the original analysis for rewards in [0, 1]).
    iterations: simulations to run (each adds one node and plays one rollout).
    time_limit: stop after this many seconds instead, if set (whichever comes first).
    seed: seed of the random generator used for expansion order and rollouts.
    """

    exploration: float = math.sqrt(2)
    iterations: int = 1000
    time_limit: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.iterations <= 0:
            raise ValueError(f"iterations must be positive, got {self.iterations}")
        if self.exploration < 0:
            raise ValueError(f"exploration must be >= 0, got {self.exploration}")


@dataclass
class _Node:
    state: Any
    untried: list[int]
    children: dict[int, _Node] = field(default_factory=dict)
    visits: int = 0
    value_sum: float = 0.0  # from the view of the player who moved into this node


@dataclass
class MCTSResult:
    """The chosen action, visit counts over the action space and the root value estimate.

    ``value`` is the mean rollout result from the root's side to move, in [-1, 1].
    """

    action: int | None
    visit_counts: np.ndarray
    value: float
    iterations: int


def mcts(game: Game, state: Any, config: MCTSConfig = MCTSConfig()) -> MCTSResult:
    """Run UCT from ``state`` and return the most visited action with the visit counts."""
    rng = random.Random(config.seed)
    root = _Node(state, _shuffled(game.legal_actions(state), rng))
    start = time.perf_counter()
    iterations = 0
    while iterations < config.iterations:
        if config.time_limit is not None and time.perf_counter() - start > config.time_limit:
            break
        _simulate(game, root, config.exploration, rng)
        iterations += 1
    counts = np.zeros(game.action_size, dtype=np.int64)
    for action, child in root.children.items():
        counts[action] = child.visits
    action = int(np.argmax(counts)) if root.children else None
    value = -root.value_sum / root.visits if root.visits else 0.0
    return MCTSResult(action, counts, value, iterations)


def _shuffled(actions: list[int], rng: random.Random) -> list[int]:
    rng.shuffle(actions)
    return actions


def _simulate(game: Game, root: _Node, exploration: float, rng: random.Random) -> None:
    # Selection: descend through fully expanded nodes by UCT.
    path = [root]
    node = root
    while not node.untried and node.children:
        log_parent = math.log(node.visits)
        node = max(
            node.children.values(),
            key=lambda child: child.value_sum / child.visits
            + exploration * math.sqrt(log_parent / child.visits),
        )
        path.append(node)
    # Expansion: add one untried child.
    if node.untried:
        action = node.untried.pop()
        child_state = game.apply(node.state, action)
        child = _Node(child_state, _shuffled(game.legal_actions(child_state), rng))
        node.children[action] = child
        node = child
        path.append(node)
    # Rollout: random play to the end; the result is from the view of node's side to move.
    value = _rollout(game, node.state, rng)
    # Backup: the player who moved into a node sees minus the value of the node's side to move.
    for visited in reversed(path):
        visited.visits += 1
        visited.value_sum -= value
        value = -value


def _rollout(game: Game, state: Any, rng: random.Random) -> float:
    sign = 1.0
    while True:
        terminal = game.terminal_value(state)
        if terminal is not None:
            return sign * terminal
        state = game.apply(state, rng.choice(game.legal_actions(state)))
        sign = -sign

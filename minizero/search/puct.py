"""Network-guided Monte Carlo tree search: PUCT, as in AlphaGo Zero and AlphaZero.

Where plain MCTS (mcts.py) plays random games to judge a leaf, PUCT asks a network: its policy
gives a prior ``P`` over the leaf's moves and its value judges the leaf directly. Each simulation
walks down the tree choosing the child that maximises

    Q + U,   U = c * P * sqrt(N_parent) / (1 + N_child)

(``Q`` the mean value of the child for the player choosing, ``N`` visit counts), expands the leaf
with the network's priors and backs its value up, negated at each change of player. The move
played comes from the root's visit counts, with a temperature: proportional to N early in a
self-play game (exploration), the most visited move later.

The details that make it work, each named where it is applied below:

* ``c`` grows slowly with the parent's visits when ``c_base`` is set (AlphaZero's
  c = log((1 + N + c_base) / c_base) + c_init); otherwise it is the constant ``c_puct``.
* First-play urgency: an unvisited child is valued at the parent's value minus ``fpu_reduction``.
* Dirichlet noise mixed into the root priors, only in self-play, so every move gets tried.
* Virtual loss and batched leaf evaluation: ``batch_size`` leaves are selected before one network
  call; each selected path temporarily counts ``virtual_loss`` lost visits so the next selection
  goes elsewhere. With ``batch_size=1`` the search is the sequential algorithm exactly.
* Tree reuse: after a move, the chosen child's subtree becomes the new root.

Values are from the side to move in [-1, 1].

Reference: Silver et al., Nature 550 (2017) and Science 362 (2018), methods and pseudocode;
Leela Chess Zero for first-play urgency. Run it: ``hexapawn compare --size 3x3``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from minizero.game import Game

# evaluate(states) -> (priors over each state's legal actions, values from each side to move)
LeafEvaluator = Callable[[Sequence[Any]], tuple[list[np.ndarray], np.ndarray]]


@dataclass(frozen=True)
class PUCTConfig:
    """Settings of `PUCT`, named as in the AlphaZero paper where they come from it.

    simulations: new simulations per `PUCT.search` call.
    c_puct: exploration constant (used as is when c_base is None).
    c_base, c_init: AlphaZero's growing exploration term (c_base=19652, c_init=1.25).
    fpu_reduction: an unvisited child is valued at the parent's value minus this.
    dirichlet_alpha, dirichlet_epsilon: root noise Dir(alpha) mixed with weight epsilon.
    add_noise: apply the root noise (self-play only; never in evaluation games).
    temperature_moves: plies of a game played in proportion to visit counts, then greedily.
    batch_size: leaves evaluated per network call (1: plain sequential search).
    virtual_loss: lost visits added along a path while its leaf awaits evaluation.
    """

    simulations: int = 64
    c_puct: float = 1.5
    c_base: float | None = None
    c_init: float = 1.25
    fpu_reduction: float = 0.0
    dirichlet_alpha: float = 0.3
    dirichlet_epsilon: float = 0.25
    add_noise: bool = False
    temperature_moves: int = 0
    batch_size: int = 8
    virtual_loss: float = 1.0

    def __post_init__(self) -> None:
        for name in ("simulations", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("c_puct", "c_init", "fpu_reduction", "virtual_loss", "dirichlet_epsilon",
                     "temperature_moves"):
            if not 0 <= getattr(self, name) < math.inf:
                raise ValueError(f"{name} must be finite and >= 0, got {getattr(self, name)}")
        if not 0 < self.dirichlet_alpha < math.inf:
            raise ValueError(f"dirichlet_alpha must be positive, got {self.dirichlet_alpha}")
        if self.dirichlet_epsilon > 1:
            raise ValueError(f"dirichlet_epsilon is a weight in [0, 1], got "
                             f"{self.dirichlet_epsilon}")


class Node:
    """A state in the tree; its children's statistics are arrays indexed like ``actions``.

    ``child_value_sum`` is from the point of view of this node's side to move (the player who
    chooses among the children); ``value_sum`` is this node's own, from its side to move.
    """

    __slots__ = ("state", "to_play", "terminal", "actions", "priors", "children",
                 "child_visits", "child_value_sum", "child_virtual", "visits", "value_sum")

    def __init__(self, game: Game, state: Any) -> None:
        self.state = state
        self.to_play = game.to_play(state)
        self.terminal = game.terminal_value(state)
        self.actions: np.ndarray | None = None  # set on expansion
        self.priors: np.ndarray | None = None
        self.children: list[Node | None] = []
        self.child_visits = self.child_value_sum = self.child_virtual = np.zeros(0)
        self.visits = 0
        self.value_sum = 0.0

    @property
    def expanded(self) -> bool:
        return self.actions is not None

    def expand(self, actions: list[int], priors: np.ndarray) -> None:
        size = len(actions)
        self.actions = np.asarray(actions, dtype=np.int64)
        self.priors = np.asarray(priors, dtype=np.float64)
        self.children = [None] * size
        self.child_visits = np.zeros(size)
        self.child_value_sum = np.zeros(size)
        self.child_virtual = np.zeros(size)


@dataclass
class PUCTResult:
    """Root statistics after a search: visit counts over the action space, the root's mean value
    from its side to move, and how many network calls served how many leaves."""

    visit_counts: np.ndarray
    value: float
    evaluations: int
    network_calls: int

    def policy(self, temperature: float = 1.0) -> np.ndarray:
        """Visit distribution sharpened by 1/temperature; temperature 0 is one-hot on the best."""
        counts = self.visit_counts.astype(np.float64)
        if temperature == 0:
            best = np.flatnonzero(counts == counts.max())
            policy = np.zeros_like(counts)
            policy[best] = 1.0 / len(best)
            return policy
        scaled = counts ** (1.0 / temperature)
        return scaled / scaled.sum()


class PUCT:
    """A PUCT search tree that can be searched, advanced by a move, and searched again."""

    def __init__(self, game: Game, evaluate: LeafEvaluator, config: PUCTConfig = PUCTConfig(),
                 rng: np.random.Generator | None = None) -> None:
        self.game = game
        self.evaluate = evaluate
        self.config = config
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.root: Node | None = None
        self._root_priors: np.ndarray | None = None  # priors with noise, root only

    def reset(self, state: Any) -> None:
        """Forget the tree and start from ``state``."""
        self.root = Node(self.game, state)
        self._root_priors = None

    def advance(self, action: int) -> None:
        """Tree reuse: make the child reached by ``action`` the new root, keeping its subtree."""
        root = self.root
        if root is None:
            raise ValueError("advance() before any search")
        child = None
        if root.expanded:
            index = np.flatnonzero(root.actions == action)
            if index.size:
                child = root.children[index[0]]
        self.root = child if child is not None else Node(
            self.game, self.game.apply(root.state, action))
        self._root_priors = None

    def search(self, state: Any | None = None) -> PUCTResult:
        """Run ``config.simulations`` simulations from ``state`` (or the current root)."""
        if state is not None and (self.root is None
                                  or self.game.key(self.root.state) != self.game.key(state)):
            self.reset(state)
        if self.root is None:
            raise ValueError("search() needs a state the first time")
        root = self.root
        if root.terminal is not None:
            raise ValueError("cannot search a finished game")
        evaluations = calls = 0
        if not root.expanded:
            self._evaluate_and_expand([root])
            root.visits = 0  # the root's own evaluation is not a visit of any child
            evaluations, calls = 1, 1
        if self.config.add_noise:
            noise = self.rng.dirichlet([self.config.dirichlet_alpha] * len(root.actions))
            eps = self.config.dirichlet_epsilon
            self._root_priors = (1 - eps) * root.priors + eps * noise
        else:
            self._root_priors = root.priors
        done = 0
        while done < self.config.simulations:
            pending: list[tuple[list[tuple[Node, int]], Node]] = []
            want = min(self.config.batch_size, self.config.simulations - done)
            while len(pending) < want:
                path, leaf = self._select(root)
                if leaf.terminal is not None:
                    self._backup(path, leaf, leaf.terminal)
                    done += 1
                    want = min(want, self.config.simulations - done)
                    continue
                if any(leaf is other for _, other in pending):
                    break  # collision: this leaf already awaits evaluation; evaluate the batch
                self._add_virtual_loss(path, +1)
                pending.append((path, leaf))
            if pending:
                values = self._evaluate_and_expand([leaf for _, leaf in pending])
                evaluations += len(pending)
                calls += 1
                for (path, leaf), value in zip(pending, values):
                    self._add_virtual_loss(path, -1)
                    self._backup(path, leaf, value)
                done += len(pending)
        counts = np.zeros(self.game.action_size, dtype=np.int64)
        counts[root.actions] = root.child_visits.astype(np.int64)
        value = root.value_sum / root.visits if root.visits else 0.0
        return PUCTResult(counts, value, evaluations, calls)

    # ------------------------------------------------------------------------ the four steps

    def _select(self, node: Node) -> tuple[list[tuple[Node, int]], Node]:
        """Walk down by PUCT to a leaf (unexpanded or terminal); the path is (node, child index)."""
        config = self.config
        path = []
        while node.expanded and node.terminal is None:
            visits = node.child_visits + node.child_virtual
            total = visits.sum()
            if config.c_base is not None:
                # AlphaZero's exploration rate, growing slowly with the parent's visits.
                c = math.log((1 + total + config.c_base) / config.c_base) + config.c_init
            else:
                c = config.c_puct
            # First-play urgency: unvisited children count as the parent's value minus a margin.
            parent_value = node.value_sum / node.visits if node.visits else 0.0
            fpu = parent_value - config.fpu_reduction
            with np.errstate(invalid="ignore", divide="ignore"):
                # Virtual loss: pending visits count as losses for the player choosing here.
                q = np.where(visits > 0, (node.child_value_sum - node.child_virtual) / visits, fpu)
            priors = self._root_priors if node is self.root else node.priors
            u = c * priors * math.sqrt(max(total, 1.0)) / (1.0 + visits)
            index = int(np.argmax(q + u))
            child = node.children[index]
            if child is None:
                child = Node(self.game, self.game.apply(node.state, int(node.actions[index])))
                node.children[index] = child
            path.append((node, index))
            node = child
        return path, node

    def _evaluate_and_expand(self, leaves: list[Node]) -> np.ndarray:
        """One network call for all ``leaves``: expand each with its priors, return its values."""
        priors, values = self.evaluate([leaf.state for leaf in leaves])
        for leaf, prior in zip(leaves, priors):
            leaf.expand(self.game.legal_actions(leaf.state), prior)
        return np.asarray(values, dtype=np.float64)

    def _add_virtual_loss(self, path: list[tuple[Node, int]], sign: int) -> None:
        amount = sign * self.config.virtual_loss
        for node, index in path:
            node.child_virtual[index] += amount

    def _backup(self, path: list[tuple[Node, int]], leaf: Node, value: float) -> None:
        """Add ``value`` (from the leaf's side to move) along the path, in each node's view."""
        leaf.visits += 1
        leaf.value_sum += value
        for node, index in reversed(path):
            if node.to_play != leaf.to_play:
                node_value = -value
            else:
                node_value = value
            node.child_visits[index] += 1
            node.child_value_sum[index] += node_value
            node.visits += 1
            node.value_sum += node_value


def uniform_evaluator(game: Game) -> LeafEvaluator:
    """No knowledge: uniform priors and value 0 for every non-terminal leaf."""

    def evaluate(states: Sequence[Any]) -> tuple[list[np.ndarray], np.ndarray]:
        priors = []
        for state in states:
            count = len(game.legal_actions(state))
            priors.append(np.full(count, 1.0 / count))
        return priors, np.zeros(len(states))

    return evaluate


def network_evaluator(game: Game, network: Any) -> LeafEvaluator:
    """Evaluate leaves with a `PolicyValueNet`: one batched forward pass per call."""

    def evaluate(states: Sequence[Any]) -> tuple[list[np.ndarray], np.ndarray]:
        planes = np.stack([game.encode(state) for state in states])  # (B, C, H, W)
        legal = np.zeros((len(states), game.action_size), dtype=bool)
        actions = [game.legal_actions(state) for state in states]
        for row, legal_actions in enumerate(actions):
            legal[row, legal_actions] = True
        policy, values = network.predict(planes, legal)  # (B, A), (B,)
        return [policy[row, legal_actions] for row, legal_actions in enumerate(actions)], values

    return evaluate

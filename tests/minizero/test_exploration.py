"""The selection rules of the tree searches against hand-computed values.

UCT (``mcts.py``) picks the child with the largest ``W / N + c sqrt(ln N_parent / N)``; PUCT
(``puct.py``) the largest ``Q + c P sqrt(N_parent) / (1 + N)`` with Q = (W - virtual loss) /
(N + virtual loss), c the constant c_puct or AlphaZero's ``ln((1 + N_parent + c_base) / c_base)
+ c_init``. Each case below sets a node's statistics by hand so that the right rule picks one
child and the plausible slips (no logarithm, 1 + N read as N, c_init multiplied, virtual loss
left out of Q) pick another; the values in the comments are the rule worked out on paper.
"""

from __future__ import annotations

import math
import random

import numpy as np

from hexapawn.game import Hexapawn
from hexapawn.solve import solve
from minizero.search.mcts import _Node, _simulate
from minizero.search.minimax import minimax
from minizero.search.puct import PUCT, PUCTConfig, uniform_evaluator

GAME = Hexapawn(3, 3)
START = GAME.initial_state()  # three legal moves


def uct_choice(children: list[tuple[float, int]], exploration: float) -> int:
    """The child of the 3x3 start that one UCT simulation descends into, given (W, N) each."""
    root = _Node(START, untried=[])
    for action, (value_sum, visits) in zip(GAME.legal_actions(START), children):
        state = GAME.apply(START, action)
        root.children[action] = _Node(state, GAME.legal_actions(state), {}, visits, value_sum)
    root.visits = sum(visits for _, visits in children)
    before = {action: child.visits for action, child in root.children.items()}
    _simulate(GAME, root, exploration, random.Random(0))
    visited = [index for index, (action, child) in enumerate(root.children.items())
               if child.visits != before[action]]
    assert len(visited) == 1
    return visited[0]


def test_uct_takes_the_logarithm_of_the_parents_visits() -> None:
    # N_parent = 23, ln 23 = 3.1355, c = sqrt 2:
    #   (-1, 10): -0.1 + 1.4142 sqrt(0.31355) = 0.6919  <- the largest
    #   (-3, 5):  -0.6 + 1.4142 sqrt(0.62710) = 0.5199
    #   (-2, 8):  -0.25 + 1.4142 sqrt(0.39194) = 0.6354
    # (with sqrt(N_parent / N) instead, the second child would score 2.4332 and win)
    assert uct_choice([(-1, 10), (-3, 5), (-2, 8)], math.sqrt(2)) == 0
    # c = 0: the best mean alone, (2, 4) = 0.5 against 0.4 and 0.333
    assert uct_choice([(4, 10), (2, 4), (1, 3)], 0.0) == 1


def puct_choice(config: PUCTConfig, value_sums: list[float], visits: list[int],
                priors: list[float], virtual: tuple[float, ...] = (0, 0, 0)) -> int:
    """The child PUCT selects at a node of the 3x3 start with these statistics; the node's own
    visits and value are those of its children (its mean fixes first-play urgency)."""
    tree = PUCT(GAME, uniform_evaluator(GAME), config)
    tree.reset(START)
    node = tree.root
    node.expand(GAME.legal_actions(START), np.array(priors))
    node.child_visits = np.array(visits, dtype=float)
    node.child_value_sum = np.array(value_sums, dtype=float)
    node.child_virtual = np.array(virtual, dtype=float)
    node.visits, node.value_sum = int(sum(visits)), float(sum(value_sums))
    tree._root_priors = node.priors
    path, _ = tree._select(node)
    return path[0][1]


def test_puct_divides_by_one_plus_the_childs_visits() -> None:
    # c = 1.5, N_parent = 8, sqrt 8 = 2.8284:
    #   W 0.5,  N 1, P 0.12:  0.5   + 1.5 x 0.12 x 2.8284 / 2 = 0.7546  <- the largest
    #   W -0.8, N 5, P 0.21: -0.16  + 1.5 x 0.21 x 2.8284 / 6 = -0.0115
    #   W -0.6, N 2, P 0.67: -0.3   + 1.5 x 0.67 x 2.8284 / 3 = 0.6475
    # (dividing by N instead: 1.0091, 0.0182, 1.1213, the third would win)
    config = PUCTConfig(c_puct=1.5)
    assert puct_choice(config, [0.5, -0.8, -0.6], [1, 5, 2], [0.12, 0.21, 0.67]) == 0


def test_alphazeros_growing_exploration_adds_c_init() -> None:
    # c_base = 3, c_init = 1.25, N_parent = 10: c = ln(14 / 3) + 1.25 = 2.7904, sqrt 10 = 3.1623
    #   W 1.0,  N 1, P 0.16: 1.0   + 2.7904 x 0.16 x 3.1623 / 2 = 1.7059
    #   W -0.4, N 5, P 0.19: -0.08 + 2.7904 x 0.19 x 3.1623 / 6 = 0.1994
    #   W 2.7,  N 4, P 0.65: 0.675 + 2.7904 x 0.65 x 3.1623 / 5 = 1.8221  <- the largest
    # (c = ln(14 / 3) x 1.25 = 1.9255 instead: 1.4871, 0.1128, 1.4666, the first would win)
    config = PUCTConfig(c_base=3.0, c_init=1.25)
    assert puct_choice(config, [1.0, -0.4, 2.7], [1, 5, 4], [0.16, 0.19, 0.65]) == 2


def test_virtual_loss_counts_as_lost_visits_in_q() -> None:
    # c = 1.5; visits with virtual loss 9, 3, 5 (N_parent 17, sqrt 4.1231):
    #   W 0.1, N 8, VL 1, P 0.55: (0.1 - 1) / 9 + 1.5 x 0.55 x 4.1231 / 10 = 0.2402 <- largest
    #   W 0.9, N 1, VL 2, P 0.32: (0.9 - 2) / 3 + 1.5 x 0.32 x 4.1231 / 4  = 0.1281
    #   W 1.1, N 3, VL 2, P 0.13: (1.1 - 2) / 5 + 1.5 x 0.13 x 4.1231 / 6  = -0.0460
    # (Q without the virtual loss: 0.3513, 0.7948, 0.3540, the second would win)
    config = PUCTConfig(c_puct=1.5)
    assert puct_choice(config, [0.1, 0.9, 1.1], [8, 1, 3], [0.55, 0.32, 0.13], (1, 2, 2)) == 0


def test_unvisited_children_are_valued_by_first_play_urgency() -> None:
    # Node mean 0.6 / 4 = 0.15, fpu_reduction 0.3: an unvisited child's Q is -0.15.
    # c = 1, sqrt 4 = 2:  W 0.6, N 4, P 0.5: 0.15 + 1 x 0.5 x 2 / 5 = 0.35
    #                     unvisited, P 0.3: -0.15 + 0.3 x 2 = 0.45  <- the largest
    #                     unvisited, P 0.2: -0.15 + 0.2 x 2 = 0.25
    config = PUCTConfig(c_puct=1.0, fpu_reduction=0.3)
    assert puct_choice(config, [0.6, 0, 0], [4, 0, 0], [0.5, 0.3, 0.2]) == 1
    # With a reduction of 0.5, Q = -0.35 and the unvisited one scores 0.25 < 0.35.
    config = PUCTConfig(c_puct=1.0, fpu_reduction=0.5)
    assert puct_choice(config, [0.6, 0, 0], [4, 0, 0], [0.5, 0.3, 0.2]) == 0


def test_minimax_ties_go_to_the_first_legal_action() -> None:
    solution = solve(3, 3)
    ties = 0
    for position in solution.positions():
        actions = GAME.legal_actions(position)
        if not actions:
            continue
        result = minimax(GAME, position)
        values = [-solution.value(GAME.apply(position, action)) for action in actions]
        best = [action for action, value in zip(actions, values) if value == max(values)]
        assert result.action == best[0], GAME.format(position)
        ties += len(best) > 1
    assert ties > 10

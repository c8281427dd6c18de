"""Minimax in negamax form: the value of a state is the best of minus its children's values.

Every value is from the side to move: +1 won, -1 lost, 0 drawn (or a heuristic value in between
at a depth limit). Minimax visits every node of the tree, which makes it the slow, obviously
correct reference the faster searches are graded against.

Reference: von Neumann (1928); the negamax formulation of Knuth & Moore (1975), section 2.
Run it: ``python -m hexapawn.demo`` prints its node counts beside alpha-beta's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from minizero.game import Game

Evaluate = Callable[[Any], float]


@dataclass
class SearchResult:
    """What a search found: ``value`` from the side to move, the best action and its line."""

    value: float
    action: int | None
    nodes: int
    pv: list[int] = field(default_factory=list)
    depth: int | None = None


def minimax(
    game: Game, state: Any, depth: int | None = None, evaluate: Evaluate | None = None
) -> SearchResult:
    """Negamax value of ``state`` for the side to move, searched to ``depth`` plies (or the end).

    At the depth limit a non-terminal state is scored by ``evaluate(state)`` (side to move's
    view, strictly inside (-1, 1)); without an evaluator it counts as 0. Ties between actions go
    to the first in `legal_actions` order. ``nodes`` counts every state visited, the root included.
    """
    nodes = 0

    def search(state: Any, remaining: int | None) -> tuple[float, list[int]]:
        nonlocal nodes
        nodes += 1
        terminal = game.terminal_value(state)
        if terminal is not None:
            return terminal, []
        if remaining == 0:
            return (evaluate(state) if evaluate else 0.0), []
        best, best_line = -float("inf"), []
        child_depth = None if remaining is None else remaining - 1
        for action in game.legal_actions(state):
            value, line = search(game.apply(state, action), child_depth)
            if -value > best:
                best, best_line = -value, [action, *line]
        return best, best_line

    value, pv = search(state, depth)
    return SearchResult(value, pv[0] if pv else None, nodes, pv, depth)

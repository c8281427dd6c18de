"""Alpha-beta search in negamax form, with a transposition table and iterative deepening.

Alpha-beta returns minimax's value while skipping subtrees that cannot change it: once a move
refutes the opponent's previous choice (value >= beta), the remaining moves need not be searched.
How much it skips depends on move ordering, which is why it comes with a move-ordering hook and a
transposition table that remembers the best move of every state searched before. Iterative
deepening searches depth 1, 2, 3, ... so each iteration orders its moves by the previous one,
and stops as soon as a search reached no depth limit (its value is then exact).

Values are from the side to move in [-1, 1].

Reference: Knuth & Moore, "An analysis of alpha-beta pruning" (1975); Slate & Atkin, "Chess 4.5"
(1977) for iterative deepening and the transposition table.
Run it: ``python -m hexapawn.demo`` compares its node counts with minimax.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from minizero.game import Game
from minizero.search.minimax import Evaluate, SearchResult

Order = Callable[[Any, list[int]], list[int]]

EXACT, LOWER, UPPER = 0, 1, 2


@dataclass(frozen=True)
class AlphaBetaConfig:
    """Settings of `alphabeta`.

    max_depth: deepest iteration (None: until a search reaches no depth limit).
    iterative: iterative deepening (else one search straight to ``max_depth``).
    use_table: keep a transposition table of values, bounds and best moves.
    time_limit: seconds after which no new iteration starts (None: no limit).
    """

    max_depth: int | None = None
    iterative: bool = True
    use_table: bool = True
    time_limit: float | None = None


@dataclass
class _Entry:
    depth: float
    value: float
    bound: int
    action: int | None


def alphabeta(
    game: Game,
    state: Any,
    config: AlphaBetaConfig = AlphaBetaConfig(),
    evaluate: Evaluate | None = None,
    order: Order | None = None,
) -> SearchResult:
    """Search ``state`` and return its value for the side to move, best action and PV.

    ``evaluate(state)`` scores a non-terminal state at the depth limit (side to move's view,
    strictly inside (-1, 1); 0 without one). ``order(state, actions)`` returns the actions in
    the order to try them (after the transposition table's move).
    """
    table: dict[Hashable, _Entry] = {}
    nodes = 0
    hit_horizon = False
    root_action: int | None = None

    def search(state: Any, depth: float, alpha: float, beta: float, ply: int = 0) -> float:
        nonlocal nodes, hit_horizon, root_action
        nodes += 1
        terminal = game.terminal_value(state)
        if terminal is not None:
            return terminal
        if depth <= 0:
            hit_horizon = True
            return evaluate(state) if evaluate else 0.0
        key = game.key(state)
        entry = table.get(key) if config.use_table else None
        if entry is not None and entry.depth >= depth:
            # Transposition table cut: a deep enough result for this state is known.
            if entry.bound == EXACT:
                return entry.value
            if entry.bound == LOWER and entry.value >= beta:
                return entry.value
            if entry.bound == UPPER and entry.value <= alpha:
                return entry.value
        actions = game.legal_actions(state)
        if order is not None:
            actions = order(state, actions)
        if entry is not None and entry.action in actions:
            # Hash move first: the best move of an earlier (shallower) search of this state.
            actions.remove(entry.action)
            actions.insert(0, entry.action)
        original_alpha, best, best_action = alpha, -float("inf"), None
        for action in actions:
            value = -search(game.apply(state, action), depth - 1, -beta, -alpha, ply + 1)
            if value > best:
                best, best_action = value, action
                if ply == 0:
                    root_action = action
            alpha = max(alpha, value)
            if alpha >= beta:
                break  # beta cutoff: the opponent will not allow this line
        if config.use_table:
            bound = UPPER if best <= original_alpha else LOWER if best >= beta else EXACT
            table[key] = _Entry(depth, best, bound, best_action)
        return best

    def principal_variation(state: Any, length: int) -> list[int]:
        line = []
        while len(line) < length and game.terminal_value(state) is None:
            entry = table.get(game.key(state))
            if entry is None or entry.action is None:
                break
            line.append(entry.action)
            state = game.apply(state, entry.action)
        return line

    start = time.perf_counter()
    if config.iterative:
        depths: list[float] = list(range(1, config.max_depth + 1)) if config.max_depth else []
    else:
        depths = [config.max_depth if config.max_depth is not None else float("inf")]
    result = SearchResult(0.0, None, 0)
    iteration = 0
    while True:
        if config.iterative and config.max_depth is None:
            depth: float = iteration + 1
        elif iteration < len(depths):
            depth = depths[iteration]
        else:
            break
        hit_horizon = False
        value = search(state, depth, -float("inf"), float("inf"))
        pv = principal_variation(state, int(min(depth, 1000))) if config.use_table else []
        if root_action is not None and pv[:1] != [root_action]:
            pv = [root_action]
        result = SearchResult(
            value, root_action, nodes, pv, None if depth == float("inf") else int(depth)
        )
        iteration += 1
        if not hit_horizon:
            break  # the search reached every leaf: the value is exact, deeper changes nothing
        if config.time_limit is not None and time.perf_counter() - start > config.time_limit:
            break
    return result


"""Players for Hexapawn games: the perfect player, the classic searches and a random mover.

An agent is any callable ``agent(position) -> action``. `play_game` pits two of them against each
other and reports the winner; the perfect player (`solver_agent`) is the yardstick every learner of
this package is measured against.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from hexapawn.game import WHITE, Hexapawn, Position
from hexapawn.solve import Solution, solve
from minizero.search import AlphaBetaConfig, MCTSConfig, alphabeta, mcts

Agent = Callable[[Position], int]
OPPONENTS = ("solver", "alphabeta", "mcts", "random")


def solver_agent(solution: Solution, seed: int = 0) -> Agent:
    """Plays an optimal move (fastest win, slowest loss), choosing among ties at random."""
    rng = random.Random(seed)
    return lambda position: rng.choice(solution.optimal_moves(position))


def alphabeta_agent(game: Hexapawn) -> Agent:
    """Full-depth alpha-beta: always a winning move when there is one."""
    return lambda position: alphabeta(game, position, AlphaBetaConfig()).action


def mcts_agent(game: Hexapawn, iterations: int = 1000, seed: int = 0) -> Agent:
    """UCT with random rollouts; stronger with more iterations."""
    rng = random.Random(seed)

    def agent(position: Position) -> int:
        config = MCTSConfig(iterations=iterations, seed=rng.randrange(2**31))
        return mcts(game, position, config).action

    return agent


def random_agent(game: Hexapawn, seed: int = 0) -> Agent:
    """A uniformly random legal move."""
    rng = random.Random(seed)
    return lambda position: rng.choice(game.legal_actions(position))


def make_agent(name: str, game: Hexapawn, seed: int = 0, iterations: int = 1000) -> Agent:
    """An agent by name (one of `OPPONENTS`); ValueError for an unknown name."""
    if name == "solver":
        return solver_agent(solve(game.width, game.height), seed)
    if name == "alphabeta":
        return alphabeta_agent(game)
    if name == "mcts":
        return mcts_agent(game, iterations, seed)
    if name == "random":
        return random_agent(game, seed)
    raise ValueError(f"unknown opponent {name!r}; choose one of {', '.join(OPPONENTS)}")


def play_game(
    game: Hexapawn, white: Agent, black: Agent, start: Position | None = None
) -> tuple[int, list[int]]:
    """Play to the end; return the winner (0 White, 1 Black) and the actions played."""
    position = start if start is not None else game.initial_state()
    actions = []
    while (winner := game.winner(position)) is None:
        agent = white if position.turn == WHITE else black
        action = agent(position)
        actions.append(action)
        position = game.apply(position, action)
    return winner, actions

"""Hexapawn's own players: the perfect player and full-depth alpha-beta, beside the generic ones.

An agent is any callable ``agent(position) -> action`` (see `minizero.agents`). The perfect player
(`solver_agent`) is the yardstick every learner of this package is measured against.
"""

from __future__ import annotations

import random

from hexapawn.game import Hexapawn
from hexapawn.solve import Solution, solve
from minizero.agents import Agent, mcts_agent, random_agent
from minizero.search import AlphaBetaConfig, alphabeta

OPPONENTS = ("solver", "alphabeta", "mcts", "random")


def solver_agent(solution: Solution, seed: int = 0) -> Agent:
    """Plays an optimal move (fastest win, slowest loss), choosing among ties at random."""
    rng = random.Random(seed)
    return lambda position: rng.choice(solution.optimal_moves(position))


def alphabeta_agent(game: Hexapawn) -> Agent:
    """Full-depth alpha-beta: always a winning move when there is one."""
    return lambda position: alphabeta(game, position, AlphaBetaConfig()).action


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

"""Hexapawn's own players: the perfect player and full-depth alpha-beta, beside the generic ones.

An agent is any callable ``agent(position) -> action`` (see `minizero.agents`). The perfect player
(`solver_agent`) is the yardstick every learner of this package is measured against; a trained
network (``net:PATH``, a minizero checkpoint) plays by its raw policy or guides PUCT.
"""

from __future__ import annotations

import random

from hexapawn.game import Hexapawn
from hexapawn.solve import Solution, solve
from minizero.agents import Agent, mcts_agent, network_agent, puct_agent, random_agent
from minizero.search import AlphaBetaConfig, alphabeta

OPPONENTS = ("solver", "alphabeta", "mcts", "random")
NETWORK_PREFIX = "net:"


def solver_agent(solution: Solution, seed: int = 0) -> Agent:
    """Plays an optimal move (fastest win, slowest loss), choosing among ties at random."""
    rng = random.Random(seed)
    return lambda position: rng.choice(solution.optimal_moves(position))


def alphabeta_agent(game: Hexapawn) -> Agent:
    """Full-depth alpha-beta: always a winning move when there is one."""
    return lambda position: alphabeta(game, position, AlphaBetaConfig()).action


def network_opponent(path: str, game: Hexapawn, simulations: int = 0) -> Agent:
    """A trained network from a minizero checkpoint: its raw policy, or PUCT with ``simulations``.

    ValueError naming the file if it is missing, not a checkpoint, or made for another board.
    """
    from minizero.nn.network import load_network

    network = load_network(path, game.input_shape, game.action_size)
    if simulations > 0:
        return puct_agent(game, network, simulations)
    return network_agent(game, network)


def make_agent(name: str, game: Hexapawn, seed: int = 0, iterations: int = 1000,
               simulations: int = 0) -> Agent:
    """An agent by name (one of `OPPONENTS`, or ``net:PATH``); ValueError for an unknown name.

    ``iterations`` are MCTS's, ``simulations`` the network's PUCT search (0: the raw policy).
    """
    if name.startswith(NETWORK_PREFIX):
        path = name[len(NETWORK_PREFIX):]
        if not path:
            raise ValueError("opponent 'net:' needs a checkpoint path, e.g. "
                             "net:runs/compare-3x3/selfplay/run/checkpoints/latest.pt")
        return network_opponent(path, game, simulations)
    if name == "solver":
        return solver_agent(solve(game.width, game.height), seed)
    if name == "alphabeta":
        return alphabeta_agent(game)
    if name == "mcts":
        return mcts_agent(game, iterations, seed)
    if name == "random":
        return random_agent(game, seed)
    raise ValueError(f"unknown opponent {name!r}; choose one of {', '.join(OPPONENTS)} "
                     f"or {NETWORK_PREFIX}PATH")

"""Players for any `Game`, and games and matches between them.

An agent is a callable ``agent(state) -> action``. Here are the generic ones: a random mover,
plain MCTS, a network's raw policy (no search) and a network guiding PUCT. Games add their own
(Hexapawn's perfect player, for one).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from minizero.game import Game
from minizero.search.mcts import MCTSConfig, mcts
from minizero.search.puct import PUCT, PUCTConfig, network_evaluator

Agent = Callable[[Any], int]


def random_agent(game: Game, seed: int = 0) -> Agent:
    """A uniformly random legal move."""
    rng = random.Random(seed)
    return lambda state: rng.choice(game.legal_actions(state))


def mcts_agent(game: Game, iterations: int = 1000, seed: int = 0) -> Agent:
    """UCT with random rollouts (mcts.py)."""
    rng = random.Random(seed)

    def agent(state: Any) -> int:
        config = MCTSConfig(iterations=iterations, seed=rng.randrange(2**31))
        return mcts(game, state, config).action

    return agent


def network_agent(game: Game, network: Any) -> Agent:
    """The raw policy: the legal move the network rates highest, no search."""

    def agent(state: Any) -> int:
        legal = np.zeros((1, game.action_size), dtype=bool)
        legal[0, game.legal_actions(state)] = True
        policy, _ = network.predict(game.encode(state)[None], legal)
        return int(np.argmax(policy[0]))

    return agent


def puct_agent(game: Game, network: Any, simulations: int = 16, batch_size: int = 8) -> Agent:
    """PUCT guided by the network, no noise, the most visited move (a fresh tree each move)."""
    config = PUCTConfig(simulations=simulations, batch_size=batch_size)
    search = PUCT(game, network_evaluator(game, network), config)

    def agent(state: Any) -> int:
        search.reset(state)
        return int(np.argmax(search.search().visit_counts))

    return agent


def play_out(game: Game, first: Agent, second: Agent, start: Any = None) -> tuple[Any, list]:
    """Play to the end; return the final state and the actions."""
    state = start if start is not None else game.initial_state()
    actions = []
    while game.terminal_value(state) is None:
        agent = first if game.to_play(state) == 0 else second
        action = agent(state)
        actions.append(action)
        state = game.apply(state, action)
    return state, actions


def play_game(game: Game, first: Agent, second: Agent, start: Any = None) -> tuple[float, list]:
    """Play to the end; return the result for the first player (+1, 0, -1) and the actions."""
    state, actions = play_out(game, first, second, start)
    value = game.terminal_value(state)
    return (value if game.to_play(state) == 0 else -value), actions


def play_match(game: Game, agent_a: Agent, agent_b: Agent, games: int) -> dict[str, Any]:
    """``games`` games with each agent playing first in half of them (A first in game 0).

    Returns A's wins, draws and losses, overall and by the colour A played, and A's score.
    """
    if games < 1:
        raise ValueError(f"games must be positive, got {games}")
    record = {"first": [0, 0, 0], "second": [0, 0, 0]}
    for index in range(games):
        a_first = index % 2 == 0
        result, _ = play_game(game, agent_a, agent_b) if a_first else play_game(
            game, agent_b, agent_a)
        result = result if a_first else -result
        slot = 0 if result > 0 else 1 if result == 0 else 2
        record["first" if a_first else "second"][slot] += 1
    wins = record["first"][0] + record["second"][0]
    draws = record["first"][1] + record["second"][1]
    losses = record["first"][2] + record["second"][2]
    return {"wins": wins, "draws": draws, "losses": losses,
            "score": (wins + 0.5 * draws) / games,
            "as_first": record["first"], "as_second": record["second"]}

"""Matches between agents: results from agent A's side whichever colour it played."""

from __future__ import annotations

import pytest

from hexapawn.agents import solver_agent
from hexapawn.solve import solve
from minizero.agents import play_game, play_match


def test_a_match_counts_each_game_for_agent_a_whatever_its_colour() -> None:
    solution = solve(3, 3)  # Black wins 3x3 with perfect play
    game = solution.game
    perfect = solver_agent(solution, seed=1)
    assert play_game(game, perfect, perfect)[0] == -1  # the first player (White) loses
    record = play_match(game, perfect, solver_agent(solution, seed=2), games=4)
    # A is White in games 0 and 2 (lost), Black in games 1 and 3 (won).
    assert record["as_first"] == [0, 0, 2] and record["as_second"] == [2, 0, 0]
    assert (record["wins"], record["draws"], record["losses"]) == (2, 0, 2)
    assert record["score"] == 0.5
    with pytest.raises(ValueError, match="games must be positive"):
        play_match(game, perfect, perfect, games=0)

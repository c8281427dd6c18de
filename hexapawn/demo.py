"""A short tour of the classic searches on Hexapawn (``make demo`` runs it).

Prints minimax and alpha-beta node counts side by side from the initial position, then plays a
game on 3x3 between MCTS (White) and alpha-beta (Black) and checks every move against the solver.
"""

from __future__ import annotations

import time

from hexapawn.agents import alphabeta_agent
from hexapawn.game import Hexapawn
from hexapawn.solve import solve
from minizero.agents import mcts_agent, play_game
from minizero.search import AlphaBetaConfig, alphabeta, minimax


def node_counts(width: int, height: int) -> dict:
    """Nodes visited by minimax and two forms of alpha-beta from the initial position."""
    game = Hexapawn(width, height)
    start = game.initial_state()
    rows = {}
    for name, run in (
        ("minimax", lambda: minimax(game, start)),
        ("alpha-beta", lambda: alphabeta(game, start, AlphaBetaConfig(iterative=False,
                                                                      use_table=False))),
        ("alpha-beta + TT", lambda: alphabeta(game, start, AlphaBetaConfig(iterative=False))),
        ("alpha-beta + TT + ID", lambda: alphabeta(game, start)),
    ):
        began = time.perf_counter()
        result = run()
        rows[name] = {"value": result.value, "nodes": result.nodes,
                      "seconds": time.perf_counter() - began}
    return rows


def main() -> None:
    for width, height in ((3, 3), (4, 4)):
        rows = node_counts(width, height)
        print(f"\n{width}x{height} from the start: value for White, nodes, seconds, "
              "minimax nodes / these nodes")
        for name, row in rows.items():
            ratio = rows["minimax"]["nodes"] / row["nodes"]
            print(f"  {name:22s} {row['value']:+.0f} {row['nodes']:>10,} nodes "
                  f"{row['seconds']:7.3f} s  {ratio:8.1f}x")

    game = Hexapawn(3, 3)
    solution = solve(3, 3)
    result, actions = play_game(game, mcts_agent(game, iterations=500), alphabeta_agent(game))
    position, line = game.initial_state(), []
    for action in actions:
        mark = "" if action in solution.optimal_moves(position) else "?"
        line.append(game.action_to_string(position, action) + mark)
        position = game.apply(position, action)
    print("\n3x3, MCTS (500 iterations) vs alpha-beta:", " ".join(line))
    side = 'White' if result > 0 else 'Black'
    print(f"{side} wins; '?' marks a move the solver would not play.")


if __name__ == "__main__":
    main()

"""The three classic game-tree searches, generic over `minizero.game.Game`.

* `minimax`: negamax over the whole tree (or to a depth), the oracle of the other two.
* `alphabeta`: negamax with alpha-beta pruning, a transposition table, move ordering and
  iterative deepening.
* `mcts`: Monte Carlo tree search with UCT selection and random rollouts.
"""

from minizero.search.alphabeta import AlphaBetaConfig, alphabeta
from minizero.search.mcts import MCTSConfig, mcts
from minizero.search.minimax import SearchResult, minimax

__all__ = ["AlphaBetaConfig", "MCTSConfig", "SearchResult", "alphabeta", "mcts", "minimax"]

"""Chess in minizero: an alpha-beta searcher on python-chess with a pluggable evaluator.

``search.Searcher`` is the engine's brain, ``evaluator.Evaluator`` the contract every evaluator
(classical here, NNUE later) follows, and ``evaluator.ClassicalEvaluator`` the first one behind
``minizero-uci``. The folder is not called ``chess`` so that ``import chess`` stays python-chess.
"""

from minizero.chessgame.evaluator import ClassicalEvaluator, Evaluator
from minizero.chessgame.search import Limits, SearchConfig, Searcher, SearchInfo, SearchResult

__all__ = [
    "ClassicalEvaluator",
    "Evaluator",
    "Limits",
    "SearchConfig",
    "SearchInfo",
    "SearchResult",
    "Searcher",
]

"""The contract of every chess evaluator: a score in centipawns, from the side to move.

The alpha-beta searcher asks an ``Evaluator`` for a static score at the leaves, and tells it
about every move it makes and unmakes, so that an incremental evaluator (an NNUE accumulator
stack) can follow the search instead of recomputing. ``evaluate(board)`` returns centipawns
from the point of view of the side to move (positive = good for the player about to move).
``reset(board)`` is called once at the root of each search; ``push(board, move)`` just before
the search plays ``move`` on ``board`` (``chess.Move.null()`` for a null move) and ``pop()`` just
after it takes a move back. An incremental evaluator reads the position from the search's own
board and keeps no second copy of it. The classical evaluator (``classical.py``) needs none of
the hooks; the NNUE evaluators (``nnue.evaluator``) use them all.

Reference: Chess Programming Wiki, "Evaluation" and "Incremental Updates".
"""

from __future__ import annotations

import chess


class Evaluator:
    """Base class and contract: ``evaluate`` in centipawns from the side to move.

    ``reset(board)`` is called once at the root of each search; ``push(board, move)`` just
    before the search plays ``move`` on ``board`` (``chess.Move.null()`` for a null move) and
    ``pop()`` just after it takes a move back. The defaults do nothing.
    """

    def evaluate(self, board: chess.Board) -> int:
        raise NotImplementedError

    def reset(self, board: chess.Board) -> None:
        """Start following ``board`` (the search root)."""

    def push(self, board: chess.Board, move: chess.Move) -> None:
        """``move`` is about to be played on ``board`` (still the position before it)."""

    def pop(self) -> None:
        """The last pushed move was taken back."""

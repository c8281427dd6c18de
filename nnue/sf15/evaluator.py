"""Stockfish 15.1's net as the alpha-beta search's evaluator, updated incrementally.

The evaluator keeps one accumulator pair (White's and Black's perspective, 1,024 int16 + 8
int32 PSQT sums each) per ply of the search. ``push`` only records what the move changes (at
most three pieces: the mover, a captured piece, a castling rook; a promotion removes the pawn
and adds the new piece), as Stockfish's DirtyPiece does; ``evaluate`` then brings each
perspective up to date lazily from the nearest computed ply, or refreshes it from the board
when that perspective's own king moved in between (a king move changes every HalfKAv2_hm
feature of its side). A null move changes nothing. The result equals a full refresh bit for bit
(tests check it at every node of a search).

What ``evaluate`` returns, in centipawns from the side to move, is Stockfish 15.1's
``Eval::evaluate`` for the NNUE case, step by step (src/evaluate.cpp, evaluate_nnue.cpp):

1. ``npm`` = non-pawn material of both sides in Stockfish's middlegame values
   (N 781, B 825, R 1276, Q 2538);
2. the net's output "adjusted": with ``delta = 24 - npm / 9560``,
   ``nnue = ((1024 - delta) * psqt + (1024 + delta) * positional) / (1024 * 16)``;
3. ``v = nnue * (1064 + 106 * npm / 5120) / 1024`` (Stockfish adds an "optimism" term that its
   search sets from the root score; ours has none, so it is 0 here);
4. ``v = v * (195 - halfmove clock) / 211`` (damping as the fifty-move rule nears);
5. centipawns = ``v * 100 / 361`` (Stockfish 15.1's UCI normalisation, 361 units = 1 pawn).

Every division truncates towards zero as in C++. Not reproduced: Stockfish's fallback to its
classical evaluation when more than 7 pieces remain and the classical endgame PSQT score
exceeds 1760 units (a lopsided position); here the net always decides.
Command: ``nnue-uci`` with ``setoption name EvalFile value stockfish``.
"""

from __future__ import annotations

import chess
import numpy as np

from minizero.chessgame.evaluator import Evaluator
from nnue.sf15 import kernel
from nnue.sf15.net import HALF_DIMENSIONS, OUTPUT_SCALE, PSQT_BUCKETS, StockfishNet
from nnue.sf15.trace import NORMALIZE_TO_PAWN, board_pieces

MIDDLEGAME_VALUES = (0, 0, 781, 825, 1276, 2538, 0)  # Stockfish 15.1 by python-chess piece type
MAX_CHANGES = 3  # moved piece, captured piece, castling rook (Stockfish's DirtyPiece)


def _truncate(numerator: int, denominator: int) -> int:
    quotient = abs(numerator) // denominator
    return -quotient if numerator < 0 else quotient


def search_value(material: int, positional: int, board: chess.Board) -> int:
    """Stockfish's internal Value, side to move, from the net's two terms (1/16 Value units):
    steps 1-4 of the module docstring. Stockfish's ``eval`` prints it (White's view, divided
    by 361) as its "Final evaluation" wherever the net decides."""
    non_pawn = sum(MIDDLEGAME_VALUES[piece_type] * chess.popcount(board.pieces_mask(piece_type,
                   chess.WHITE) | board.pieces_mask(piece_type, chess.BLACK))
                   for piece_type in (chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN))
    delta = 24 - non_pawn // 9560
    nnue = _truncate((1024 - delta) * material + (1024 + delta) * positional, 1024 * OUTPUT_SCALE)
    value = _truncate(nnue * (1064 + 106 * non_pawn // 5120), 1024)
    return _truncate(value * (195 - board.halfmove_clock), 211)


def search_score(material: int, positional: int, board: chess.Board) -> int:
    """Centipawns, side to move: ``search_value`` * 100 / 361 (step 5)."""
    return _truncate(search_value(material, positional, board) * 100, NORMALIZE_TO_PAWN)


def move_changes(board: chess.Board, move: chess.Move) -> list[tuple[int, int, int]]:
    """The (Stockfish piece code, from, to) changes ``move`` makes on ``board`` (the position
    before it); -1 stands for "off the board". The mover comes first."""
    if not move:
        return []
    piece = board.piece_at(move.from_square)
    if piece is None:
        raise ValueError(f"no piece on {chess.square_name(move.from_square)} for {move.uci()}")
    code = piece.piece_type + (0 if piece.color == chess.WHITE else 8)
    if board.is_castling(move):
        rank = chess.square_rank(move.from_square)
        kingside = board.is_kingside_castling(move)
        rook_from = move.to_square if board.piece_type_at(move.to_square) == chess.ROOK \
            else chess.square(7 if kingside else 0, rank)
        king_to = chess.square(6 if kingside else 2, rank)
        rook_to = chess.square(5 if kingside else 3, rank)
        return [(code, move.from_square, king_to), (code - 2, rook_from, rook_to)]
    changes = []
    if move.promotion:
        changes.append((code, move.from_square, -1))
        changes.append((move.promotion + (code & 8), -1, move.to_square))
    else:
        changes.append((code, move.from_square, move.to_square))
    if board.is_en_passant(move):
        captured = move.to_square + (-8 if piece.color == chess.WHITE else 8)
        changes.append(((code & 8) ^ 8 | chess.PAWN, captured, -1))
    else:
        victim = board.piece_at(move.to_square)
        if victim is not None:
            changes.append((victim.piece_type + (0 if victim.color == chess.WHITE else 8),
                            move.to_square, -1))
    return changes


class StockfishNnueEvaluator(Evaluator):
    """The ``Evaluator`` contract over a Stockfish 15.1 net (see the module docstring)."""

    def __init__(self, net: StockfishNet, max_plies: int = 256) -> None:
        self.net = net
        self._transformer = kernel.transformer_arrays(net)
        self._layers = kernel.layer_arrays(net)
        self._allocate(max_plies)
        self.ply = 0

    def _allocate(self, plies: int) -> None:
        self.accumulators = np.zeros((plies, 2, HALF_DIMENSIONS), np.int16)
        self.psqts = np.zeros((plies, 2, PSQT_BUCKETS), np.int32)
        self.computed = np.zeros((plies, 2), np.bool_)
        self.changes = np.zeros((plies, MAX_CHANGES, 3), np.int64)
        self.change_counts = np.zeros(plies, np.int64)
        self.king_moved = np.zeros((plies, 2), np.bool_)

    def _grow(self) -> None:
        old = (self.accumulators, self.psqts, self.computed, self.changes, self.change_counts,
               self.king_moved)
        self._allocate(2 * len(self.computed))
        for new, previous in zip((self.accumulators, self.psqts, self.computed, self.changes,
                                  self.change_counts, self.king_moved), old):
            new[:len(previous)] = previous

    def reset(self, board: chess.Board) -> None:
        self.ply = 0
        pieces = board_pieces(board)
        for perspective in (0, 1):
            kernel.refresh(pieces, perspective, self.accumulators[0, perspective],
                           self.psqts[0, perspective], *self._transformer)
        self.computed[0] = True

    def push(self, board: chess.Board, move: chess.Move) -> None:
        if self.ply + 1 >= len(self.computed):
            self._grow()
        self.ply += 1
        ply = self.ply
        changes = move_changes(board, move)
        self.computed[ply] = False
        self.change_counts[ply] = len(changes)
        self.king_moved[ply] = False
        for i, change in enumerate(changes):
            self.changes[ply, i] = change
        if changes and changes[0][0] & 7 == chess.KING:
            self.king_moved[ply, changes[0][0] >> 3] = True

    def pop(self) -> None:
        if self.ply == 0:
            raise ValueError("pop() without a matching push()")
        self.ply -= 1

    def accumulators_for(self, board: chess.Board) -> tuple[np.ndarray, np.ndarray]:
        """The current ply's accumulators (2, 1024) int16 and PSQT sums (2, 8) int32, White's
        perspective first, brought up to date for ``board`` (the search's current board)."""
        ply, pieces = self.ply, None
        for perspective, color in ((0, chess.WHITE), (1, chess.BLACK)):
            if self.computed[ply, perspective]:
                continue
            if not kernel.bring_up_to_date(
                    self.accumulators, self.psqts, self.computed, self.changes,
                    self.change_counts, self.king_moved, ply, perspective, board.king(color),
                    self.net.transformer_weights, self.net.psqt_weights):
                pieces = board_pieces(board) if pieces is None else pieces
                kernel.refresh(pieces, perspective, self.accumulators[ply, perspective],
                               self.psqts[ply, perspective], *self._transformer)
                self.computed[ply, perspective] = True
        return self.accumulators[ply], self.psqts[ply]

    def terms(self, board: chess.Board) -> tuple[int, int]:
        """(material, positional) of the bucket in use, 1/16 Value units, side to move."""
        accumulators, psqts = self.accumulators_for(board)
        us = 0 if board.turn == chess.WHITE else 1
        bucket = (chess.popcount(board.occupied) - 1) // 4
        material, positional = kernel.evaluate_accumulators(
            accumulators[us], accumulators[1 - us], psqts[us], psqts[1 - us], bucket,
            *self._layers)
        return int(material), int(positional)

    def evaluate(self, board: chess.Board) -> int:
        """Centipawns from the side to move (module docstring, steps 1-5)."""
        material, positional = self.terms(board)
        return search_score(material, positional, board)


def warm_up(net: StockfishNet) -> None:
    """Load the compiled kernels now (numba's cache), not inside the first timed search."""
    board = chess.Board()
    evaluator = StockfishNnueEvaluator(net)
    evaluator.reset(board)
    for move in (chess.Move.from_uci("e2e4"), chess.Move.from_uci("e8e7")):
        evaluator.push(board, move)
        board.push(move)
        evaluator.evaluate(board)

"""The NNUE evaluator of the search: int16 accumulators on a stack that follows the search's board.

Idea: the accumulator (the feature transformer's output, one int16 vector per perspective) is
the only expensive part of the network, and a move changes only a few of its input features. So
the evaluator keeps one accumulator pair per ply: ``push(board, move)`` (called just before the
search plays ``move`` on its board) notes what the move puts on and takes off the board;
``pop()`` forgets it; ``evaluate(board)`` brings the accumulators of the current ply up to date
from the last ply that was computed, adding the weight rows of the features each move turned on
and subtracting those it turned off, and runs the dense layers. The work is lazy: a node the
search never scores (a transposition-table cut, a repetition, a PV or in-check node) costs only
the Python of ``push``. A null move changes no piece: its accumulators are the parent's, carried
over. Under halfkp a king move changes every feature of its own perspective, which is then
recomputed from the board at the push (the other perspective is still updated incrementally);
under king-buckets only a change of bucket does, but the evaluator refreshes at every own-king
move alike, which is always right and costs little (king moves are few in a search).

The arithmetic runs in the compiled kernel (``nnue/kernel.py``); ``kernel=False`` runs the same
steps through the numpy reference (``nnue/reference.py``). ``check=True`` compares, at every
evaluated node, the accumulators with a full refresh from the board and the score with the numpy
reference, and raises ``EvaluatorMismatch`` on any difference.

Scores are centipawns from the side to move. Reference: Stockfish 12 ``nnue/evaluate_nnue.cpp``
and ``nnue_accumulator.h`` (lazy "computed" flags); Nasu (2018).
Command: ``python -m pytest tests/nnue/test_nnue_evaluator.py``.
"""

from __future__ import annotations

import chess
import numpy as np

from minizero.chessgame.evaluator import Evaluator
from nnue import kernel, reference
from nnue.kernel import KING_SHIFTS, KINGS_MASK, NO_CHANGES, NO_PIECE, REFRESHED_SHIFT, KernelNet
from nnue.reference import IntegerNet

FIRST_STACK_PLIES = 128  # accumulator pairs allocated at first; the stack doubles when full


class EvaluatorMismatch(RuntimeError):
    """Checking mode found incremental accumulators or a kernel score that differ."""


def bitboards(board: chess.Board) -> np.ndarray:
    """(8,) int64: pawns, knights, bishops, rooks, queens, kings, White's, Black's pieces."""
    return np.array([board.pawns, board.knights, board.bishops, board.rooks, board.queens,
                     board.kings, board.occupied_co[chess.WHITE], board.occupied_co[chess.BLACK]],
                    dtype=np.uint64).view(np.int64)


def move_changes(board: chess.Board, move: chess.Move, kings: int) -> int:
    """The packed changes (``nnue.kernel.pack_changes``) of a move about to be played on
    ``board``; ``kings``: the king squares before it, as packed in the parent's changes.

    Covers every move kind: quiet, capture, en passant (the captured pawn is not on the target
    square), castling (king and rook move; standard e1g1 and Chess960 king-takes-rook encodings)
    and promotion. The fast twin of ``nnue.features.piece_changes``, in plain integers.
    """
    origin, target = move.from_square, move.to_square
    colour = board.turn
    piece_type = board.piece_type_at(origin)
    if piece_type is None:
        raise ValueError(f"no piece on {chess.square_name(origin)} for move {move}")
    own = 0 if colour == chess.WHITE else 384
    their = 384 - own
    captured = board.piece_type_at(target)
    lifted1 = NO_PIECE
    if piece_type == chess.KING:
        king_shift = KING_SHIFTS[0 if colour == chess.WHITE else 1]
        kings = kings & ~(63 << king_shift)
        if abs(target - origin) == 2 or (captured == chess.ROOK
                                         and board.color_at(target) == colour):  # castling
            rank_start = origin & ~7
            kingside = target > origin
            rook_origin = target if captured == chess.ROOK else rank_start + (7 if kingside else 0)
            king_target = rank_start + (6 if kingside else 2)
            rook_target = rank_start + (5 if kingside else 3)
            return (own + 320 + king_target | (own + 192 + rook_target) << 10
                    | (own + 320 + origin) << 20 | (own + 192 + rook_origin) << 30
                    | kings | king_target << king_shift)
        kings |= target << king_shift
    if captured is not None:
        lifted1 = their + 64 * (captured - 1) + target
    elif piece_type == chess.PAWN and target == board.ep_square:
        lifted1 = their + (target - 8 if colour == chess.WHITE else target + 8)
    placed_type = move.promotion or piece_type
    return (own + 64 * (placed_type - 1) + target | NO_PIECE << 10
            | (own + 64 * (piece_type - 1) + origin) << 20 | lifted1 << 30 | kings)


class NnueEvaluator(Evaluator):
    """Incremental NNUE evaluation following the search's board. Centipawns, side to move.

    The search's side of it (``minizero.chessgame.search``), by hand::

        evaluator = NnueEvaluator(load_kernel_net("nnue/nets/piece-square-256.nnue"))
        board = chess.Board()
        evaluator.reset(board)
        move = chess.Move.from_uci("e2e4")
        evaluator.push(board, move)
        board.push(move)
        evaluator.evaluate(board)  # centipawns for Black, to move
        board.pop()
        evaluator.pop()

    ``compiled=False`` runs the numpy reference steps instead of the kernel (same results).
    """

    def __init__(self, net: KernelNet, check: bool = False, compiled: bool = True) -> None:
        self.net = net
        self.feature_mode = net.feature_mode
        self.king_refresh = net.features.king_refresh
        self.reference = IntegerNet(net.net) if check else None
        steps = kernel if compiled else reference
        self._apply_changes = steps.apply_changes
        self._refresh = steps.refresh
        self._forward = steps.forward
        self._update_and_forward = steps.update_and_forward
        self.accumulators = np.zeros((FIRST_STACK_PLIES, 2, net.l1), np.int16)
        self.changes = [NO_CHANGES] * FIRST_STACK_PLIES  # packed changes of the move into ply
        self.ply = 0  # the current position's ply
        self.computed = 0  # accumulators up to this ply are up to date
        self.reset(chess.Board())

    def reset(self, board: chess.Board) -> None:
        """Start following ``board`` (the search root): both perspectives from scratch."""
        white_king, black_king = board.king(chess.WHITE), board.king(chess.BLACK)
        if self.king_refresh and (white_king is None or black_king is None):
            raise ValueError(f"{self.net.features.name} needs both kings on the board: "
                             f"{board.fen()}")
        self.changes[0] = NO_CHANGES | (white_king or 0) << KING_SHIFTS[0] | (
            black_king or 0) << KING_SHIFTS[1]
        pieces = bitboards(board)
        for perspective in range(2):
            self._refresh(self.accumulators, 0, perspective, pieces, self.changes[0],
                          self.net.ft_weight, self.net.ft_bias, self.feature_mode)
        self.ply = self.computed = 0

    def push(self, board: chess.Board, move: chess.Move) -> None:
        """``move`` (``chess.Move.null()`` included) is about to be played on ``board``."""
        kings = self.changes[self.ply] & KINGS_MASK
        self.ply += 1
        if self.ply == len(self.changes):
            self._grow()
        if not move:  # the null move: no piece changes, the accumulators carry over
            self.changes[self.ply] = NO_CHANGES | kings
            return
        changes = move_changes(board, move, kings)
        if self.king_refresh and (changes ^ kings) & KINGS_MASK:
            # The mover's own king moved: every feature of its perspective changes.
            perspective = 0 if board.turn == chess.WHITE else 1
            changes |= 1 << (REFRESHED_SHIFT + perspective)
            self._refresh(self.accumulators, self.ply, perspective, bitboards(board), changes,
                          self.net.ft_weight, self.net.ft_bias, self.feature_mode)
        self.changes[self.ply] = changes

    def pop(self) -> None:
        """The last pushed move was taken back."""
        if self.ply == 0:
            raise IndexError("pop from an evaluator with no move pushed")
        self.ply -= 1
        if self.computed > self.ply:
            self.computed = self.ply

    def evaluate(self, board: chess.Board) -> int:
        """Centipawns from the side to move of ``board``, the search's current position."""
        ply = self.ply
        weights, biases, l2 = self.net.dense
        if self.computed == ply:
            score = self._forward(self.accumulators, ply, board.turn, weights, biases, l2)
        else:
            if self.computed < ply - 1:  # the parent was never scored either
                self._catch_up(ply - 1)
            score = self._update_and_forward(self.accumulators, ply - 1, ply, self.changes[ply],
                                             self.net.ft_weight, self.feature_mode, board.turn,
                                             weights, biases, l2)
            self.computed = ply
        if self.reference is not None:
            self._check(board, score)
        return score

    def current_accumulators(self) -> np.ndarray:
        """(2, L1) int16 accumulators of the current ply brought up to date, White's first."""
        self._catch_up(self.ply)
        return self.accumulators[self.ply].copy()

    def _catch_up(self, ply: int) -> None:
        """Bring the accumulators up to date up to ``ply``, one move at a time."""
        for child in range(self.computed + 1, ply + 1):
            self._apply_changes(self.accumulators, child - 1, child, self.changes[child],
                                self.net.ft_weight, self.feature_mode)
        self.computed = max(self.computed, ply)

    def _check(self, board: chess.Board, score: int) -> None:
        """Checking mode: incremental == full refresh, kernel score == numpy reference."""
        refreshed = np.stack([self.reference.refresh(board, chess.WHITE),
                              self.reference.refresh(board, chess.BLACK)])
        if not np.array_equal(self.accumulators[self.ply], refreshed):
            raise EvaluatorMismatch(f"incremental accumulators differ from a refresh at ply "
                                    f"{self.ply}: {board.fen()}")
        order = refreshed if board.turn == chess.WHITE else refreshed[::-1]
        expected = int(self.reference.layers(order.reshape(1, -1))[0])
        if score != expected:
            raise EvaluatorMismatch(f"score {score} differs from the numpy reference {expected}: "
                                    f"{board.fen()}")

    def _grow(self) -> None:
        self.accumulators = np.concatenate([self.accumulators, np.zeros_like(self.accumulators)])
        self.changes.extend([NO_CHANGES] * (len(self.accumulators) - len(self.changes)))

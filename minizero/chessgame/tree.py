"""The recursive part of the alpha-beta search: one node, its pruning, its moves, quiescence.

``TreeSearch._negamax`` scores the current position from the side to move, searched ``depth``
plies, told in named steps: draws and mate distance, the transposition table, static pruning
(reverse futility, null move, futility), then the moves best first with principal variation
search and late move reductions (``_search_moves``), and at the horizon a quiescence search of
captures. ``search.Searcher`` drives it from the root with iterative deepening. Each trick is
named where it is applied; Chess Programming Wiki has a page for each.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import chess

from minizero.chessgame.evaluator import Evaluator
from minizero.chessgame.ordering import MoveOrdering, ordered_captures
from minizero.chessgame.protocol import EXACT, LOWER, MATE, MATE_BOUND, UPPER
from minizero.chessgame.table import (
    TableEntry,
    TranspositionTable,
    from_table,
    position_key,
    to_table,
)

if TYPE_CHECKING:
    from minizero.chessgame.tablebase.oracle import EndgameOracle

INFINITY = 32767
MAX_PLY = 100


@dataclass(frozen=True)
class SearchConfig:
    """The searcher's knobs; defaults are the engine behind ``minizero-uci``.

    hash_mb: transposition-table memory budget in MiB (the UCI Hash option).
    aspiration_window: half-width in centipawns of the first window around the last score.
    null_move: try null-move pruning. null_move_reduction: its R (plus depth // 6).
    late_move_reductions: reduce quiet moves searched late. lmr_min_depth/lmr_min_moves: from
    which remaining depth and which move number they start.
    check_extension: search one ply deeper when the side to move is in check.
    delta_margin: quiescence skips a capture that cannot lift the score to alpha with this.
    futility_margin: centipawns per remaining ply for (reverse) futility pruning.
    """

    hash_mb: int = 16
    aspiration_window: int = 40
    null_move: bool = True
    null_move_reduction: int = 2
    late_move_reductions: bool = True
    lmr_min_depth: int = 3
    lmr_min_moves: int = 3
    check_extension: bool = True
    delta_margin: int = 200
    futility_margin: int = 120


class SearchAborted(Exception):
    """Raised inside the tree when a limit is hit or stop is requested; caught at the root."""


class TreeSearch:
    """The state one search carries down the tree, and the recursive search itself.

    Set by ``Searcher.search`` before each search: ``board`` (a private copy the search plays
    on), ``path_keys`` (position keys of the game and the line so far, for repetitions),
    ``pv_table``, the node and time limits. Kept between searches: the table and the ordering.
    """

    def __init__(self, evaluator: Evaluator, config: SearchConfig | None = None) -> None:
        self.evaluator = evaluator
        self.config = config if config is not None else SearchConfig()
        self.table = TranspositionTable(self.config.hash_mb)
        self.ordering = MoveOrdering(MAX_PLY)
        self.stop_event = threading.Event()
        self.nodes = 0
        self.node_limit: int | None = None
        self.start_time = time.perf_counter()
        self.soft_deadline: float | None = None
        self.hard_deadline: float | None = None
        # Endgame tables (tablebase/oracle.py): positions of at most ``table_men`` men score
        # exactly, without a search below them; set by the engine, 0 when it has none.
        self.endgame: EndgameOracle | None = None
        self.table_men = 0

    def _negamax(self, depth: int, alpha: int, beta: int, ply: int, allow_null: bool) -> int:
        """Score of the current position from the side to move, searched ``depth`` plies."""
        self.nodes += 1
        if self.nodes & 63 == 0 or self.node_limit is not None:
            self._check_limits()
        board = self.board
        self.pv_table[ply] = []
        if ply > self.seldepth:
            self.seldepth = ply

        key = position_key(board)
        if self._is_draw(board, key):
            return 0
        # Mate distance pruning: no line from here can beat a mate already found nearer the root.
        alpha = max(alpha, -MATE + ply)
        beta = min(beta, MATE - ply - 1)
        if alpha >= beta:
            return alpha
        if ply >= MAX_PLY:
            return self.evaluator.evaluate(board)
        # Endgame tables: a position they hold has an exact score, mate in n or a draw.
        if self.table_men and chess.popcount(board.occupied) <= self.table_men:
            assert self.endgame is not None
            score = self.endgame.score(board, ply)
            if score is not None:
                return score

        in_check = board.is_check()
        # Check extension: a side in check is searched one ply deeper, so mates are not missed
        # at the horizon and quiescence is never entered in check.
        if in_check and self.config.check_extension:
            depth += 1
        if depth <= 0:
            return self._quiescence(alpha, beta, ply)

        pv_node = beta - alpha > 1
        entry = self.table.get(key)
        if entry is not None and not pv_node and entry.depth >= depth:
            cutoff = _table_cutoff(entry, alpha, beta, ply)
            if cutoff is not None:
                return cutoff

        # Static pruning needs a static score; it is never trusted in check or at a PV node.
        futile = False
        if not in_check and not pv_node and abs(beta) < MATE_BOUND:
            static_eval = self.evaluator.evaluate(board)
            # Reverse futility pruning: near the leaves, a position already this far above
            # beta will not fall below it in the few plies left.
            if depth <= 3 and static_eval - self.config.futility_margin * depth >= beta:
                return static_eval
            if allow_null and static_eval >= beta:
                score = self._null_move(depth, beta, ply, key)
                if score is not None:
                    return score
            # Futility pruning (applied to quiet moves in the loop): at the frontier, a position
            # far below alpha cannot be rescued by a quiet move, only by captures and checks.
            futile = depth <= 2 and static_eval + self.config.futility_margin * depth <= alpha

        table_move = entry.move if entry is not None else None
        return self._search_moves(depth, alpha, beta, ply, key, table_move, in_check, futile)

    def _is_draw(self, board: chess.Board, key: int) -> bool:
        """Repetition, the fifty-move rule, insufficient material: each scores 0."""
        if self._is_repetition(key, board.halfmove_clock):
            return True
        if board.halfmove_clock >= 100 and not board.is_checkmate():
            return True
        return chess.popcount(board.occupied) <= 4 and board.is_insufficient_material()

    def _null_move(self, depth: int, beta: int, ply: int, key: int) -> int | None:
        """Null-move pruning: give the opponent a free move; if we still beat beta with a
        reduced search, the real moves surely would. The caller is not in check; not in pawn
        endings (zugzwang), not twice in a row. Returns the cut-off score, or None."""
        board = self.board
        if not (self.config.null_move and depth >= 3 and self._has_pieces(board)):
            return None
        reduction = self.config.null_move_reduction + depth // 6
        null = chess.Move.null()
        self.evaluator.push(board, null)
        board.push(null)
        self.path_keys.append(key)
        try:
            score = -self._negamax(depth - 1 - reduction, -beta, -beta + 1, ply + 1, False)
        finally:
            self.path_keys.pop()
            board.pop()
            self.evaluator.pop()
        if score < beta:
            return None
        return beta if score >= MATE_BOUND else score

    def _search_moves(
        self, depth: int, alpha: int, beta: int, ply: int, key: int,
        table_move: chess.Move | None, in_check: bool, futile: bool,
    ) -> int:
        """Try the moves best first (PVS with late move reductions); store the result."""
        board, evaluator, path_keys, ordering = (
            self.board, self.evaluator, self.path_keys, self.ordering)
        original_alpha = alpha
        best_score, best_move = -INFINITY, None
        for index, (move, quiet) in enumerate(ordering.staged_moves(board, table_move, ply)):
            if futile and quiet and index > 0 and not board.gives_check(move):
                continue
            reduction = 0
            # Late move reductions: quiet moves ordered late are probably bad; search them
            # shallower, and again at full depth only if they surprise us.
            late_quiet = (index > 0 and quiet and not in_check
                          and self.config.late_move_reductions
                          and depth >= self.config.lmr_min_depth
                          and index >= self.config.lmr_min_moves
                          and not ordering.is_killer(move, ply))
            evaluator.push(board, move)
            board.push(move)
            path_keys.append(key)
            try:
                if late_quiet and not board.is_check():
                    reduction = 1 if index < 8 else 2
                score = self._search_child(index == 0, depth, alpha, beta, ply, reduction)
            finally:
                path_keys.pop()
                board.pop()
                evaluator.pop()
            if score > best_score:
                best_score, best_move = score, move
                if score > alpha:
                    alpha = score
                    self.pv_table[ply] = [move] + self.pv_table[ply + 1]
                    if score >= beta:
                        if quiet:
                            # Killer moves and the history heuristic: remember quiet moves
                            # that refuted a position, to try them early elsewhere.
                            ordering.remember_cutoff(board, move, ply, depth)
                        break

        if best_move is None:
            return -MATE + ply if in_check else 0  # checkmate (scored by distance) or stalemate
        bound = UPPER if best_score <= original_alpha else (LOWER if best_score >= beta else EXACT)
        self.table.put(key, depth, bound, to_table(best_score, ply), best_move)
        return best_score

    def _search_child(
        self, first: bool, depth: int, alpha: int, beta: int, ply: int, reduction: int
    ) -> int:
        """Principal variation search of the move just played, from the mover's side.

        The first move gets the full window; each later one a null window (reduced by
        ``reduction`` plies) to prove it worse, then a re-search only when it is better.
        """
        if first:
            return -self._negamax(depth - 1, -beta, -alpha, ply + 1, True)
        score = -self._negamax(depth - 1 - reduction, -alpha - 1, -alpha, ply + 1, True)
        if score > alpha and reduction:
            score = -self._negamax(depth - 1, -alpha - 1, -alpha, ply + 1, True)
        if alpha < score < beta:
            score = -self._negamax(depth - 1, -beta, -alpha, ply + 1, True)
        return score

    def _quiescence(self, alpha: int, beta: int, ply: int) -> int:
        """Quiescence search: only captures and promotions until the position is quiet."""
        self.nodes += 1
        if self.nodes & 63 == 0 or self.node_limit is not None:
            self._check_limits()
        if ply > self.seldepth:
            self.seldepth = ply
        board, evaluator = self.board, self.evaluator
        if ply >= MAX_PLY:
            return evaluator.evaluate(board)
        if self.table_men and chess.popcount(board.occupied) <= self.table_men:
            assert self.endgame is not None
            score = self.endgame.score(board, ply)  # a capture into the tables: exact
            if score is not None:
                return score

        if board.is_check():
            # In check there is no standing pat: every evasion is searched (mates are seen).
            moves = [move for move, _ in self.ordering.ordered_moves(board, None, ply)]
            if not moves:
                return -MATE + ply
            best_score = -INFINITY
        else:
            # Stand pat: the side to move may decline every capture.
            stand_pat = evaluator.evaluate(board)
            if stand_pat >= beta:
                return stand_pat
            alpha = max(alpha, stand_pat)
            best_score = stand_pat
            moves = ordered_captures(board, stand_pat, alpha, self.config.delta_margin)

        for move in moves:
            evaluator.push(board, move)
            board.push(move)
            try:
                score = -self._quiescence(-beta, -alpha, ply + 1)
            finally:
                board.pop()
                evaluator.pop()
            if score > best_score:
                best_score = score
                if score > alpha:
                    alpha = score
                    if score >= beta:
                        break
        return best_score

    def _check_limits(self) -> None:
        if self.stop_event.is_set():
            raise SearchAborted
        if self.node_limit is not None and self.nodes >= self.node_limit:
            raise SearchAborted
        if self.hard_deadline is not None and self._elapsed() >= self.hard_deadline:
            raise SearchAborted

    def _elapsed(self) -> float:
        return time.perf_counter() - self.start_time

    def _is_repetition(self, key: int, halfmove_clock: int) -> bool:
        """Has this position occurred before since the last capture or pawn move?

        One earlier occurrence is enough inside the search: if repeating is good for one side
        once, it can repeat again (the usual engine convention). Same side to move means
        every second earlier position, from four plies back.
        """
        keys = self.path_keys
        last = len(keys)
        for index in range(last - 4, max(last - halfmove_clock, 0) - 1, -2):
            if keys[index] == key:
                return True
        return False

    @staticmethod
    def _has_pieces(board: chess.Board) -> bool:
        """Does the side to move have a piece other than pawns and king? (null-move safety)"""
        mine = board.occupied_co[board.turn]
        return bool(mine & (board.knights | board.bishops | board.rooks | board.queens))


def _table_cutoff(entry: TableEntry, alpha: int, beta: int, ply: int) -> int | None:
    """Transposition-table cut-off: the stored score settles this node, or None.

    The caller checked that the entry was searched at least as deep as this node needs.
    """
    score = from_table(entry.score, ply)
    if (entry.bound == EXACT or (entry.bound == LOWER and score >= beta)
            or (entry.bound == UPPER and score <= alpha)):
        return score
    return None

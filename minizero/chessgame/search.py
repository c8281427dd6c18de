"""Alpha-beta chess search: negamax PVS with iterative deepening, over python-chess boards.

The search contract: ``Searcher.search(board, limits)`` returns the best move found and its
score in centipawns from the side to move (mate in n plies is ``MATE - n``, being mated
``-(MATE - n)``). Each node returns the exact value when it lies inside (alpha, beta), a lower
bound when it is >= beta (fail high) and an upper bound when it is <= alpha (fail low).

Every trick of the classic engine is named where it is applied: here at the root, iterative
deepening, aspiration windows and MultiPV; in the tree (``tree.py``) principal variation
search, the transposition table (``table.py``), check extension, null-move pruning, late
move reductions, futility and reverse futility pruning, mate distance pruning, staged move
generation with killer and history ordering (``ordering.py``), and a quiescence search over
captures and queen promotions ordered by MVV-LVA with delta pruning. Draws (repetition,
fifty-move rule, insufficient material) score 0. Reference: Chess Programming Wiki (each
technique has its page); Marsland & Campbell, "Parallel search of strongly ordered game
trees" (1982) for PVS.

The leaf score comes from the ``Evaluator`` the searcher is given (``evaluator.py``: classical,
NNUE...), whose push/pop hooks are called around every move so an incremental evaluator follows
the search. Try it: ``minizero-uci`` then ``position startpos`` / ``go depth 6``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import chess

from minizero.chessgame.protocol import (
    EXACT,
    LOWER,
    MATE,
    MATE_BOUND,
    UPPER,
    Limits,
    SearchInfo,
    SearchResult,
)
from minizero.chessgame.table import TranspositionTable, position_key, to_table
from minizero.chessgame.tree import (
    INFINITY,
    MAX_PLY,
    SearchAborted,
    SearchConfig,
    TreeSearch,
)

__all__ = ["SearchConfig", "Searcher"]

# After this many seconds of a search, each root move is announced as it is searched (UCI
# "currmove"), so a GUI shows progress through a long iteration; Stockfish waits 3 s.
CURRMOVE_AFTER_SECONDS = 1.0


class Searcher(TreeSearch):
    """Iterative-deepening PVS over a python-chess board with the evaluator it is given.

    One Searcher keeps its transposition table, killers and history between searches (a game);
    call ``new_game()`` between games. ``stop()`` may be called from another thread.
    """

    on_info: Callable[[SearchInfo], None] | None = None  # the running search's reports

    def configure(self, config: SearchConfig) -> None:
        """New knobs between searches; a new Hash size starts an empty table."""
        if config.hash_mb != self.table.megabytes:
            self.table = TranspositionTable(config.hash_mb)
        self.config = config

    def new_game(self) -> None:
        self.table.clear()
        self.ordering.clear()

    def stop(self) -> None:
        """Ask the running search to return its best move as soon as possible (thread-safe)."""
        self.stop_event.set()

    def extend_time(self, soft_time: float | None, hard_time: float | None) -> None:
        """Replace the time limits of a running search, counted from now (UCI ponderhit)."""
        now = time.perf_counter() - self.start_time
        self.soft_deadline = None if soft_time is None else now + soft_time
        self.hard_deadline = None if hard_time is None else now + hard_time

    # ------------------------------------------------------------------ the root
    def search(
        self,
        board: chess.Board,
        limits: Limits | None = None,
        on_info: Callable[[SearchInfo], None] | None = None,
        multipv: int = 1,
        start_time: float | None = None,
        stop_event: threading.Event | None = None,
    ) -> SearchResult:
        """Search ``board`` (left untouched) within ``limits``; report each iteration.

        ``stop_event``, when given, stops the search once set (a fresh one per search avoids
        a late ``stop`` leaking into the next search); ``start_time`` is the
        ``time.perf_counter()`` the clock started from (default: now).
        """
        limits = limits if limits is not None else Limits()
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self.start_time = start_time if start_time is not None else time.perf_counter()
        self.soft_deadline = limits.soft_time
        self.hard_deadline = limits.hard_time
        self.node_limit = limits.nodes
        self.nodes = 0
        self.seldepth = 0
        self.board = board.copy()
        self.evaluator.reset(self.board)
        # Keys of the positions before the root, for repetition detection across the game.
        self.path_keys = self._game_keys(board)
        self.pv_table: list[list[chess.Move]] = [[] for _ in range(MAX_PLY + 2)]
        self.on_info = on_info
        self.table_men = self.endgame.max_men if self.endgame is not None else 0
        self.table_hits = self.endgame.hits if self.endgame is not None else 0
        if self.table_men and multipv == 1:
            result = self._table_root(limits)
            if result is not None:
                return result

        root_entry = self.table.get(position_key(self.board))
        root_moves = [move for move, _ in self.ordering.ordered_moves(
            self.board, root_entry.move if root_entry else None, 0)]
        if limits.searchmoves:
            wanted = set(limits.searchmoves)
            root_moves = [move for move in root_moves if move in wanted] or root_moves
        if not root_moves:
            score = -MATE if self.board.is_check() else 0
            return SearchResult(None, score, 0, 0, self._elapsed())

        max_depth = MAX_PLY if limits.depth is None else max(1, min(limits.depth, MAX_PLY))
        if limits.mate is not None:
            max_depth = min(max_depth, 2 * limits.mate + 4)
        lines: list[tuple[int, list[chess.Move]]] = []  # (score, pv) per PV line
        completed_depth = 0
        self.partial_root: tuple[int, list[chess.Move]] | None = None
        try:
            # Iterative deepening: search depth 1, 2, 3... each iteration orders the next (its
            # best move first, its table entries) and leaves a move ready if time runs out.
            for depth in range(1, max_depth + 1):
                lines = self._iterate(depth, root_moves, lines, multipv, on_info)
                completed_depth = depth
                if self._iteration_ends_search(depth, lines[0][0], limits):
                    break
        except SearchAborted:
            # Keep the best move of the unfinished iteration: its first move was the previous
            # best, so any move that beat it is better at the greater depth.
            partial = self.partial_root
            if multipv == 1 and partial is not None and (
                    not lines or partial[1][0] != lines[0][1][0]):
                lines = [partial]
                if on_info is not None:  # say so: the GUI's last PV must be the answer's
                    info = self._info(completed_depth + 1, partial[0], partial[1], 1)
                    info.bound = LOWER  # the unfinished iteration may still find better
                    on_info(info)

        if not lines:  # stopped before depth 1 finished: the best-ordered move still answers
            return SearchResult(root_moves[0], 0, 0, self.nodes, self._elapsed(), [root_moves[0]])
        score, pv = lines[0]
        return SearchResult(pv[0], score, completed_depth, self.nodes, self._elapsed(), pv)

    def _table_root(self, limits: Limits) -> SearchResult | None:
        """Endgame tables at the root: a best move by them, ties broken by the evaluator."""
        assert self.endgame is not None
        board = self.board
        choice = self.endgame.root_choice(board, limits.searchmoves, self._best_evaluated)
        report = self.endgame.missing_report()
        if report is not None and self.on_info is not None:
            self.on_info(SearchInfo.message(report))
        if choice is None:
            return None
        move, score, pv = choice
        if self.on_info is not None:
            info = self._info(1, score, pv, 1)
            self.on_info(info)
        return SearchResult(move, score, 1, self.nodes, self._elapsed(), pv)

    def _best_evaluated(self, moves: list[chess.Move]) -> chess.Move:
        """The move after which the evaluator likes the position best (for the mover)."""
        board, evaluator = self.board, self.evaluator
        scores = []
        for move in moves:
            evaluator.push(board, move)
            board.push(move)
            scores.append(-evaluator.evaluate(board))
            board.pop()
            evaluator.pop()
            self.nodes += 1
        return moves[scores.index(max(scores))]

    def _iteration_ends_search(self, depth: int, score: int, limits: Limits) -> bool:
        if limits.mate is not None and score >= MATE - (2 * limits.mate - 1):
            return True
        if self.soft_deadline is not None and self._elapsed() >= self.soft_deadline * 0.6:
            # The next iteration costs several times this one: don't start what can't finish.
            return True
        return abs(score) >= MATE_BOUND and depth >= MATE - abs(score) + 2

    def _iterate(
        self,
        depth: int,
        root_moves: list[chess.Move],
        previous: list[tuple[int, list[chess.Move]]],
        multipv: int,
        on_info: Callable[[SearchInfo], None] | None,
    ) -> list[tuple[int, list[chess.Move]]]:
        """One iteration of iterative deepening: every requested PV line to ``depth``."""
        lines: list[tuple[int, list[chess.Move]]] = []
        excluded: set[chess.Move] = set()
        for index in range(min(multipv, len(root_moves))):
            candidates = [move for move in root_moves if move not in excluded]
            if index < len(previous):  # the previous best of this line is searched first
                first = previous[index][1][0]
                if first in candidates:
                    candidates.remove(first)
                    candidates.insert(0, first)
            score, pv = self._aspiration(depth, candidates, previous, index)
            lines.append((score, pv))
            excluded.add(pv[0])
            if on_info is not None:
                on_info(self._info(depth, score, pv, index + 1))
        return lines

    def _aspiration(
        self,
        depth: int,
        moves: list[chess.Move],
        previous: list[tuple[int, list[chess.Move]]],
        index: int,
    ) -> tuple[int, list[chess.Move]]:
        # Aspiration windows: expect the score near the last iteration's and search a narrow
        # window around it; on a fail high or low, widen that side and search again.
        delta = self.config.aspiration_window
        if depth >= 4 and index < len(previous) and abs(previous[index][0]) < MATE_BOUND:
            alpha, beta = previous[index][0] - delta, previous[index][0] + delta
        else:
            alpha, beta = -INFINITY, INFINITY
        while True:
            score, pv = self._search_root(depth, alpha, beta, moves)
            if score <= alpha and alpha > -INFINITY:
                alpha = max(score - delta, -INFINITY)
            elif score >= beta and beta < INFINITY:
                beta = min(score + delta, INFINITY)
            else:
                return score, pv
            delta *= 2
            if delta > 1000:
                alpha, beta = -INFINITY, INFINITY

    def _search_root(
        self, depth: int, alpha: int, beta: int, moves: list[chess.Move]
    ) -> tuple[int, list[chess.Move]]:
        board, evaluator = self.board, self.evaluator
        root_key = position_key(board)
        self.partial_root = None
        best_score, best_pv = -INFINITY, [moves[0]]
        original_alpha = alpha
        for index, move in enumerate(moves):
            if self.on_info is not None and self._elapsed() >= CURRMOVE_AFTER_SECONDS:
                self.on_info(SearchInfo(depth, depth, 0, self.nodes, self._elapsed(), 0, [],
                                        currmove=move, currmovenumber=index + 1))
            evaluator.push(board, move)
            board.push(move)
            self.path_keys.append(root_key)
            try:
                # Principal variation search: full window for the first move, a null window
                # to prove each later move worse, and a re-search only when one is better.
                if index == 0:
                    score = -self._negamax(depth - 1, -beta, -alpha, 1, True)
                else:
                    score = -self._negamax(depth - 1, -alpha - 1, -alpha, 1, True)
                    if alpha < score < beta:
                        score = -self._negamax(depth - 1, -beta, -alpha, 1, True)
            finally:
                self.path_keys.pop()
                board.pop()
                evaluator.pop()
            if score > best_score:
                best_score = score
                best_pv = [move] + self.pv_table[1]
                if score > alpha:
                    alpha = score
                    if index > 0 or score < beta:
                        self.partial_root = (score, best_pv)
                    if score >= beta:
                        break
        bound = EXACT if original_alpha < best_score < beta else (
            LOWER if best_score >= beta else UPPER)
        self.table.put(root_key, depth, bound, to_table(best_score, 0), best_pv[0])
        return best_score, best_pv

    @staticmethod
    def _game_keys(board: chess.Board) -> list[int]:
        """Keys of the positions before ``board`` since the last capture or pawn move.

        Older positions can never repeat, so taking moves back on a copy is enough.
        """
        earlier = board.copy()
        keys = []
        for _ in range(min(board.halfmove_clock, len(board.move_stack))):
            earlier.pop()
            keys.append(position_key(earlier))
        keys.reverse()
        return keys

    def _info(self, depth: int, score: int, pv: Sequence[chess.Move], multipv: int) -> SearchInfo:
        return SearchInfo(
            depth=depth, seldepth=max(self.seldepth, depth), score=score, nodes=self.nodes,
            time=self._elapsed(), hashfull=self.table.hashfull(), pv=list(pv), multipv=multipv,
            tbhits=self.endgame.hits - self.table_hits if self.endgame is not None else 0,
        )

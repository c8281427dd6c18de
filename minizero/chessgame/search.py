"""Alpha-beta chess search: negamax PVS with iterative deepening, over python-chess boards.

The search contract: ``Searcher.search(board, limits)`` returns the best move found and its
score in centipawns from the side to move (mate in n plies is ``MATE - n``, being mated
``-(MATE - n)``). Each node returns the exact value when it lies inside (alpha, beta), a lower
bound when it is >= beta (fail high) and an upper bound when it is <= alpha (fail low).

Every trick of the classic engine is here and named where it is applied: iterative deepening,
aspiration windows, principal variation search, a transposition table with a fixed memory
budget, check extension, null-move pruning, late move reductions, futility and reverse
futility pruning, mate distance pruning, staged move generation (hash move first), killer and
history move ordering, and a quiescence search over captures and queen promotions ordered by
MVV-LVA with delta pruning. Draws (repetition, fifty-move rule, insufficient material) score
0. Reference: Chess Programming Wiki (each technique has its page); Marsland & Campbell,
"Parallel search of strongly ordered game trees" (1982) for PVS.

The leaf score comes from a pluggable ``Evaluator`` (classical here, NNUE later) whose
push/pop hooks are called around every move so an incremental evaluator follows the search.
Try it: ``minizero-uci`` then ``position startpos`` / ``go depth 6``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import chess

from minizero.chessgame.evaluator import ClassicalEvaluator, Evaluator

MATE = 32000  # the score of giving mate now; mate in n plies scores MATE - n
MATE_BOUND = MATE - 1000  # scores beyond this (either sign) are mates
INFINITY = 32767
MAX_PLY = 100

EXACT, LOWER, UPPER = 0, 1, 2  # what a transposition-table score is: value, >= it, <= it

# Piece values for move ordering (MVV-LVA) and delta pruning, indexed by piece type 1..6.
ORDER_VALUES = (0, 100, 320, 330, 500, 900, 2000)
PROMOTION_RANKS = chess.BB_RANK_1 | chess.BB_RANK_8


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


@dataclass(frozen=True)
class Limits:
    """When to stop. ``None`` means no limit of that kind; all of None means search forever.

    soft_time: seconds after which no new iteration starts; hard_time: seconds after which the
    search stops at once. mate: stop when a mate in this many moves is found.
    searchmoves: restrict the root to these moves.
    """

    depth: int | None = None
    nodes: int | None = None
    soft_time: float | None = None
    hard_time: float | None = None
    mate: int | None = None
    searchmoves: tuple[chess.Move, ...] = ()


@dataclass
class SearchInfo:
    """One iteration's report (what UCI prints as an ``info`` line). Score: side to move."""

    depth: int
    seldepth: int
    score: int
    nodes: int
    time: float
    hashfull: int
    pv: list[chess.Move]
    multipv: int = 1
    bound: int = EXACT

    @property
    def mate_in(self) -> int | None:
        """Moves to mate (negative: we are mated), or None for a centipawn score."""
        if abs(self.score) < MATE_BOUND:
            return None
        plies = MATE - abs(self.score)
        moves = (plies + 1) // 2
        return moves if self.score > 0 else -moves


@dataclass
class SearchResult:
    """The answer: best move (None when there is no legal move), its score and the PV."""

    best_move: chess.Move | None
    score: int
    depth: int
    nodes: int
    time: float
    pv: list[chess.Move] = field(default_factory=list)

    @property
    def ponder_move(self) -> chess.Move | None:
        return self.pv[1] if len(self.pv) > 1 else None


class SearchAborted(Exception):
    """Raised inside the tree when a limit is hit or stop is requested; caught at the root."""


class TranspositionTable:
    """A fixed-size hash table of search results, sized from a memory budget.

    Slots are a preallocated list indexed by ``key % size``; each entry is the tuple
    (key, depth, bound, score, move). Replacement: a new result replaces the old one unless the
    old one is the same position searched deeper. ``ENTRY_BYTES`` is what one filled slot costs
    in CPython (the tuple and its key), so ``megabytes`` bounds the table's memory.
    """

    ENTRY_BYTES = 144

    def __init__(self, megabytes: int) -> None:
        if megabytes < 1:
            raise ValueError(f"hash size must be at least 1 MiB, got {megabytes}")
        self.size = megabytes * 2**20 // self.ENTRY_BYTES
        self.slots: list[tuple | None] = [None] * self.size

    def clear(self) -> None:
        self.slots = [None] * self.size

    def get(self, key: int) -> tuple | None:
        entry = self.slots[key % self.size]
        return entry if entry is not None and entry[0] == key else None

    def put(self, key: int, depth: int, bound: int, score: int, move: chess.Move | None) -> None:
        index = key % self.size
        old = self.slots[index]
        if old is not None and old[0] == key and old[1] > depth and bound != EXACT:
            return
        self.slots[index] = (key, depth, bound, score, move)

    def hashfull(self) -> int:
        """Permille of the first thousand slots in use (the UCI ``hashfull`` figure)."""
        sample = self.slots[:1000]
        return sum(entry is not None for entry in sample) * 1000 // len(sample)


def position_key(board: chess.Board) -> int:
    """A 64-bit hash of what makes positions the same for repetition (not the clocks).

    python-chess's transposition key tuple (pieces, side to move, castling, en passant) hashed
    by Python: deterministic across runs (integers and tuples are not salted) and ~10x faster
    than ``chess.polyglot.zobrist_hash``.
    """
    return hash(board._transposition_key())


def _square_pair(move: chess.Move | None) -> int:
    return -1 if move is None else move.from_square * 64 + move.to_square


def _first(item: tuple) -> int:
    return item[0]


def _to_table(score: int, ply: int) -> int:
    """Mate scores are stored as distance from the node, not from the root."""
    if score >= MATE_BOUND:
        return score + ply
    if score <= -MATE_BOUND:
        return score - ply
    return score


def _from_table(score: int, ply: int) -> int:
    if score >= MATE_BOUND:
        return score - ply
    if score <= -MATE_BOUND:
        return score + ply
    return score


class Searcher:
    """Iterative-deepening PVS over a python-chess board with a pluggable evaluator.

    One Searcher keeps its transposition table, killers and history between searches (a game);
    call ``new_game()`` between games. ``stop()`` may be called from another thread.
    """

    def __init__(self, evaluator: Evaluator | None = None, config: SearchConfig | None = None):
        self.evaluator = evaluator if evaluator is not None else ClassicalEvaluator()
        self.config = config if config is not None else SearchConfig()
        self.table = TranspositionTable(self.config.hash_mb)
        self.stop_event = threading.Event()
        self.nodes = 0
        self.new_game()

    def new_game(self) -> None:
        self.table.clear()
        self.history_scores = [[0] * 4096 for _ in range(2)]  # [colour][from * 64 + to]
        self.killers: list[list[chess.Move | None]] = [[None, None] for _ in range(MAX_PLY + 2)]

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

        root_entry = self.table.get(position_key(self.board))
        root_moves = [move for move, _ in self._ordered_moves(
            self.board, root_entry[4] if root_entry else None, 0)]
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

        if not lines:  # stopped before depth 1 finished: the best-ordered move still answers
            return SearchResult(root_moves[0], 0, 0, self.nodes, self._elapsed(), [root_moves[0]])
        score, pv = lines[0]
        return SearchResult(pv[0], score, completed_depth, self.nodes, self._elapsed(), pv)

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
        self.table.put(root_key, depth, bound, _to_table(best_score, 0), best_pv[0])
        return best_score, best_pv

    # ------------------------------------------------------------------ the tree
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
        # Draw detection: repetition, fifty-move rule, insufficient material all score 0.
        if self._is_repetition(key, board.halfmove_clock):
            return 0
        if board.halfmove_clock >= 100 and not board.is_checkmate():
            return 0
        if chess.popcount(board.occupied) <= 4 and board.is_insufficient_material():
            return 0
        # Mate distance pruning: no line from here can beat a mate already found nearer the root.
        alpha = max(alpha, -MATE + ply)
        beta = min(beta, MATE - ply - 1)
        if alpha >= beta:
            return alpha
        if ply >= MAX_PLY:
            return self.evaluator.evaluate(board)

        in_check = board.is_check()
        # Check extension: a side in check is searched one ply deeper, so mates are not missed
        # at the horizon and quiescence is never entered in check.
        if in_check and self.config.check_extension:
            depth += 1
        if depth <= 0:
            return self._quiescence(alpha, beta, ply)

        pv_node = beta - alpha > 1
        entry = self.table.get(key)
        table_move = None
        if entry is not None:
            table_move = entry[4]
            # Transposition table cut-off: this position was searched at least as deep before.
            if entry[1] >= depth and not pv_node:
                score = _from_table(entry[3], ply)
                bound = entry[2]
                if (bound == EXACT or (bound == LOWER and score >= beta)
                        or (bound == UPPER and score <= alpha)):
                    return score

        static_eval = None
        if not in_check and not pv_node and abs(beta) < MATE_BOUND:
            static_eval = self.evaluator.evaluate(board)
            # Reverse futility pruning: near the leaves, a position already this far above
            # beta will not fall below it in the few plies left.
            if depth <= 3 and static_eval - self.config.futility_margin * depth >= beta:
                return static_eval
        # Futility pruning (applied to quiet moves below): at the frontier, a position far
        # below alpha cannot be rescued by a quiet move, only by captures and checks.
        futile = (static_eval is not None and depth <= 2
                  and static_eval + self.config.futility_margin * depth <= alpha)

        # Null-move pruning: give the opponent a free move; if we still beat beta with a
        # reduced search, the real moves surely would. Not in check, not in pawn endings
        # (zugzwang), not twice in a row.
        if (allow_null and self.config.null_move and static_eval is not None
                and depth >= 3 and self._has_pieces(board) and static_eval >= beta):
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
            if score >= beta:
                return beta if score >= MATE_BOUND else score

        original_alpha = alpha
        best_score, best_move = -INFINITY, None
        evaluator, path_keys, killers = self.evaluator, self.path_keys, self.killers[ply]
        for index, (move, quiet) in enumerate(self._staged_moves(board, table_move, ply)):
            if futile and quiet and index > 0 and not board.gives_check(move):
                continue
            evaluator.push(board, move)
            board.push(move)
            path_keys.append(key)
            try:
                if index == 0:
                    score = -self._negamax(depth - 1, -beta, -alpha, ply + 1, True)
                else:
                    reduction = 0
                    # Late move reductions: quiet moves ordered late are probably bad; search
                    # them shallower, and again at full depth only if they surprise us.
                    if (self.config.late_move_reductions and quiet and not in_check
                            and depth >= self.config.lmr_min_depth
                            and index >= self.config.lmr_min_moves
                            and not (killers[0] == move or killers[1] == move)
                            and not board.is_check()):
                        reduction = 1 if index < 8 else 2
                    # Principal variation search: null window first, re-search if it fails high.
                    score = -self._negamax(depth - 1 - reduction, -alpha - 1, -alpha, ply + 1, True)
                    if score > alpha and reduction:
                        score = -self._negamax(depth - 1, -alpha - 1, -alpha, ply + 1, True)
                    if alpha < score < beta:
                        score = -self._negamax(depth - 1, -beta, -alpha, ply + 1, True)
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
                            if killers[0] != move:
                                killers[1], killers[0] = killers[0], move
                            colour_history = self.history_scores[board.turn]
                            index_ft = move.from_square * 64 + move.to_square
                            colour_history[index_ft] = min(
                                colour_history[index_ft] + depth * depth, 50_000)
                        break

        if best_move is None:
            return -MATE + ply if in_check else 0  # checkmate (scored by distance) or stalemate
        bound = UPPER if best_score <= original_alpha else (LOWER if best_score >= beta else EXACT)
        self.table.put(key, depth, bound, _to_table(best_score, ply), best_move)
        return best_score

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

        in_check = board.is_check()
        if in_check:
            # In check there is no standing pat: every evasion is searched (mates are seen).
            moves = [move for move, _ in self._ordered_moves(board, None, ply)]
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
            moves = self._ordered_captures(board, stand_pat, alpha)

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

    # ------------------------------------------------------------------ move ordering
    def _staged_moves(
        self, board: chess.Board, table_move: chess.Move | None, ply: int
    ) -> Iterator[tuple[chess.Move, bool]]:
        """Staged move generation: the hash move first, the others only if it did not cut.

        Most cut-offs come from the hash move, and generating and ordering every legal move
        is the most expensive step of a node, so it is put off until it is needed.
        """
        if table_move is not None and board.is_legal(table_move):
            yield table_move, False
            for move, quiet in self._ordered_moves(board, None, ply):
                if move != table_move:
                    yield move, quiet
        else:
            yield from self._ordered_moves(board, None, ply)

    def _ordered_moves(
        self, board: chess.Board, table_move: chess.Move | None, ply: int
    ) -> list[tuple[chess.Move, bool]]:
        """All legal moves, best first: hash move, captures by MVV-LVA, killers, history.

        Returns (move, quiet) pairs; quiet means neither a capture nor a promotion.
        """
        # Moves are compared as from * 64 + to integers: much cheaper than Move.__eq__.
        table = _square_pair(table_move)
        killer_1, killer_2 = (_square_pair(killer) for killer in self.killers[ply])
        history = self.history_scores[board.turn]
        theirs = board.occupied_co[not board.turn]
        piece_type_at = board.piece_type_at
        ep_square = board.ep_square
        scored = []
        for move in board.generate_legal_moves():
            to_square = move.to_square
            pair = move.from_square * 64 + to_square
            if pair == table and move.promotion == table_move.promotion:
                order, quiet = 10_000_000, False
            elif (1 << to_square) & theirs:
                # MVV-LVA: most valuable victim first, least valuable attacker breaks ties.
                order = 1_000_000 + 10 * ORDER_VALUES[piece_type_at(to_square)] \
                    - ORDER_VALUES[piece_type_at(move.from_square)]
                quiet = False
            elif move.promotion:
                order, quiet = 900_000 + ORDER_VALUES[move.promotion], False
            elif to_square == ep_square and board.pawns & (1 << move.from_square):
                order, quiet = 1_000_000 + 9 * ORDER_VALUES[chess.PAWN], False
            elif pair == killer_1:
                order, quiet = 800_000, True
            elif pair == killer_2:
                order, quiet = 700_000, True
            else:
                order, quiet = history[pair], True
            scored.append((order, move, quiet))
        scored.sort(key=_first, reverse=True)
        return [(move, quiet) for _, move, quiet in scored]

    def _ordered_captures(
        self, board: chess.Board, stand_pat: int, alpha: int
    ) -> list[chess.Move]:
        """Legal captures and queen promotions by MVV-LVA, less those delta pruning drops."""
        scored = []
        mine, theirs = board.occupied_co[board.turn], board.occupied_co[not board.turn]
        margin = self.config.delta_margin
        for move in board.generate_legal_moves(mine, theirs):
            if move.promotion not in (None, chess.QUEEN):
                continue
            victim = ORDER_VALUES[board.piece_type_at(move.to_square)]
            gain = victim + (800 if move.promotion else 0)
            # Delta pruning: even winning this material cannot bring the score up to alpha.
            if stand_pat + gain + margin < alpha:
                continue
            scored.append((10 * gain - ORDER_VALUES[board.piece_type_at(move.from_square)], move))
        if board.ep_square is not None:
            for move in board.generate_legal_ep():
                scored.append((9 * ORDER_VALUES[chess.PAWN], move))
        promoting = board.pawns & mine & (chess.BB_RANK_7 if board.turn else chess.BB_RANK_2)
        if promoting:
            for move in board.generate_legal_moves(promoting, PROMOTION_RANKS & ~board.occupied):
                if move.promotion == chess.QUEEN:
                    scored.append((8000, move))
        scored.sort(key=_first, reverse=True)
        return [move for _, move in scored]

    # ------------------------------------------------------------------ helpers
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
        )

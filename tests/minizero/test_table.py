"""The transposition table's contract: what a node stores (value, lower bound, upper bound), when a
stored bound settles a node, mate scores relative to the node, and collisions refused.

The search contract (``search.py``): a node searched in (alpha, beta) returns its value when it
lies inside, a lower bound when it fails high (>= beta), an upper bound when it fails low
(<= alpha); the table must store which one it got, or a later visit with another window takes a
bound for the value. With pruning that depends on the window switched off, a fixed-depth search
gives the same score with the table as without it.
"""

from __future__ import annotations

from pathlib import Path

import chess
import pytest

from minizero.chessgame.classical import ClassicalEvaluator
from minizero.chessgame.ordering import MoveOrdering, ordered_captures
from minizero.chessgame.protocol import EXACT, LOWER, MATE, UPPER, Limits
from minizero.chessgame.search import SearchConfig, Searcher
from minizero.chessgame.table import (
    TableEntry,
    TranspositionTable,
    from_table,
    position_key,
    to_table,
)
from minizero.chessgame.tree import INFINITY, _table_cutoff

OPENINGS = Path(__file__).resolve().parents[2] / "benchmarks" / "openings.fen"
MIDDLEGAME = "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1"
# No pruning that depends on the window: no null move, no reductions, margins out of reach.
PLAIN = SearchConfig(null_move=False, late_move_reductions=False, futility_margin=100_000,
                     delta_margin=100_000)


class NoTable(TranspositionTable):
    """A table that never remembers anything: the search without a transposition table."""

    def get(self, key: int) -> None:
        return None

    def put(self, *entry: object) -> None:
        pass


def prepared(fen: str) -> tuple[Searcher, int]:
    """A searcher set up at ``fen`` (by a depth-1 search) with an empty table; the position's
    depth-4 value from a full-window search."""
    searcher = Searcher(ClassicalEvaluator(), PLAIN)
    board = chess.Board(fen)
    value = searcher.search(board, Limits(depth=4)).score
    searcher.search(board, Limits(depth=1))
    searcher.table.clear()
    return searcher, value


@pytest.mark.parametrize("root", [False, True], ids=["inner-node", "root"])
def test_each_window_stores_the_bound_it_proved(root: bool) -> None:
    searcher, value = prepared(MIDDLEGAME)
    key = position_key(searcher.board)
    moves = list(searcher.board.legal_moves)

    def search(alpha: int, beta: int) -> int:
        searcher.table.clear()
        if root:
            return searcher._search_root(4, alpha, beta, moves)[0]
        return searcher._negamax(4, alpha, beta, 0, True)

    for alpha, beta, bound in ((value + 300, value + 301, UPPER),  # alpha above the value
                               (value - 301, value - 300, LOWER),  # beta below it
                               (-INFINITY, INFINITY, EXACT)):
        score = search(alpha, beta)
        entry = searcher.table.get(key)
        assert entry is not None and entry.depth == 4 and entry.score == score
        assert entry.bound == bound, (alpha, beta, score)
        if bound == UPPER:
            assert score <= alpha
        elif bound == LOWER:
            assert score >= beta
        else:
            assert score == value


def test_a_stored_bound_settles_only_the_windows_it_decides() -> None:
    def cutoff(bound: int, score: int) -> int | None:
        return _table_cutoff(TableEntry(1, 5, bound, score, None), alpha=-50, beta=50, ply=0)

    assert cutoff(EXACT, 10) == 10
    assert cutoff(LOWER, 60) == 60  # at least 60 >= beta: fails high
    assert cutoff(LOWER, -60) is None  # at least -60 says nothing about this window
    assert cutoff(UPPER, -60) == -60  # at most -60 <= alpha: fails low
    assert cutoff(UPPER, 60) is None


def test_fixed_depth_scores_are_the_same_with_and_without_the_table() -> None:
    fens = [line.strip() for line in OPENINGS.read_text().splitlines()
            if line.strip() and not line.startswith("#")][:12]
    fens += [MIDDLEGAME, "8/8/4k3/8/2K5/8/3P4/8 w - - 0 1",
             "r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4"]
    for fen in fens:
        board = chess.Board(fen)
        with_table = Searcher(ClassicalEvaluator(), PLAIN).search(board, Limits(depth=3))
        without = Searcher(ClassicalEvaluator(), PLAIN)
        without.table = NoTable(1)
        assert without.search(board, Limits(depth=3)).score == with_table.score, fen


def test_mate_scores_are_stored_from_the_node() -> None:
    # Mate in 5 plies from the root, seen at ply 3: mate in 2 plies from that node.
    assert to_table(MATE - 5, 3) == MATE - 2
    assert to_table(-(MATE - 5), 3) == -(MATE - 2)
    assert from_table(MATE - 2, 3) == MATE - 5
    assert from_table(-(MATE - 2), 1) == -(MATE - 3)
    assert to_table(250, 7) == from_table(250, 7) == 250


def test_a_colliding_key_is_not_taken_for_the_stored_position() -> None:
    table = TranspositionTable(1)
    table.put(12345, 3, EXACT, 77, None)
    assert table.get(12345).score == 77
    assert table.get(12345 + table.size) is None  # same slot, another position
    table.put(12345 + table.size, 1, LOWER, 5, None)  # and it replaces the old entry
    assert table.get(12345) is None


def plain_alphabeta(searcher: Searcher, board: chess.Board, depth: int, alpha: int, beta: int,
                    ply: int, keys: list[int]) -> int:
    """The oracle: alpha-beta with no table, no null windows, no killers or history and no
    pruning, by the searcher's rules (draws, mate by distance, check extension, the same
    quiescence moves); captures first only so that it finishes in seconds."""
    key = position_key(board)
    first = max(len(keys) - board.halfmove_clock, 0)
    if ply and (any(keys[index] == key for index in range(len(keys) - 4, first - 1, -2))
                or (board.halfmove_clock >= 100 and not board.is_checkmate())
                or (chess.popcount(board.occupied) <= 4 and board.is_insufficient_material())):
        return 0
    in_check = board.is_check()
    depth += in_check
    if depth <= 0:
        return plain_quiescence(searcher, board, alpha, beta, ply)
    best = -INFINITY
    for move, _ in MoveOrdering(0).ordered_moves(board, None, 0):
        keys.append(key)
        board.push(move)
        best = max(best, -plain_alphabeta(searcher, board, depth - 1, -beta, -max(alpha, best),
                                          ply + 1, keys))
        board.pop()
        keys.pop()
        if best >= beta:
            break
    if best == -INFINITY:
        return -MATE + ply if in_check else 0
    return best


def plain_quiescence(searcher: Searcher, board: chess.Board, alpha: int, beta: int,
                     ply: int) -> int:
    if board.is_check():
        best, moves = -INFINITY, list(board.legal_moves)
        if not moves:
            return -MATE + ply
    else:
        best = searcher.evaluator.evaluate(board)  # standing pat
        moves = ordered_captures(board, best, alpha, PLAIN.delta_margin)
    for move in moves:
        if best >= beta:
            break
        board.push(move)
        best = max(best, -plain_quiescence(searcher, board, -beta, -max(alpha, best), ply + 1))
        board.pop()
    return best


def test_the_search_scores_like_a_plain_alpha_beta_of_the_same_depth() -> None:
    """Principal variation search, aspiration windows, the table and move ordering change how
    much is searched, never the value (with pruning that depends on the window off)."""
    fens = [line.strip() for line in OPENINGS.read_text().splitlines()
            if line.strip() and not line.startswith("#")][:4]
    for fen in fens:
        board = chess.Board(fen)
        searcher = Searcher(ClassicalEvaluator(), PLAIN)
        score = searcher.search(board, Limits(depth=3)).score
        assert score == plain_alphabeta(searcher, board, 3, -INFINITY, INFINITY, 0, []), fen

"""Move ordering as ``ordering.py`` teaches it: the hash move, captures by MVV-LVA, promotions,
the two killers of the ply, then the quiet moves by their side's history; quiescence's captures
in the same order, minus those that delta pruning proves useless; history aged by halving.
"""

from __future__ import annotations

import chess

from minizero.chessgame.ordering import HISTORY_LIMIT, MoveOrdering, ordered_captures

# White can take a rook with a pawn or the queen, a knight with either pawn, a pawn with the queen.
CAPTURES = "6k1/8/8/1n1r3p/P1P5/8/8/3Q2K1 w - - 0 1"
MOVE = chess.Move.from_uci


def order(fen: str, ordering: MoveOrdering | None = None, table_move: str | None = None,
          ply: int = 0) -> list[str]:
    ordering = ordering if ordering is not None else MoveOrdering(10)
    board = chess.Board(fen)
    table = MOVE(table_move) if table_move else None
    return [move.uci() for move, _ in ordering.ordered_moves(board, table, ply)]


def test_captures_by_most_valuable_victim_then_least_valuable_attacker() -> None:
    moves = order(CAPTURES)
    # PxR, QxR, PxN (either pawn), QxP: victims first, then the cheaper attacker.
    assert moves[:2] == ["c4d5", "d1d5"]
    assert sorted(moves[2:4]) == ["a4b5", "c4b5"]
    assert moves[4] == "d1h5"


def test_the_hash_move_comes_first_and_quiet_flags_are_right() -> None:
    ordering = MoveOrdering(10)
    board = chess.Board(CAPTURES)
    ordered = ordering.ordered_moves(board, MOVE("g1h2"), 0)
    assert ordered[0] == (MOVE("g1h2"), False)  # the hash move, whatever it is
    assert all(not quiet for _, quiet in ordered[1:6])
    assert all(quiet for _, quiet in ordered[6:])
    staged = [move for move, _ in ordering.staged_moves(board, MOVE("g1h2"), 0)]
    assert staged[0] == MOVE("g1h2") and len(staged) == len(set(staged)) == len(ordered)


def test_killers_follow_every_capture_and_precede_other_quiet_moves() -> None:
    ordering = MoveOrdering(10)
    board = chess.Board(CAPTURES)
    ordering.remember_cutoff(board, MOVE("g1f1"), 3, depth=2)
    ordering.remember_cutoff(board, MOVE("d1e2"), 3, depth=2)
    moves = order(CAPTURES, ordering, ply=3)
    # Even the losing QxP goes before the killers; the newest killer first, both kept.
    assert moves[4:7] == ["d1h5", "d1e2", "g1f1"]
    ordering.remember_cutoff(board, MOVE("d1e2"), 3, depth=2)  # again: not a duplicate
    assert ordering.killers[3] == [MOVE("d1e2"), MOVE("g1f1")]


def test_promotions_come_after_captures_and_before_killers() -> None:
    fen = "1r4k1/P7/8/8/8/8/8/6K1 w - - 0 1"
    ordering = MoveOrdering(10)
    ordering.remember_cutoff(chess.Board(fen), MOVE("g1f1"), 0, depth=3)
    moves = order(fen, ordering)
    assert sorted(moves[:4]) == ["a7b8b", "a7b8n", "a7b8q", "a7b8r"]  # captures first
    assert moves[4:9] == ["a7a8q", "a7a8r", "a7a8b", "a7a8n", "g1f1"]


def test_quiet_moves_follow_their_own_sides_history() -> None:
    ordering = MoveOrdering(10)
    black = chess.Board("6k1/8/8/8/8/8/8/6K1 b - - 0 1")
    white = chess.Board("6k1/8/8/8/8/8/8/6K1 w - - 0 1")
    ordering.remember_cutoff(black, MOVE("g8h8"), 9, depth=3)  # a killer of ply 9 only
    ordering.remember_cutoff(black, MOVE("g8f7"), 9, depth=5)
    ordering.remember_cutoff(white, MOVE("g1h1"), 9, depth=6)
    assert order(black.fen(), ordering)[:2] == ["g8f7", "g8h8"]
    assert order(white.fen(), ordering)[0] == "g1h1"
    assert ordering.history[chess.WHITE][chess.G8 * 64 + chess.F7] == 0


def test_history_ages_by_halving_and_keeps_its_order_past_the_limit() -> None:
    ordering = MoveOrdering(10)
    board = chess.Board(CAPTURES)
    often, less, once = MOVE("g1h1"), MOVE("g1f1"), MOVE("d1c2")
    pair = {move: move.from_square * 64 + move.to_square for move in (often, less, once)}
    ordering.remember_cutoff(board, once, 0, depth=4)
    for index in range(1200):  # 100 per cut-off: far past the limit of 50,000
        ordering.remember_cutoff(board, often, 0, depth=10)
        if index % 10:
            ordering.remember_cutoff(board, less, 0, depth=10)
    history = ordering.history[chess.WHITE]
    assert max(history) <= HISTORY_LIMIT < 700_000  # below the killers' order keys
    assert history[pair[often]] > history[pair[less]] > history[pair[once]] >= 0
    assert history[pair[once]] < 16  # an old cut-off has faded


def test_quiescence_orders_captures_and_prunes_only_hopeless_ones() -> None:
    board = chess.Board(CAPTURES)
    everything = [move.uci() for move in ordered_captures(board, 0, -1000, 200)]
    assert everything[:2] == ["c4d5", "d1d5"] and everything[-1] == "d1h5"
    assert len(everything) == 5
    # Standing at 0 and needing 600: a rook (500 + margin 200) may get there, a pawn cannot.
    hopeful = [move.uci() for move in ordered_captures(board, 0, 600, 200)]
    assert hopeful == ["c4d5", "d1d5"]

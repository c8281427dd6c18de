"""The alpha-beta searcher against oracles: brute-force mate finders, the rules of draws."""

from __future__ import annotations

import subprocess
import sys

import chess
import pytest

from minizero.chessgame.classical import (
    FULL_PHASE,
    PACKED_TABLES,
    TEMPO,
    ClassicalEvaluator,
    unpack,
)
from minizero.chessgame.evaluator import Evaluator
from minizero.chessgame.protocol import MATE, Limits
from minizero.chessgame.search import SearchConfig, Searcher
from minizero.chessgame.table import TranspositionTable, position_key


def classical(config: SearchConfig | None = None) -> Searcher:
    return Searcher(ClassicalEvaluator(), config)


def mates_in(board: chess.Board, moves: int) -> bool:
    """Oracle: can the side to move force mate within ``moves`` moves? (plain brute force)"""
    for move in list(board.legal_moves):
        board.push(move)
        try:
            if board.is_checkmate():
                return True
            if moves > 1 and not board.is_game_over() and all(
                    _reply_loses(board, reply, moves - 1) for reply in list(board.legal_moves)):
                return True
        finally:
            board.pop()
    return False


def _reply_loses(board: chess.Board, reply: chess.Move, moves: int) -> bool:
    board.push(reply)
    try:
        return mates_in(board, moves)
    finally:
        board.pop()


MATE_IN_ONE = [
    "6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1",  # back rank
    "r1bqkbnr/pppp1ppp/2n5/4p3/2B1P3/5Q2/PPPP1PPP/RNB1K1NR w KQkq - 2 3",  # scholar's mate
    "3r2k1/8/8/8/8/8/5PPP/6K1 b - - 0 1",  # black mates on the back rank
    "7k/P7/6K1/8/8/8/8/8 w - - 0 1",  # mate by promotion
]
MATE_IN_TWO = [
    "7k/8/8/8/8/8/R7/1R4K1 w - - 0 1",  # the rook ladder
    "1k6/r7/1r6/8/8/8/8/7K b - - 0 1",  # the same for Black
    "6k1/8/8/8/8/8/1R6/R5K1 w - - 0 1",  # the ladder on the other wing
]


@pytest.mark.parametrize("fen", MATE_IN_ONE)
def test_mate_in_one(fen: str) -> None:
    board = chess.Board(fen)
    assert mates_in(board, 1)
    result = classical().search(board, Limits(depth=3))
    board.push(result.best_move)
    assert board.is_checkmate()
    assert result.score == MATE - 1


@pytest.mark.parametrize("fen", MATE_IN_TWO)
def test_mate_in_two(fen: str) -> None:
    board = chess.Board(fen)
    assert mates_in(board, 2) and not mates_in(board, 1)
    result = classical().search(board, Limits(depth=5))
    assert result.score == MATE - 3
    board.push(result.best_move)
    assert all(_reply_loses(board, reply, 1) for reply in list(board.legal_moves))


def test_being_mated_is_scored_by_distance() -> None:
    board = chess.Board("7k/8/8/8/8/8/R7/1R4K1 w - - 0 1")
    board.push_uci("a2a7")
    result = classical().search(board, Limits(depth=4))
    assert result.score == -(MATE - 2)


def test_fifty_move_rule_is_a_draw() -> None:
    # Every White move is quiet, so each one brings the clock to 100 halfmoves.
    drawn = classical().search(chess.Board("8/8/8/4k3/8/8/8/R3K3 w - - 99 80"), Limits(depth=4))
    assert drawn.score == 0
    fresh = classical().search(chess.Board("8/8/8/4k3/8/8/8/R3K3 w - - 0 80"), Limits(depth=4))
    assert fresh.score > 300


def test_perpetual_check_is_a_draw() -> None:
    # White is down a lot of material but checks forever from f6 and g5.
    board = chess.Board("nn3r1k/pppp1p1p/8/6Q1/8/8/5PPP/6K1 w - - 0 1")
    result = classical().search(board, Limits(depth=6))
    assert result.score == 0
    assert result.best_move == chess.Move.from_uci("g5f6")


def test_repetition_in_game_history_counts() -> None:
    # After 1. Nf3 Nf6 2. Ng1, Black's Ng8 brings back the start position: a repetition the
    # search sees through the game history that came with the board.
    board = chess.Board()
    for move in ["g1f3", "g8f6", "f3g1"]:
        board.push_uci(move)
    searcher = classical()
    searcher.search(board, Limits(depth=1))
    searcher.path_keys.append(position_key(board))  # as when the root moves
    board.push_uci("f6g8")
    assert searcher._is_repetition(position_key(board), board.halfmove_clock)
    board.pop()
    board.push_uci("b8c6")
    assert not searcher._is_repetition(position_key(board), board.halfmove_clock)


def test_insufficient_material_and_stalemate_are_draws() -> None:
    assert classical().search(chess.Board("8/8/8/4k3/8/8/8/2B1K3 w - - 0 1"), Limits(depth=3)
                             ).score == 0
    stalemate = classical().search(chess.Board("7k/5Q2/6K1/8/8/8/8/8 b - - 0 1"), Limits(depth=2))
    assert stalemate.best_move is None and stalemate.score == 0


def test_no_legal_move_when_mated() -> None:
    result = classical().search(chess.Board("R5k1/5ppp/8/8/8/8/5PPP/6K1 b - - 0 1"))
    assert result.best_move is None and result.score == -MATE


def test_searchmoves_restricts_the_root() -> None:
    board = chess.Board()
    only = (chess.Move.from_uci("a2a3"),)
    assert classical().search(board, Limits(depth=3, searchmoves=only)).best_move == only[0]


def test_node_limit_is_deterministic_and_respected() -> None:
    board = chess.Board("r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4")
    first = classical().search(board, Limits(nodes=3000))
    second = classical().search(board, Limits(nodes=3000))
    assert (first.best_move, first.score, first.pv) == (second.best_move, second.score, second.pv)
    assert first.nodes == 3000


def test_board_is_left_untouched() -> None:
    board = chess.Board("r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4")
    fen = board.fen()
    classical().search(board, Limits(depth=3))
    assert board.fen() == fen


def test_multipv_lines_are_distinct_and_sorted() -> None:
    infos = []
    classical().search(chess.Board(), Limits(depth=3), on_info=infos.append, multipv=3)
    last = [info for info in infos if info.depth == 3]
    assert [info.multipv for info in last] == [1, 2, 3]
    assert len({info.pv[0] for info in last}) == 3
    assert last[0].score >= last[1].score >= last[2].score


class FollowingEvaluator(Evaluator):
    """Keeps its own board through the push/pop hooks and checks it against the search's."""

    def __init__(self) -> None:
        self.inner = ClassicalEvaluator()
        self.calls = 0

    def reset(self, board: chess.Board) -> None:
        self.board = board.copy(stack=False)

    def push(self, board: chess.Board, move: chess.Move) -> None:
        assert board.board_fen() == self.board.board_fen()
        self.board.push(move)

    def pop(self) -> None:
        self.board.pop()

    def evaluate(self, board: chess.Board) -> int:
        self.calls += 1
        assert board.board_fen() == self.board.board_fen() and board.turn == self.board.turn
        return self.inner.evaluate(board)


def test_push_pop_hooks_follow_the_search() -> None:
    evaluator = FollowingEvaluator()
    board = chess.Board("r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4")
    Searcher(evaluator).search(board, Limits(depth=4))
    assert evaluator.calls > 100
    assert evaluator.board.board_fen() == board.board_fen()


def test_aborted_search_keeps_hooks_balanced() -> None:
    evaluator = FollowingEvaluator()
    board = chess.Board()
    result = Searcher(evaluator).search(board, Limits(nodes=777))
    assert result.best_move in board.legal_moves
    assert evaluator.board.board_fen() == board.board_fen()


def test_classical_evaluation_is_colour_symmetric() -> None:
    evaluator = ClassicalEvaluator()
    for fen in ["r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4",
                "8/5k2/3p4/1p1Pp2p/pP2Pp1P/P4P1K/8/8 b - - 0 1", chess.STARTING_FEN]:
        board = chess.Board(fen)
        assert evaluator.evaluate(board) == evaluator.evaluate(board.mirror())


def test_material_counts() -> None:
    evaluator = ClassicalEvaluator()
    up_a_queen = chess.Board("rnb1kbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1")
    assert evaluator.evaluate(up_a_queen) > 800
    assert evaluator.evaluate(chess.Board(up_a_queen.fen().replace(" w ", " b "))) < -800


def test_the_game_phase_counts_minors_1_rooks_2_queens_4() -> None:
    """The tapered score of a White-to-move position with a given phase, from the tables."""
    def tapered(fen: str, phase: int) -> int:
        board = chess.Board(fen)
        packed = sum(PACKED_TABLES[piece.color][piece.piece_type][square]
                     for square, piece in board.piece_map().items())
        middlegame, endgame = unpack(packed)
        return (middlegame * phase + endgame * (FULL_PHASE - phase)) // FULL_PHASE + TEMPO

    evaluator = ClassicalEvaluator()
    for fen, phase in (("4k3/8/8/8/8/8/8/3QK3 w - - 0 1", 4), ("4k3/8/8/8/8/8/8/R3K3 w - - 0 1", 2),
                       ("1n2k3/8/8/8/8/8/8/2B1K3 w - - 0 1", 2),
                       ("r3k3/8/8/8/8/8/8/1N1QK3 w - - 0 1", 7)):
        assert evaluator.evaluate(chess.Board(fen)) == tapered(fen, phase), fen


def test_null_move_needs_a_piece_besides_pawns() -> None:
    """Zugzwang is common in pawn endings, where passing would be the best move: no null move."""
    assert not Searcher._has_pieces(chess.Board("4k3/4p3/8/8/8/8/4P3/4K3 w - - 0 1"))
    assert Searcher._has_pieces(chess.Board("4k3/4p3/8/8/8/8/4P3/4KN2 w - - 0 1"))
    assert not Searcher._has_pieces(chess.Board("4k3/4p3/8/8/8/8/4P3/4KN2 b - - 0 1"))


def test_transposition_table_has_a_fixed_budget() -> None:
    table = TranspositionTable(1)
    assert table.size == 2**20 // TranspositionTable.ENTRY_BYTES
    for key in range(3 * table.size):
        table.put(key, 1, 0, 0, None)
    assert len(table.slots) == table.size and table.hashfull() == 1000
    with pytest.raises(ValueError):
        TranspositionTable(0)


def test_config_switches_work() -> None:
    plain = SearchConfig(null_move=False, late_move_reductions=False, check_extension=False)
    result = classical(plain).search(chess.Board(MATE_IN_TWO[0]), Limits(depth=4))
    assert result.score == MATE - 3


def test_fixed_depth_node_counts_are_the_same_in_every_process() -> None:
    # The position key once hashed a tuple holding None (no en-passant square), whose hash
    # changes from one Python 3.11 process to the next: with a small table, whose slots then
    # collided differently, node counts differed (8,373 / 8,108 / 8,541 from the start).
    script = (
        "import chess\n"
        "from minizero.chessgame.classical import ClassicalEvaluator\n"
        "from minizero.chessgame.protocol import Limits\n"
        "from minizero.chessgame.search import SearchConfig, Searcher\n"
        "for fen in [chess.STARTING_FEN, "
        "'r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4']:\n"
        "    searcher = Searcher(ClassicalEvaluator(), SearchConfig(hash_mb=1))\n"
        "    print(searcher.search(chess.Board(fen), Limits(depth=5)).nodes)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0].split()) == 2

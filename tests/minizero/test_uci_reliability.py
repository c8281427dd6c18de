"""What a GUI in a timed game relies on: a bounded search whatever the go line, progress reports,
an info line that matches the answer, a quiet exit when the GUI goes away; and the pruning rules
of the search that a wrong guard would silently break (no null move, no static cut in check)."""

from __future__ import annotations

import subprocess
import sys
import time

import chess
import pytest

from minizero.chessgame.classical import ClassicalEvaluator
from minizero.chessgame.protocol import MATE_BOUND, Limits
from minizero.chessgame.search import Searcher
from tests.minizero.test_uci import bestmove, server

MIDDLE_GAME = "r1bq1rk1/pp2bppp/2n1pn2/3p4/2PP4/2N1PN2/PP1B1PPP/R2QKB1R w KQ - 0 9"


@pytest.mark.parametrize("go", ["go depth 0", "go movetime -5", "go nodes -1", "go mate 0",
                                "go wtime abc", "go btime 5000 wtime abc",
                                "go searchmoves e2e5 zz9"])
def test_a_go_whose_only_limit_is_invalid_still_ends(go: str) -> None:
    engine, sink = server()
    engine.handle("position startpos moves e2e4")
    started = time.perf_counter()
    engine.handle(go)
    assert "ignored" in sink.wait_for("info string")
    move = bestmove(engine, sink)  # no stop sent: the search must end on its own
    assert move in engine.board.legal_moves
    assert time.perf_counter() - started < 10


def test_a_plain_go_infinite_still_waits_for_stop() -> None:
    engine, sink = server()
    engine.handle("go infinite")
    time.sleep(1.5)
    assert not any(line.startswith("bestmove") for line in sink.lines)
    engine.handle("stop")
    bestmove(engine, sink)


def test_long_iterations_report_the_move_being_searched_and_the_last_pv_is_the_answer() -> None:
    engine, sink = server()
    engine.handle(f"position fen {MIDDLE_GAME}")
    engine.handle("go movetime 2500")
    deadline = time.monotonic() + 20
    while not any(line.startswith("bestmove") for line in sink.lines):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lines = list(sink.lines)
    move = bestmove(engine, sink)
    info_lines = [line for line in lines if line.startswith("info depth") and " pv " in line]
    current = [line.split() for line in lines if " currmove " in line]
    assert current, lines
    board = chess.Board(MIDDLE_GAME)
    for words in current:
        assert chess.Move.from_uci(words[words.index("currmove") + 1]) in board.legal_moves
        assert int(words[words.index("currmovenumber") + 1]) >= 1
    assert len(info_lines) == len(set(info_lines)), "an info line was sent twice"
    last_pv = info_lines[-1].split(" pv ")[1].split()
    assert chess.Move.from_uci(last_pv[0]) == move


def test_the_engine_exits_quietly_when_the_gui_closes_its_output() -> None:
    process = subprocess.Popen([sys.executable, "-m", "minizero.chessgame.engine"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("position startpos\ngo infinite\n")
    process.stdin.flush()
    while not process.stdout.readline().startswith("info depth 2"):
        pass
    process.stdout.close()  # the GUI stops reading in the middle of the search
    time.sleep(1.0)  # the search keeps writing info lines into the closed pipe
    process.stdin.write("stop\n")
    process.stdin.flush()
    process.stdin.write("quit\n")
    process.stdin.close()
    error = process.stderr.read()
    assert process.wait(timeout=20) == 0
    assert "Traceback" not in error and "BrokenPipe" not in error, error


class CheckSpy(ClassicalEvaluator):
    """The classical evaluator, counting what the search must never do in check."""

    def __init__(self) -> None:
        super().__init__()
        self.null_moves_in_check = 0
        self.static_evaluations_in_check = 0

    def push(self, board: chess.Board, move: chess.Move) -> None:
        if move == chess.Move.null() and board.is_check():
            self.null_moves_in_check += 1
        super().push(board, move)

    def evaluate(self, board: chess.Board) -> int:
        if board.is_check():
            self.static_evaluations_in_check += 1
        return super().evaluate(board)


@pytest.mark.parametrize("fen", [
    "r1bqkb1r/pppp1ppp/2n2n2/4p2Q/2B1P3/8/PPPP1PPP/RNB1K1NR w KQkq - 4 4",
    "r2qk2r/ppp2ppp/2np1n2/2b1p1B1/2B1P1b1/2NP1N2/PPP2PPP/R2QK2R w KQkq - 0 7",
    "6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1",
    MIDDLE_GAME,
])
def test_null_move_and_futility_are_never_tried_in_check(fen: str) -> None:
    """No null move and no static evaluation (reverse futility, futility, null-move test) in
    check: a side in check has no 'pass' and its static score means nothing."""
    spy = CheckSpy()
    Searcher(spy).search(chess.Board(fen), Limits(depth=5))
    assert spy.null_moves_in_check == 0
    assert spy.static_evaluations_in_check == 0


@pytest.mark.parametrize("fen, mate", [
    ("8/1p3Qb1/p5pk/P1p1p1p1/1P2P1P1/2P1N2n/5P1P/4qB1K w - - 1 1", "e3f5"),
    ("3rrk2/2p2pR1/p4n2/1p1PpP2/2p2q1P/3P1BQ1/PPP5/6RK w - - 1 1", "g7f7"),
])
def test_check_extension_sees_a_mate_in_two_at_depth_two(fen: str, mate: str) -> None:
    """A mate in two by checks: the extension searches the checked side one ply deeper, so a
    two-ply search already reaches the mating move (measured: without it, it does not)."""
    result = Searcher(ClassicalEvaluator()).search(chess.Board(fen), Limits(depth=2))
    assert result.best_move == chess.Move.from_uci(mate)
    assert result.score >= MATE_BOUND


def test_quiescence_stands_pat_at_once_when_already_above_beta() -> None:
    """Stand pat: a side whose static score already beats beta may decline every capture, so
    the quiescence search returns without looking at any (one node), captures on the board or
    not. Without the cut-off the values would be the same, only the search slower."""
    fen = "r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4"
    searcher = Searcher(ClassicalEvaluator())
    searcher.search(chess.Board(fen), Limits(depth=1))  # sets up the root board and evaluator
    static = searcher.evaluator.evaluate(searcher.board)
    searcher.nodes = 0
    assert searcher._quiescence(static - 200, static - 100, 0) == static
    assert searcher.nodes == 1

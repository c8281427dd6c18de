"""The engines with endgame tables: a best move by them at the root, exact scores inside the
search, tbhits, the options, and perfect play against a perfect defender."""

from __future__ import annotations

import random
from pathlib import Path

import chess
import chess.engine
import chess.syzygy
import pytest

from minizero.chessgame.engine import classical_engine
from minizero.chessgame.protocol import MATE, Limits
from minizero.chessgame.tablebase.oracle import SYZYGY_WIN
from minizero.chessgame.tablebase.probe import Tablebase
from minizero.chessgame.uci import UciServer
from tests.helpers import UciLines
from tests.minizero.chessgame.conftest import DATA

WON_KQKR = "8/8/8/3k4/8/8/1r6/KQ6 w - - 0 1"  # the queen wins: no capture of her in one move


def engine_with_tables(directory: Path):
    engine = classical_engine()
    engine.set_option("TablebasePath", str(directory))
    return engine


def test_root_plays_a_fastest_mate_and_reports_it(tablebase_dir: Path) -> None:
    tablebase = Tablebase(tablebase_dir)
    board = chess.Board(WON_KQKR)
    value = tablebase.probe(board)
    assert value is not None and value > 0
    best = {move for move, _ in tablebase.best_moves(board)}
    reports = []
    result = engine_with_tables(tablebase_dir).search(board, Limits(depth=6), reports.append)
    assert result.best_move in best and result.score == value
    assert reports[-1].tbhits > 0 and reports[-1].mate_in == (MATE - value + 1) // 2
    line = board.copy()
    for move in result.pv:  # the principal variation is legal and follows the tables
        assert move in line.legal_moves
        line.push(move)


def test_the_losing_side_resists_longest(tablebase_dir: Path) -> None:
    tablebase = Tablebase(tablebase_dir)
    board = chess.Board(WON_KQKR)
    board.push(tablebase.best_moves(board)[0][0])
    longest = {move for move, _ in tablebase.best_moves(board)}
    result = engine_with_tables(tablebase_dir).search(board, Limits(depth=4))
    assert result.best_move in longest and result.score < 0


def test_inside_the_search_a_table_position_scores_exactly(tablebase_dir: Path) -> None:
    """With MultiPV 2 the root is searched (the root rule answers one line only): each root
    move's score comes from the tables one ply down, exactly."""
    board = chess.Board(WON_KQKR)
    tablebase = Tablebase(tablebase_dir)
    scored = dict(tablebase.probe_moves(board))
    reports = []
    result = engine_with_tables(tablebase_dir).search(board, Limits(depth=3), reports.append,
                                                      multipv=2)
    assert result.score == max(scored.values())
    depth_three = [info for info in reports if info.depth == 3]
    assert [info.score for info in depth_three] == sorted(scored.values(), reverse=True)[:2]
    assert all(info.tbhits > 0 for info in depth_three)


def test_perfect_play_mates_in_exactly_the_tables_distance(tablebase_dir: Path) -> None:
    """The engine (winning side, with tables) against a perfect defender: mate in exactly the
    table's distance from each of a few random won positions."""
    tablebase = Tablebase(tablebase_dir)
    engine = engine_with_tables(tablebase_dir)
    rng = random.Random(5)
    played = 0
    while played < 4:
        board = chess.Board(None)
        squares = rng.sample(range(64), 4)
        for square, piece in zip(squares, ("K", "k", "Q", "r")):
            board.set_piece_at(square, chess.Piece.from_symbol(piece))
        value = tablebase.probe(board) if board.is_valid() else None
        if value is None or value <= 0:
            continue
        for _ in range(MATE - value):
            if board.turn == chess.WHITE:
                board.push(engine.search(board, Limits(nodes=200)).best_move)
            else:
                board.push(tablebase.best_moves(board)[0][0])
        assert board.is_checkmate()
        played += 1


def test_a_table_not_built_is_named_once_and_the_search_goes_on(tmp_path: Path) -> None:
    engine = engine_with_tables(tmp_path)
    board = chess.Board(WON_KQKR)
    reports = []
    result = engine.search(board, Limits(depth=3), reports.append)
    assert result.best_move in board.legal_moves
    messages = [info.text for info in reports if info.text]
    assert messages == [f"tablebase KQvKR not built; build with: minizero tablebase build "
                        f"--all 4 --out {tmp_path}"]
    named = {"KQvKR"}
    for _ in range(2):  # tables met inside the search are named at the next move, each once
        reports.clear()
        engine.search(board, Limits(depth=3), reports.append)
        for text in (info.text for info in reports if info.text):
            tables = set(text.split(" not built")[0].removeprefix("tablebase ").split(", "))
            assert not tables & named
            named |= tables
    assert named == {"KQvKR", "KQvK", "KRvK"}


def test_syzygy_files_through_syzygypath(tmp_path: Path) -> None:
    """With the DTZ files the root rule plays a winning move; with the WDL files alone the
    search scores its positions by them (one ply down from the root)."""
    engine = classical_engine()
    engine.set_option("Tablebases", False)
    engine.set_option("SyzygyPath", str(DATA / "syzygy"))
    board = chess.Board(WON_KQKR)
    result = engine.search(board, Limits(depth=4))
    assert result.score == SYZYGY_WIN
    after = board.copy()
    after.push(result.best_move)
    assert chess.syzygy.open_tablebase(str(DATA / "syzygy")).probe_wdl(after) == -2
    wdl_only = tmp_path / "wdl"
    wdl_only.mkdir()
    for path in (DATA / "syzygy").glob("*.rtbw"):
        (wdl_only / path.name).symlink_to(path)
    engine.set_option("SyzygyPath", str(wdl_only))
    result = engine.search(board, Limits(depth=3))
    assert result.score == SYZYGY_WIN - 1
    after = board.copy()
    after.push(result.best_move)
    assert chess.syzygy.open_tablebase(str(DATA / "syzygy")).probe_wdl(after) == -2
    with pytest.raises(ValueError, match="not a folder"):
        engine.set_option("SyzygyPath", str(DATA / "missing"))
    with pytest.raises(ValueError, match="no Syzygy tables"):
        engine.set_option("SyzygyPath", str(DATA / "gaviota"))


def test_uci_options_and_tbhits_on_the_wire(tablebase_dir: Path) -> None:
    sink = UciLines()
    server = UciServer(classical_engine(), output=sink)
    server.handle("uci")
    sink.wait_for("option name Tablebases type check default true")
    sink.wait_for("option name TablebasePath type string default")
    sink.wait_for("option name SyzygyPath type string default <empty>")
    server.handle(f"setoption name TablebasePath value {tablebase_dir}")
    server.handle("setoption name SyzygyPath value /no/such/folder")
    assert "not a folder" in sink.wait_for("info string")
    server.handle(f"position fen {WON_KQKR}")
    server.handle("go movetime 500")
    info = sink.wait_for("info depth")
    assert " score mate " in info and " tbhits " in info
    sink.wait_for("bestmove")


def test_zero_uci_plays_the_tables_move(tablebase_dir: Path) -> None:
    from minizero.chessgame.puct_engine import PuctEngine

    engine = PuctEngine()
    engine.set_option("TablebasePath", str(tablebase_dir))
    board = chess.Board(WON_KQKR)
    best = {move for move, _ in Tablebase(tablebase_dir).best_moves(board)}
    result = engine.search(board, Limits(nodes=32))
    assert result.best_move in best and result.score > MATE - 100


def test_with_syzygy_the_losing_side_resists_longest() -> None:
    """The root rule with the DTZ files, for the losing side: a move that keeps the most plies
    to the next capture or pawn move (the longest resistance Syzygy can see)."""
    syzygy = chess.syzygy.open_tablebase(str(DATA / "syzygy"))
    engine = classical_engine()
    engine.set_option("Tablebases", False)
    engine.set_option("SyzygyPath", str(DATA / "syzygy"))
    board = chess.Board(WON_KQKR)
    board.push(engine.search(board, Limits(depth=4)).best_move)
    distances = {}
    for move in board.legal_moves:
        if board.is_zeroing(move):
            continue
        board.push(move)
        if syzygy.probe_wdl(board) == 2:
            distances[move] = abs(syzygy.probe_dtz(board))
        board.pop()
    assert len(set(distances.values())) > 1  # the choice matters here
    result = engine.search(board, Limits(depth=4))
    assert result.best_move in distances and result.score < 0
    assert distances[result.best_move] == max(distances.values())

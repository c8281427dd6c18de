"""The tables against Syzygy (win/draw/loss), Gaviota (distance to mate), the python-chess
solver, and the published longest mates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import chess
import chess.gaviota
import chess.syzygy
import numpy as np
import pytest

from minizero.chessgame.protocol import MATE
from minizero.chessgame.tablebase.index import decode, layout_of, slot_arrays
from minizero.chessgame.tablebase.naive import canonical, naive_solve
from minizero.chessgame.tablebase.probe import Tablebase
from minizero.chessgame.tablebase.signature import all_signatures, parse_signature
from minizero.chessgame.tablebase.solver import BROKEN
from minizero.chessgame.tablebase.storage import load_table, table_path
from tests.minizero.chessgame.conftest import DATA, FOUR_MEN


def positions(directory: Path, name: str, every: int = 1) -> Iterator[tuple[chess.Board, int]]:
    """Every ``every``-th position of a built table, as a board, with its stored value."""
    signature = parse_signature(name)
    values = load_table(table_path(directory, signature), signature)
    layout = layout_of(signature)
    kinds, colours = slot_arrays(signature)
    squares = np.zeros(4, np.int64)
    pieces = [chess.Piece(int(kinds[slot]), bool(colours[slot])) for slot in range(4)]
    board = chess.Board(None)
    for index in np.flatnonzero(values != BROKEN)[::every]:
        turn = decode(layout, int(index), squares)
        board.clear_board()
        for slot in range(signature.men):
            board.set_piece_at(int(squares[slot]), pieces[slot])
        board.turn = bool(turn)
        yield board, int(values[index])


def sign(value: int) -> int:
    return (value > 0) - (value < 0)


def plies_to_mate(value: int) -> int:
    """Gaviota's convention: plies to mate, negative when the side to move is mated; 0 draw."""
    return 0 if value == 0 else (MATE - value if value > 0 else -(MATE + value))


@pytest.mark.slow
@pytest.mark.parametrize("name", [s.name for s in all_signatures(3)])
def test_every_three_man_position_matches_syzygy_and_gaviota(tablebase_dir: Path,
                                                            name: str) -> None:
    syzygy = chess.syzygy.open_tablebase(str(DATA / "syzygy"))
    gaviota = chess.gaviota.open_tablebase(str(DATA / "gaviota"))
    count = 0
    for board, value in positions(tablebase_dir, name):
        assert sign(value) == sign(syzygy.probe_wdl(board)), board.fen()
        dtm = gaviota.probe_dtm(board)
        if board.is_checkmate():
            assert value == -MATE and dtm == 0, board.fen()
        else:
            assert plies_to_mate(value) == dtm, board.fen()
        count += 1
    assert count > 40_000


@pytest.mark.parametrize("name", FOUR_MEN)
def test_a_sample_of_four_man_positions_matches_syzygy(tablebase_dir: Path, name: str) -> None:
    syzygy = chess.syzygy.open_tablebase(str(DATA / "syzygy"))
    results = []
    for board, value in positions(tablebase_dir, name, every=997):
        assert sign(value) == sign(syzygy.probe_wdl(board)), board.fen()
        results.append(sign(value))
    assert len(results) > 1000 and len(set(results)) >= 2


# Longest mates in moves, as published for these tables (e.g. in the Nalimov/Gaviota statistics).
LONGEST_MATES = {"KQvK": 10, "KRvK": 16, "KBBvK": 19, "KBNvK": 33, "KQvKR": 35, "KRvKN": 40}


@pytest.mark.parametrize("name", sorted(LONGEST_MATES))
def test_longest_mates_are_the_published_ones_and_replay(tablebase_dir: Path, name: str) -> None:
    """The table's hardest position, played out by the tables for both sides, ends in mate
    after exactly its distance."""
    from minizero.chessgame.tablebase.storage import read_header

    signature = parse_signature(name)
    header, _ = read_header(table_path(tablebase_dir, signature), signature)
    plies = header["statistics"]["longest_mate_plies"]
    assert (plies + 1) // 2 == LONGEST_MATES[name]
    board = chess.Board(header["statistics"]["longest_mate_fen"])
    tablebase = Tablebase(tablebase_dir)
    assert tablebase.probe(board) == MATE - plies
    for _ in range(plies):
        best = tablebase.best_moves(board)
        assert best is not None
        board.push(best[0][0])
    assert board.is_checkmate()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["KQvK", "KRvK"])
def test_the_python_chess_solver_agrees_on_every_position(tablebase_dir: Path,
                                                          name: str) -> None:
    naive = naive_solve(name)
    seen = 0
    for board, value in positions(tablebase_dir, name):
        white_king = board.king(chess.WHITE)
        black_king = board.king(chess.BLACK)
        piece = next(iter(chess.scan_forward(board.occupied & ~board.kings)))
        assert naive[canonical((white_king, black_king, piece, board.turn))] == value, board.fen()
        seen += 1
    assert seen == len(naive)  # the same positions, one each


@pytest.mark.parametrize("name", ["KQvKR", "KRvKN"])
def test_the_colour_swapped_position_probes_the_same(tablebase_dir: Path, name: str) -> None:
    """The tables hold the stronger side as White; a probe of the mirrored position (Black
    the stronger side, the other side to move) gives the same value, and Syzygy agrees."""
    syzygy = chess.syzygy.open_tablebase(str(DATA / "syzygy"))
    tablebase = Tablebase(tablebase_dir)
    results = set()
    for board, value in positions(tablebase_dir, name, every=4999):
        mirrored = board.mirror()
        assert tablebase.probe(mirrored) == value, mirrored.fen()
        assert sign(value) == sign(syzygy.probe_wdl(mirrored)), mirrored.fen()
        results.add(sign(value))
    assert len(results) >= 2

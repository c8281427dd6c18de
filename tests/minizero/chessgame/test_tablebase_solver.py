"""Pieces of the solver on their own: the value arithmetic, en passant twins, file errors."""

from __future__ import annotations

import random

import chess
import numpy as np

from minizero.chessgame.protocol import MATE
from minizero.chessgame.tablebase.index import decode, encode, layout_of, slot_arrays, table_size
from minizero.chessgame.tablebase.signature import parse_signature
from minizero.chessgame.tablebase.solver import (
    BROKEN,
    _find_twins,
    _mark_positions,
    back,
)


def test_back_adds_one_ply_and_turns_the_side() -> None:
    assert back(-MATE) == MATE - 1  # the move mates
    assert back(MATE - 1) == -(MATE - 2)  # the opponent mates next move
    assert back(-(MATE - 4)) == MATE - 5
    assert back(0) == 0


def test_en_passant_twins_are_exactly_the_positions_python_chess_gives_the_right() -> None:
    signature = parse_signature("KPvKP")
    layout = layout_of(signature)
    kinds, colours = slot_arrays(signature)
    values = np.empty(table_size(layout), np.int16)
    _mark_positions(layout, kinds, colours, values)
    twin_of = np.full(len(values), -1, np.int64)
    bases, squares_of = _find_twins(layout, kinds, colours, values, twin_of)
    assert 1000 < len(bases) < 100_000
    squares = np.zeros(4, np.int64)
    for twin in range(0, len(bases), 7):
        turn = decode(layout, int(bases[twin]), squares)
        board = chess.Board(None)
        for slot, (colour, piece) in enumerate(signature.pieces()):
            board.set_piece_at(int(squares[slot]), chess.Piece(piece, colour))
        board.turn = bool(turn)
        board.ep_square = int(squares_of[twin])
        assert board.has_legal_en_passant(), board.fen()
        before = board.copy()
        pawn = board.ep_square + (8 if board.turn == chess.BLACK else -8)
        before.remove_piece_at(pawn)
        before.set_piece_at(board.ep_square - (pawn - board.ep_square),
                            chess.Piece(chess.PAWN, not board.turn))
        before.turn = not board.turn
        before.ep_square = None
        assert before.is_valid(), before.fen()
    # the other way: double steps played by python-chess that allow en passant land on twins
    rng = random.Random(3)
    found = 0
    while found < 300:
        board = chess.Board(None)
        white_king, black_king = rng.sample(range(64), 2)
        file = rng.randrange(8)
        side = rng.choice([-1, 1])
        if not 0 <= file + side < 8:
            continue
        white_pawn, black_pawn = chess.square(file, 1), chess.square(file + side, 3)
        if len({white_king, black_king, white_pawn, black_pawn, white_pawn + 8,
                white_pawn + 16}) < 6:
            continue
        for square, piece in ((white_king, chess.Piece(chess.KING, chess.WHITE)),
                              (black_king, chess.Piece(chess.KING, chess.BLACK)),
                              (white_pawn, chess.Piece(chess.PAWN, chess.WHITE)),
                              (black_pawn, chess.Piece(chess.PAWN, chess.BLACK))):
            board.set_piece_at(square, piece)
        if not board.is_valid():
            continue
        board.push(chess.Move(white_pawn, white_pawn + 16))
        if not board.is_valid():
            continue
        index = encode(layout, np.array([white_king, black_king, white_pawn + 16, black_pawn],
                                        np.int64), 0)
        assert values[index] != BROKEN
        assert (twin_of[index] >= 0) == board.has_legal_en_passant(), board.fen()
        found += 1

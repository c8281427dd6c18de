"""The compiled few-men move generator against python-chess: moves, un-moves, checks."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest

from minizero.chessgame.tablebase.moves import (
    EMPTY,
    MAX_MOVES,
    in_check,
    legal_moves,
    unmoves,
)


def random_position(rng: random.Random, men: int) -> tuple[chess.Board, np.ndarray, np.ndarray,
                                                            np.ndarray]:
    """A valid position of two kings and ``men - 2`` random men, with the solver's arrays."""
    while True:
        board = chess.Board(None)
        squares = rng.sample(range(64), men)
        kinds = [chess.KING, chess.KING] + [rng.randint(1, 5) for _ in range(men - 2)]
        colours = [chess.WHITE, chess.BLACK] + [rng.random() < 0.5 for _ in range(men - 2)]
        for square, kind, colour in zip(squares, kinds, colours):
            board.set_piece_at(square, chess.Piece(kind, colour))
        board.turn = rng.random() < 0.5
        if board.is_valid():
            pad = [0] * (4 - men)
            return (board, np.array(squares + pad, np.int64), np.array(kinds + pad, np.int64),
                    np.array([int(c) for c in colours] + pad, np.int64))


def as_chess_moves(board: chess.Board, squares: np.ndarray, kinds: np.ndarray,
                   moves: np.ndarray, count: int) -> set[chess.Move]:
    return {chess.Move(int(squares[moves[i, 0]]), int(moves[i, 1]),
                       promotion=int(moves[i, 2]) or None) for i in range(count)}


@pytest.mark.parametrize("men", [3, 4])
def test_legal_moves_are_python_chess_moves(men: int) -> None:
    rng = random.Random(men)
    moves = np.zeros((MAX_MOVES, 4), np.int64)
    scratch = np.zeros(4, np.int64), np.zeros(4, np.int64)
    for _ in range(3000):
        board, squares, kinds, colours = random_position(rng, men)
        count = legal_moves(squares, kinds, colours, men, int(board.turn), EMPTY, moves, *scratch)
        assert as_chess_moves(board, squares, kinds, moves, count) == set(board.legal_moves), (
            board.fen())
        assert in_check(squares, kinds, colours, men, int(board.turn)) == board.is_check()


def test_en_passant_captures_are_python_chess_moves() -> None:
    rng = random.Random(7)
    moves = np.zeros((MAX_MOVES, 4), np.int64)
    scratch = np.zeros(4, np.int64), np.zeros(4, np.int64)
    checked = 0
    while checked < 300:
        board, squares, kinds, colours = random_position(rng, 4)
        pushes = [move for move in board.legal_moves if board.piece_type_at(move.from_square)
                  == chess.PAWN and abs(move.to_square - move.from_square) == 16]
        if not pushes:
            continue
        move = pushes[0]
        board.push(move)
        squares[list(squares).index(move.from_square)] = move.to_square
        count = legal_moves(squares, kinds, colours, 4, int(board.turn), board.ep_square, moves,
                            *scratch)
        assert as_chess_moves(board, squares, kinds, moves, count) == set(board.legal_moves)
        checked += 1


@pytest.mark.parametrize("men", [3, 4])
def test_unmoves_are_the_moves_that_lead_here(men: int) -> None:
    """Each un-move names a position before from which python-chess plays a move to here;
    and every quiet move of a random position is found again as an un-move of its result."""
    rng = random.Random(10 + men)
    moves = np.zeros((MAX_MOVES, 4), np.int64)
    for _ in range(1500):
        board, squares, kinds, colours = random_position(rng, men)
        count = unmoves(squares, kinds, colours, men, int(board.turn), True, moves)
        for index in range(count):
            slot, origin = moves[index, 0], moves[index, 1]
            before = board.copy()
            before.remove_piece_at(int(squares[slot]))
            before.set_piece_at(int(origin), chess.Piece(int(kinds[slot]), bool(colours[slot])))
            before.turn = not board.turn
            move = chess.Move(int(origin), int(squares[slot]))
            assert before.is_pseudo_legal(move), (board.fen(), move)
        for move in board.legal_moves:
            if board.is_capture(move) or move.promotion:
                continue
            after = board.copy()
            after.push(move)
            after_squares = squares.copy()
            after_squares[list(squares).index(move.from_square)] = move.to_square
            count = unmoves(after_squares, kinds, colours, men, int(after.turn), True, moves)
            origins = {(int(after_squares[moves[i, 0]]), int(moves[i, 1])) for i in range(count)}
            assert (move.to_square, move.from_square) in origins, (after.fen(), move)

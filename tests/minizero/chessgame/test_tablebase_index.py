"""The index: one integer per position, every symmetric image of a position the same one."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest

from minizero.chessgame.tablebase.index import (
    KING_PAIR,
    KING_PAIRS,
    TRANSFORMS,
    decode,
    encode,
    layout_of,
    table_size,
)
from minizero.chessgame.tablebase.signature import all_signatures, parse_signature


def test_king_pairs_and_sizes_are_the_documented_ones() -> None:
    assert [(KING_PAIR[pawnful] >= 0).sum() for pawnful in (0, 1)] == list(KING_PAIRS)
    assert KING_PAIRS == (462, 1806)
    sizes = {name: table_size(layout_of(parse_signature(name)))
             for name in ("KQvK", "KPvK", "KQvKR", "KQvKP", "KPvKP")}
    assert sizes == {"KQvK": 59_136, "KPvK": 173_376, "KQvKR": 3_784_704,
                     "KQvKP": 11_096_064, "KPvKP": 8_322_048}


def test_transforms_are_the_eight_symmetries_of_the_board() -> None:
    images = {tuple(TRANSFORMS[bits]) for bits in range(8)}
    assert len(images) == 8
    for bits in range(8):
        assert sorted(TRANSFORMS[bits]) == list(range(64))
        for square in range(64):  # distances between squares are kept
            for other in (0, 27, 63):
                assert chess.square_distance(TRANSFORMS[bits, square], TRANSFORMS[bits, other]) \
                    == chess.square_distance(square, other)


@pytest.mark.parametrize("name", ["KQvKR", "KBBvK", "KQvK", "KPvKP", "KRPvK"])
def test_symmetric_images_share_one_index_and_decode_round_trips(name: str) -> None:
    signature = parse_signature(name)
    layout = layout_of(signature)
    men = signature.men
    pawns = signature.has_pawns
    rng = random.Random(name)
    symmetries = (0, 1) if pawns else range(8)  # with pawns only the file mirror
    squares = np.zeros(4, np.int64)
    for _ in range(2000):
        position = rng.sample(range(8, 56) if pawns else range(64), men)
        turn = rng.randint(0, 1)
        index = encode(layout, np.array(position + [0] * (4 - men), np.int64), turn)
        if index < 0:
            assert chess.square_distance(position[0], position[1]) <= 1
            continue
        for bits in symmetries:
            image = [int(TRANSFORMS[bits, square]) for square in position]
            assert encode(layout, np.array(image + [0] * (4 - men), np.int64), turn) == index
        decoded_turn = decode(layout, index, squares)
        assert decoded_turn == turn
        again = encode(layout, squares, turn)
        assert again == index
        # the decoded position is one of the images (identical men may be listed swapped)
        decoded = sorted(map(int, squares[:men]))
        assert any(decoded == sorted(int(TRANSFORMS[bits, s]) for s in position)
                   for bits in symmetries)


def test_every_table_is_named_as_syzygy_names_it() -> None:
    from tests.minizero.chessgame.conftest import DATA

    names = {signature.name for signature in all_signatures(4)}
    assert names == {path.stem for path in (DATA / "syzygy").glob("*.rtbw")}
    assert len(names) == 35


@pytest.mark.parametrize("signature", [signature for signature in all_signatures(4)
                                       if signature.men == 4 or signature.has_pawns],
                         ids=lambda signature: signature.name)
def test_every_capture_and_promotion_leads_into_a_dependency(signature) -> None:
    """python-chess plays the captures and promotions (capturing promotions included) of
    random positions; each lands in a table the signature names as a dependency. (A piece
    against a bare king can only be captured into two bare kings.)"""
    from minizero.chessgame.tablebase.signature import signature_of_board

    names = {dependency.name for dependency in signature.dependencies()}
    rng = random.Random(signature.name)
    pieces = signature.pieces()
    seen = 0
    for _ in range(3000):
        board = chess.Board(None)
        for square, (colour, piece) in zip(rng.sample(range(8, 56) if signature.has_pawns
                                                      else range(64), len(pieces)), pieces):
            board.set_piece_at(square, chess.Piece(piece, colour))
        if rng.random() < 0.5:  # men on the back ranks too, for capturing promotions
            for square in chess.scan_forward(board.occupied & ~board.pawns):
                if rng.random() < 0.5:
                    piece = board.remove_piece_at(square)
                    board.set_piece_at(square % 8 + 56 * rng.randint(0, 1), piece)
        board.turn = rng.random() < 0.5
        if chess.popcount(board.occupied) < len(pieces) or not board.is_valid():
            continue
        for move in board.legal_moves:
            if board.is_capture(move) or move.promotion:
                board.push(move)
                if chess.popcount(board.occupied) > 2:
                    assert signature_of_board(board)[0].name in names, (board.fen(), move)
                    seen += 1
                board.pop()
    assert seen > 100

"""The index: each position of a table as one integer, with the board's symmetries folded.

A table stores one value per index. The index of a position, outermost first:

    index = ((block * king_pairs + pair) * range_2 + square_2) * range_3 + square_3

- ``block``: 0 when White is to move, 1 when Black is.
- ``pair``: the two kings, numbered in ``KING_PAIRS``. Without pawns every position has 8
  symmetric twins (rotations and reflections), so the board is turned until the white king
  stands in the triangle a1-d1-d4 (10 squares); when it stands on the diagonal a1-d4, the
  board may still be reflected in that diagonal, which puts the black king on or below it.
  That leaves 462 king pairs. With pawns only the mirror a-file <-> h-file keeps the rules,
  so the white king is brought to files a-d: 1806 pairs. Kings on adjacent squares never stand
  in the table.
- ``square_2``, ``square_3``: the other men in slot order (White's men, then Black's, as the
  signature names them): 64 squares each, or 48 for a pawn (ranks 2 to 7, square - 8).
  Two identical men are stored with the lower square first.

When both kings stand on the long diagonal, the position and its diagonal reflection get the
same king pair; the lower of the two indices is the position's. So every position has exactly
one index (``encode``), and the table's entries whose decoded position encodes elsewhere, or
whose men overlap, or where the side not to move is in check, are marked as no position (the
solver's BROKEN). Sizes: 3 men 2 x 462 x 64 = 59,136 entries (pawns: 2 x 1806 x 48 =
173,376); 4 men 3,784,704 (with one pawn 11,096,064; two pawns 8,322,048).

Try it: ``minizero tablebase stats KQvKR`` prints the size and the counts of each result.
"""

from __future__ import annotations

import chess
import numpy as np
from numba import njit

from minizero.chessgame.tablebase.moves import PAWN
from minizero.chessgame.tablebase.signature import Signature

# Layout of a table, a small int array the compiled code reads:
PAWNFUL, MEN, RANGE_2, RANGE_3, OFFSET_2, OFFSET_3, IDENTICAL, PAIRS = range(8)
LAYOUT_FIELDS = 8
# Symmetries as three bits: 1 mirrors files (a <-> h), 2 mirrors ranks (1 <-> 8), 4 reflects in
# the a1-h8 diagonal (applied last). TRANSFORMS[bits, square] is the image of a square.
FILE_MIRROR, RANK_MIRROR, DIAGONAL = 1, 2, 4


def _transforms() -> np.ndarray:
    table = np.zeros((8, 64), np.int64)
    for bits in range(8):
        for square in range(64):
            image = square
            if bits & FILE_MIRROR:
                image ^= 7
            if bits & RANK_MIRROR:
                image ^= 56
            if bits & DIAGONAL:
                image = (image % 8) * 8 + image // 8
            table[bits, square] = image
    return table


def _king_pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KING_PAIR[pawnful, white king, black king] -> pair number or -1, and its inverse."""
    pair_of = np.full((2, 64, 64), -1, np.int64)
    white_of = np.full((2, 1806), -1, np.int64)
    black_of = np.full((2, 1806), -1, np.int64)
    for pawnful in (0, 1):
        count = 0
        for white in range(64):
            file, rank = white % 8, white // 8
            if pawnful and file > 3:
                continue
            if not pawnful and not (file <= 3 and rank <= file):
                continue
            for black in range(64):
                if chess.square_distance(white, black) <= 1:
                    continue
                if not pawnful and rank == file and black // 8 > black % 8:
                    continue  # white king on the diagonal: black king on or below it
                pair_of[pawnful, white, black] = count
                white_of[pawnful, count] = white
                black_of[pawnful, count] = black
                count += 1
    return pair_of, white_of, black_of


TRANSFORMS = _transforms()
KING_PAIR, PAIR_WHITE_KING, PAIR_BLACK_KING = _king_pairs()
KING_PAIRS = (462, 1806)  # without pawns, with pawns


def layout_of(signature: Signature) -> np.ndarray:
    """The table's layout array (see the field names above)."""
    pieces = signature.pieces()
    layout = np.zeros(LAYOUT_FIELDS, np.int64)
    pawnful = int(signature.has_pawns)
    layout[PAWNFUL] = pawnful
    layout[MEN] = len(pieces)
    layout[PAIRS] = KING_PAIRS[pawnful]
    layout[RANGE_2] = layout[RANGE_3] = 1
    for field_range, field_offset, slot in ((RANGE_2, OFFSET_2, 2), (RANGE_3, OFFSET_3, 3)):
        if slot < len(pieces):
            pawn = pieces[slot][1] == chess.PAWN
            layout[field_range] = 48 if pawn else 64
            layout[field_offset] = 8 if pawn else 0
    layout[IDENTICAL] = int(len(pieces) == 4 and pieces[2] == pieces[3])
    return layout


def table_size(layout: np.ndarray) -> int:
    """Entries of the table: 2 sides to move x king pairs x the other men's squares."""
    return int(2 * layout[PAIRS] * layout[RANGE_2] * layout[RANGE_3])


@njit(cache=True)
def _index_with(layout: np.ndarray, squares: np.ndarray, turn: int, bits: int) -> int:
    pair = KING_PAIR[layout[PAWNFUL], TRANSFORMS[bits, squares[0]], TRANSFORMS[bits, squares[1]]]
    if pair < 0:
        return -1
    index = (1 - turn) * layout[PAIRS] + pair
    men = layout[MEN]
    if men < 3:
        return index
    second = TRANSFORMS[bits, squares[2]]
    third = TRANSFORMS[bits, squares[3]] if men == 4 else 0
    if layout[IDENTICAL] and second > third:
        second, third = third, second
    second -= layout[OFFSET_2]
    third -= layout[OFFSET_3]
    if not (0 <= second < layout[RANGE_2] and 0 <= third < layout[RANGE_3]):
        return -1  # a pawn on the first or last rank
    return (index * layout[RANGE_2] + second) * layout[RANGE_3] + third


@njit(cache=True)
def encode(layout: np.ndarray, squares: np.ndarray, turn: int) -> int:
    """The index of a position: ``squares`` in the table's slot order, ``turn`` 1 for White
    to move, 0 for Black. Returns -1 when the kings touch or a pawn stands on a back rank."""
    white_king, black_king = squares[0], squares[1]
    if layout[PAWNFUL]:
        return _index_with(layout, squares, turn, FILE_MIRROR if white_king % 8 > 3 else 0)
    bits = 0
    if white_king % 8 > 3:
        bits |= FILE_MIRROR
    if white_king // 8 > 3:
        bits |= RANK_MIRROR
    white, black = TRANSFORMS[bits, white_king], TRANSFORMS[bits, black_king]
    if white // 8 > white % 8 or (white // 8 == white % 8 and black // 8 > black % 8):
        bits |= DIAGONAL
    elif white // 8 == white % 8 and black // 8 == black % 8:
        # both kings on the long diagonal: the reflection keeps them; take the lower index
        return min(_index_with(layout, squares, turn, bits),
                   _index_with(layout, squares, turn, bits | DIAGONAL))
    return _index_with(layout, squares, turn, bits)


@njit(cache=True)
def decode(layout: np.ndarray, index: int, squares: np.ndarray) -> int:
    """Fill ``squares`` (slot order) with the position of ``index``; return the turn."""
    men = layout[MEN]
    if men == 4:
        squares[3] = index % layout[RANGE_3] + layout[OFFSET_3]
    index //= layout[RANGE_3]
    if men >= 3:
        squares[2] = index % layout[RANGE_2] + layout[OFFSET_2]
    index //= layout[RANGE_2]
    pair = index % layout[PAIRS]
    squares[0] = PAIR_WHITE_KING[layout[PAWNFUL], pair]
    squares[1] = PAIR_BLACK_KING[layout[PAWNFUL], pair]
    return 1 - index // layout[PAIRS]


def slot_arrays(signature: Signature) -> tuple[np.ndarray, np.ndarray]:
    """Piece types and colours of the table's slots, as the compiled code reads them (always
    four slots long; the slots past the table's men hold 0)."""
    kinds = np.zeros(4, np.int64)
    colours = np.zeros(4, np.int64)
    for slot, (colour, piece) in enumerate(signature.pieces()):
        kinds[slot], colours[slot] = piece, int(colour)
    return kinds, colours


assert PAWN == chess.PAWN

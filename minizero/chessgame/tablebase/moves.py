"""Moves of a few men on an otherwise empty board, forwards and backwards, compiled with numba.

The generator (``solver.py``) needs, for millions of positions of at most four men, the legal
moves (to score a position from its successors) and the un-moves (to find the positions one
move before a position just solved: retrograde analysis). With so few men a board is four
(square, type, colour) triples, and attack tests are table look-ups: king, knight and pawn
attacks are 64 x 64 tables, and a slider attacks a square when the two share a line and no
man stands between them (``BETWEEN``).

Squares are python-chess's (a1 = 0, b1 = 1, ..., h8 = 63); piece types and colours too
(PAWN = 1 ... KING = 6; WHITE = 1, BLACK = 0). A captured man keeps its slot with square -1.
The python-chess generator in ``naive.py`` is the oracle these moves are tested against.
"""

from __future__ import annotations

import numpy as np
from numba import njit

PAWN, KNIGHT, BISHOP, ROOK, QUEEN, KING = 1, 2, 3, 4, 5, 6
WHITE, BLACK = 1, 0
EMPTY = -1
MAX_MOVES = 96  # at most 4 men: a queen's 27 + a king's 8 + ... stays far below this

_ORTHOGONAL = ((0, 1), (0, -1), (1, 0), (-1, 0))
_DIAGONAL = ((1, 1), (1, -1), (-1, 1), (-1, -1))
_KNIGHT = ((1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2))


def _on_board(file: int, rank: int) -> bool:
    return 0 <= file < 8 and 0 <= rank < 8


def _tables() -> tuple[np.ndarray, ...]:
    king_steps = np.full((64, 8), EMPTY, np.int64)
    knight_steps = np.full((64, 8), EMPTY, np.int64)
    rays = np.full((64, 8, 8), EMPTY, np.int64)  # square, direction (4 orthogonal, 4 diagonal)
    adjacent = np.zeros((64, 64), np.bool_)
    knight_hits = np.zeros((64, 64), np.bool_)
    pawn_hits = np.zeros((2, 64, 64), np.bool_)  # colour, from, attacked square
    line = np.zeros((64, 64), np.int64)  # 1: same rank or file, 2: same diagonal, 0: neither
    between = np.zeros((64, 64, 64), np.bool_)  # from, to, square strictly between them
    for square in range(64):
        file, rank = square % 8, square // 8
        steps = [(df, dr) for df in (-1, 0, 1) for dr in (-1, 0, 1) if df or dr]
        for count, (df, dr) in enumerate(s for s in steps if _on_board(file + s[0], rank + s[1])):
            target = square + dr * 8 + df
            king_steps[square, count] = target
            adjacent[square, target] = True
        for count, (df, dr) in enumerate(
                s for s in _KNIGHT if _on_board(file + s[0], rank + s[1])):
            target = square + dr * 8 + df
            knight_steps[square, count] = target
            knight_hits[square, target] = True
        for colour, forward in ((WHITE, 1), (BLACK, -1)):
            for df in (-1, 1):
                if _on_board(file + df, rank + forward):
                    pawn_hits[colour, square, square + forward * 8 + df] = True
        for direction, (df, dr) in enumerate(_ORTHOGONAL + _DIAGONAL):
            passed: list[int] = []
            step = 1
            while _on_board(file + df * step, rank + dr * step):
                target = square + (dr * 8 + df) * step
                rays[square, direction, step - 1] = target
                line[square, target] = 1 if direction < 4 else 2
                for middle in passed:
                    between[square, target, middle] = True
                passed.append(target)
                step += 1
    return king_steps, knight_steps, rays, adjacent, knight_hits, pawn_hits, line, between


(KING_STEPS, KNIGHT_STEPS, RAYS, ADJACENT, KNIGHT_HITS, PAWN_HITS, LINE,
 BETWEEN) = _tables()


@njit(cache=True)
def man_at(squares: np.ndarray, n: int, square: int) -> int:
    """The slot of the man on ``square``, or EMPTY."""
    for slot in range(n):
        if squares[slot] == square:
            return slot
    return EMPTY


@njit(cache=True)
def attacks(squares: np.ndarray, kinds: np.ndarray, n: int, slot: int, target: int) -> bool:
    """Does the man in ``slot`` attack ``target`` (pieces in between block sliders)?"""
    square = squares[slot]
    kind = kinds[slot]
    if square < 0:
        return False
    if kind == KING:
        return ADJACENT[square, target]
    if kind == KNIGHT:
        return KNIGHT_HITS[square, target]
    if kind == PAWN:
        return False  # the caller asks pawn_attacks, which needs the colour
    line = LINE[square, target]
    if line == 0 or (kind == ROOK and line != 1) or (kind == BISHOP and line != 2):
        return False
    for other in range(n):
        if other != slot and squares[other] >= 0 and BETWEEN[square, target, squares[other]]:
            return False
    return True


@njit(cache=True)
def is_attacked(squares: np.ndarray, kinds: np.ndarray, colours: np.ndarray, n: int,
                target: int, by_colour: int) -> bool:
    """Is ``target`` attacked by any man of ``by_colour``?"""
    for slot in range(n):
        if colours[slot] != by_colour or squares[slot] < 0:
            continue
        if kinds[slot] == PAWN:
            if PAWN_HITS[by_colour, squares[slot], target]:
                return True
        elif attacks(squares, kinds, n, slot, target):
            return True
    return False


@njit(cache=True)
def in_check(squares: np.ndarray, kinds: np.ndarray, colours: np.ndarray, n: int,
             colour: int) -> bool:
    """Is ``colour``'s king attacked? Kings sit in slot 0 (White) and 1 (Black)."""
    king = 0 if colour == WHITE else 1
    return is_attacked(squares, kinds, colours, n, squares[king], 1 - colour)


@njit(cache=True)
def _add(moves: np.ndarray, count: int, slot: int, target: int, promotion: int,
         captured: int) -> int:
    moves[count, 0] = slot
    moves[count, 1] = target
    moves[count, 2] = promotion
    moves[count, 3] = captured
    return count + 1


@njit(cache=True)
def _add_pawn_move(moves: np.ndarray, count: int, slot: int, target: int, captured: int,
                   last_rank: int) -> int:
    """A pawn move, or its four promotions when it reaches the last rank."""
    if target // 8 != last_rank:
        return _add(moves, count, slot, target, 0, captured)
    for promotion in (QUEEN, ROOK, BISHOP, KNIGHT):
        count = _add(moves, count, slot, target, promotion, captured)
    return count


@njit(cache=True)
def _pawn_moves(squares: np.ndarray, colours: np.ndarray, n: int, slot: int,
                en_passant: int, moves: np.ndarray, count: int) -> int:
    square = squares[slot]
    colour = colours[slot]
    forward = 8 if colour == WHITE else -8
    start_rank = 1 if colour == WHITE else 6
    last_rank = 7 if colour == WHITE else 0
    one = square + forward
    if man_at(squares, n, one) == EMPTY:
        count = _add_pawn_move(moves, count, slot, one, EMPTY, last_rank)
        two = one + forward
        if square // 8 == start_rank and man_at(squares, n, two) == EMPTY:
            count = _add(moves, count, slot, two, 0, EMPTY)  # a double step
    for side in (-1, 1):
        if not 0 <= square % 8 + side < 8:
            continue
        target = one + side
        victim = man_at(squares, n, target)
        if victim != EMPTY and colours[victim] != colour:
            count = _add_pawn_move(moves, count, slot, target, victim, last_rank)
        elif victim == EMPTY and target == en_passant:
            count = _add(moves, count, slot, target, 0, man_at(squares, n, target - forward))
    return count


@njit(cache=True)
def pseudo_legal_moves(squares: np.ndarray, kinds: np.ndarray, colours: np.ndarray, n: int,
                       turn: int, en_passant: int, moves: np.ndarray) -> int:
    """Fill ``moves`` (rows: slot, target, promotion type or 0, captured slot or EMPTY) with the
    moves of ``turn`` that obey the men's rules, legal or not; returns how many. A king is
    never captured: positions where the side not to move is in check are not in the tables."""
    count = 0
    for slot in range(n):
        square = squares[slot]
        if colours[slot] != turn or square < 0:
            continue
        kind = kinds[slot]
        if kind == PAWN:
            count = _pawn_moves(squares, colours, n, slot, en_passant, moves, count)
            continue
        if kind in (KING, KNIGHT):
            steps = KING_STEPS[square] if kind == KING else KNIGHT_STEPS[square]
            for target in steps:
                if target < 0:
                    break
                victim = man_at(squares, n, target)
                if victim == EMPTY:
                    count = _add(moves, count, slot, target, 0, EMPTY)
                elif colours[victim] != turn and kinds[victim] != KING:
                    count = _add(moves, count, slot, target, 0, victim)
            continue
        first = 4 if kind == BISHOP else 0
        last = 4 if kind == ROOK else 8
        for direction in range(first, last):
            for target in RAYS[square, direction]:
                if target < 0:
                    break
                victim = man_at(squares, n, target)
                if victim == EMPTY:
                    count = _add(moves, count, slot, target, 0, EMPTY)
                    continue
                if colours[victim] != turn and kinds[victim] != KING:
                    count = _add(moves, count, slot, target, 0, victim)
                break
    return count


@njit(cache=True)
def make_move(squares: np.ndarray, kinds: np.ndarray, move: np.ndarray,
              new_squares: np.ndarray, new_kinds: np.ndarray) -> None:
    """Copy the position into ``new_*`` with ``move`` played (the captured man's square -1)."""
    new_squares[:] = squares
    new_kinds[:] = kinds
    if move[3] != EMPTY:
        new_squares[move[3]] = EMPTY
    new_squares[move[0]] = move[1]
    if move[2] != 0:
        new_kinds[move[0]] = move[2]


@njit(cache=True)
def legal_moves(squares: np.ndarray, kinds: np.ndarray, colours: np.ndarray, n: int,
                turn: int, en_passant: int, moves: np.ndarray, new_squares: np.ndarray,
                new_kinds: np.ndarray) -> int:
    """Like ``pseudo_legal_moves``, keeping only the moves that leave the mover's king safe.
    ``new_squares`` and ``new_kinds`` are scratch arrays of the position's length."""
    count = pseudo_legal_moves(squares, kinds, colours, n, turn, en_passant, moves)
    kept = 0
    for index in range(count):
        make_move(squares, kinds, moves[index], new_squares, new_kinds)
        if not in_check(new_squares, new_kinds, colours, n, turn):
            moves[kept] = moves[index]
            kept += 1
    return kept


@njit(cache=True)
def unmoves(squares: np.ndarray, kinds: np.ndarray, colours: np.ndarray, n: int, turn: int,
            double_steps: bool, moves: np.ndarray) -> int:
    """The moves the side *not* to move could have just played without capturing or
    promoting (so the position before stays in the same table); rows as in ``moves``, with the
    target being the square the man came *from*. Pawn double steps are listed only when
    ``double_steps`` (the solver routes them through positions with an en passant right).
    Whether the position before is legal is left to the caller (its index entry says)."""
    mover = 1 - turn
    count = 0
    for slot in range(n):
        square = squares[slot]
        if colours[slot] != mover:
            continue
        kind = kinds[slot]
        if kind == PAWN:
            backward = -8 if mover == WHITE else 8
            one = square + backward
            if 8 <= one < 56 and man_at(squares, n, one) == EMPTY:
                count = _add(moves, count, slot, one, 0, EMPTY)
                two = one + backward
                double_rank = 3 if mover == WHITE else 4
                if (double_steps and square // 8 == double_rank
                        and man_at(squares, n, two) == EMPTY):
                    count = _add(moves, count, slot, two, 0, EMPTY)
            continue
        if kind in (KING, KNIGHT):
            steps = KING_STEPS[square] if kind == KING else KNIGHT_STEPS[square]
            for origin in steps:
                if origin < 0:
                    break
                if man_at(squares, n, origin) == EMPTY:
                    count = _add(moves, count, slot, origin, 0, EMPTY)
            continue
        first = 4 if kind == BISHOP else 0
        last = 4 if kind == ROOK else 8
        for direction in range(first, last):
            for origin in RAYS[square, direction]:
                if origin < 0 or man_at(squares, n, origin) != EMPTY:
                    break
                count = _add(moves, count, slot, origin, 0, EMPTY)
    return count

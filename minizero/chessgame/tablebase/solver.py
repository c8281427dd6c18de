"""Retrograde analysis: solve every position of a table, mates first, then backwards from them.

Every position gets its game value from the side to move, in the engine's mate-score scale:
``MATE - n`` when it mates in n plies, ``-(MATE - n)`` when it is mated in n plies (``-MATE``:
checkmated now), 0 for a draw. The winner mates as fast as it can, the loser holds out as
long as it can. The 50-move rule is ignored (a win in 70 moves is a win), as in Gaviota's and
Nalimov's distance-to-mate tables.

The method (Thompson 1986; Bellman 1965 for the idea), level by level, level n holding the
positions mated in n plies and those that mate in n plies:

1. Score each position by its moves once (``_score_moves``). Checkmate and stalemate are
   final. Captures and promotions leave the table: their successors are looked up in the
   smaller or promoted tables solved before (``exit_value``), and the best of them is kept as
   ``exit_best``. The moves that stay in the table are counted (``remaining``): a position is
   lost once every one of them is proven to lead to a win for the opponent.
2. For n = 0, 1, 2, ... (``_solve_level``): a position mated in n plies makes every position
   one move before it (found by un-moves, ``moves.unmoves``) a win in n + 1; a position that
   wins in n plies takes one from the count of each position before it, and a count that
   reaches 0 is a loss in n + 1 (or a longer loss, or a draw, when a capture does better). A
   win through a capture in n plies is entered at level n, unless a faster win came first.
3. What is left undecided is a draw.

A move that stays in the table is counted once per different successor, and an un-move once
per different predecessor, so positions with a symmetry (both kings and every man on the long
diagonal) are counted alike from both ends.

En passant: after a double step that the opponent may answer en passant, the position is not
the one in the table (it has one more move). Such positions get a node of their own after the
table's entries (a "twin" of the entry without the right): the double step leads to the twin,
the twin's moves are the entry's plus the capture. Only KPvKP among the 3-4 man tables has them.
The stored table holds the entries without the right; a probe with the right searches one ply.

Try it: ``minizero tablebase build KRvK``; the oracle is ``naive.py`` (python-chess) and the
Syzygy and Gaviota tables in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import chess
import numpy as np
from numba import njit

from minizero.chessgame.protocol import MATE
from minizero.chessgame.tablebase.index import (
    LAYOUT_FIELDS,
    MEN,
    decode,
    encode,
    layout_of,
    slot_arrays,
    table_size,
)
from minizero.chessgame.tablebase.moves import (
    EMPTY,
    KING,
    MAX_MOVES,
    PAWN,
    WHITE,
    in_check,
    legal_moves,
    make_move,
    man_at,
    unmoves,
)
from minizero.chessgame.tablebase.signature import Signature

BROKEN = -32768  # an index entry that is no position (see index.py)
UNKNOWN = 32767  # not decided yet (only while solving; a draw in the end)
NO_EXIT = -32767  # no capture or promotion among the moves
POWERS = 3 ** np.arange(10, dtype=np.int64)  # material key: a base-3 digit per (colour, type)


@njit(cache=True)
def back(value: int) -> int:
    """The value of a position from the value of the position after the move (other side)."""
    if value > 0:
        return -(value - 1)  # the successor mates in n: we are mated in n + 1
    if value < 0:
        return -(value + 1)  # the successor is mated in n: we mate in n + 1
    return 0


@njit(cache=True)
def material_key(squares: np.ndarray, kinds: np.ndarray, colours: np.ndarray, n: int) -> int:
    """A number for the men on the board besides the kings (colour and type, not squares)."""
    key = 0
    for slot in range(n):
        if squares[slot] >= 0 and kinds[slot] != KING:
            key += POWERS[(0 if colours[slot] == WHITE else 5) + kinds[slot] - 1]
    return key


def exit_tables(dependencies: Mapping[Signature, np.ndarray]) -> tuple[np.ndarray, ...]:
    """The solved tables a capture or promotion leads into, as arrays the compiled code reads:
    (values of all tables one after another, offsets, layouts, slot types, slot colours,
    table number by material key, whether that material is the table's with colours swapped)."""
    tables = list(dependencies.items())
    offsets = np.zeros(max(len(tables), 1), np.int64)
    layouts = np.zeros((max(len(tables), 1), LAYOUT_FIELDS), np.int64)
    kinds = np.zeros((max(len(tables), 1), 4), np.int64)
    colours = np.zeros((max(len(tables), 1), 4), np.int64)
    key_table = np.full(3 ** 10, -1, np.int64)
    key_flip = np.zeros(3 ** 10, np.int64)
    total = 0
    for number, (signature, values) in enumerate(tables):
        offsets[number] = total
        total += len(values)
        layouts[number] = layout_of(signature)
        kinds[number], colours[number] = slot_arrays(signature)
        count = signature.men
        key = material_key(np.arange(4), kinds[number], colours[number], count)
        swapped = material_key(np.arange(4), kinds[number], 1 - colours[number], count)
        key_table[swapped], key_flip[swapped] = number, 1
        key_table[key], key_flip[key] = number, 0
    values = (np.concatenate([values for _, values in tables]) if tables
              else np.zeros(1, np.int16))
    return values, offsets, layouts, kinds, colours, key_table, key_flip


@njit(cache=True)
def exit_value(squares: np.ndarray, kinds: np.ndarray, colours: np.ndarray, n: int, turn: int,
               exits: tuple, table_squares: np.ndarray, used: np.ndarray) -> int:
    """The value, for ``turn`` to move, of a position after a capture or promotion, looked up
    in its own table (``exits`` from ``exit_tables``). Two bare kings are a draw."""
    values, offsets, layouts, table_kinds, table_colours, key_table, key_flip = exits
    key = material_key(squares, kinds, colours, n)
    if key == 0:
        return 0
    table = key_table[key]
    flip = key_flip[key]
    layout = layouts[table]
    used[:] = False
    for target in range(layout[MEN]):
        wanted_colour = table_colours[table, target]
        if flip:
            wanted_colour = 1 - wanted_colour
        for slot in range(n):
            if (squares[slot] >= 0 and not used[slot] and kinds[slot] == table_kinds[table, target]
                    and colours[slot] == wanted_colour):
                used[slot] = True
                table_squares[target] = squares[slot] ^ 56 if flip else squares[slot]
                break
    index = encode(layout, table_squares, 1 - turn if flip else turn)
    return values[offsets[table] + index]


@njit(cache=True)
def _mark_positions(layout: np.ndarray, kinds: np.ndarray, colours: np.ndarray,
                    values: np.ndarray) -> None:
    """UNKNOWN for each entry that is a legal position with its own index, BROKEN for the rest."""
    n = layout[MEN]
    squares = np.zeros(4, np.int64)
    for index in range(values.shape[0]):
        values[index] = BROKEN
        turn = decode(layout, index, squares)
        overlap = False
        for first in range(n):
            for second in range(first + 1, n):
                if squares[first] == squares[second]:
                    overlap = True
        if overlap or encode(layout, squares, turn) != index:
            continue
        if in_check(squares, kinds, colours, n, 1 - turn):
            continue  # the side not to move in check: its king could be taken
        values[index] = UNKNOWN


@njit(cache=True)
def _en_passant_square(layout: np.ndarray, kinds: np.ndarray, colours: np.ndarray,
                       values: np.ndarray, squares: np.ndarray, turn: int,
                       moves: np.ndarray, scratch_squares: np.ndarray,
                       scratch_kinds: np.ndarray) -> int:
    """The square an en passant capture would land on, if the opponent's last move could have
    been a double step that ``turn`` may legally take en passant; else EMPTY."""
    n = layout[MEN]
    mover = 1 - turn
    forward = 8 if mover == WHITE else -8
    for slot in range(n):
        square = squares[slot]
        if kinds[slot] != PAWN or colours[slot] != mover or square // 8 != (
                3 if mover == WHITE else 4):
            continue
        passed, origin = square - forward, square - 2 * forward
        if man_at(squares, n, passed) != EMPTY or man_at(squares, n, origin) != EMPTY:
            continue
        squares[slot] = origin  # the position before the double step must be a legal one
        before = encode(layout, squares, mover)
        squares[slot] = square
        if before < 0 or values[before] == BROKEN:
            continue
        count = legal_moves(squares, kinds, colours, n, turn, passed, moves, scratch_squares,
                            scratch_kinds)
        for index in range(count):
            if moves[index, 1] == passed and kinds[moves[index, 0]] == PAWN:
                return passed
    return EMPTY


@njit(cache=True)
def _find_twins(layout: np.ndarray, kinds: np.ndarray, colours: np.ndarray,
                values: np.ndarray, twin_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number the positions that exist a second time with an en passant right (``twin_of``);
    return each twin's table entry and en passant square."""
    squares = np.zeros(4, np.int64)
    moves = np.zeros((MAX_MOVES, 4), np.int64)
    scratch_squares = np.zeros(4, np.int64)
    scratch_kinds = np.zeros(4, np.int64)
    found = np.full(values.shape[0], EMPTY, np.int64)
    count = 0
    for index in range(values.shape[0]):
        if values[index] == BROKEN:
            continue
        turn = decode(layout, index, squares)
        found[index] = _en_passant_square(layout, kinds, colours, values, squares, turn, moves,
                                          scratch_squares, scratch_kinds)
        if found[index] != EMPTY:
            twin_of[index] = count
            count += 1
    bases = np.zeros(count, np.int64)
    squares_of = np.zeros(count, np.int64)
    for index in range(values.shape[0]):
        if twin_of[index] >= 0:
            bases[twin_of[index]] = index
            squares_of[twin_of[index]] = found[index]
    return bases, squares_of


@njit(cache=True)
def _score_moves(layout: np.ndarray, kinds: np.ndarray, colours: np.ndarray,
                 values: np.ndarray, remaining: np.ndarray, exit_best: np.ndarray,
                 twin_of: np.ndarray, twin_bases: np.ndarray, twin_squares: np.ndarray,
                 exits: tuple) -> None:
    """Step 1: mates, stalemates, the best capture or promotion, and the moves to count."""
    n = layout[MEN]
    size = values.shape[0] - twin_bases.shape[0]
    squares = np.zeros(4, np.int64)
    moves = np.zeros((MAX_MOVES, 4), np.int64)
    new_squares = np.zeros(4, np.int64)
    new_kinds = np.zeros(4, np.int64)
    table_squares = np.zeros(4, np.int64)
    used = np.zeros(4, np.bool_)
    children = np.zeros(MAX_MOVES, np.int64)
    for node in range(values.shape[0]):
        base, en_passant = node, EMPTY
        if node >= size:
            base, en_passant = twin_bases[node - size], twin_squares[node - size]
        if values[base] == BROKEN:
            continue
        turn = decode(layout, base, squares)
        count = legal_moves(squares, kinds, colours, n, turn, en_passant, moves, new_squares,
                            new_kinds)
        if count == 0:
            values[node] = -MATE if in_check(squares, kinds, colours, n, turn) else 0
            continue
        distinct = 0
        best = NO_EXIT
        for index in range(count):
            move = moves[index]
            make_move(squares, kinds, move, new_squares, new_kinds)
            if move[3] != EMPTY or move[2] != 0:
                best = max(best, back(exit_value(new_squares, new_kinds, colours, n, 1 - turn,
                                                 exits, table_squares, used)))
                continue
            child = encode(layout, new_squares, 1 - turn)
            if (twin_of.shape[0] > 0 and kinds[move[0]] == PAWN
                    and abs(move[1] - squares[move[0]]) == 16 and twin_of[child] >= 0):
                child = size + twin_of[child]  # the double step gives the opponent en passant
            seen = False
            for earlier in range(distinct):
                if children[earlier] == child:
                    seen = True
            if not seen:
                children[distinct] = child
                distinct += 1
        if distinct == 0:
            values[node] = best  # only captures and promotions: decided now
        else:
            remaining[node] = distinct
            exit_best[node] = best


@njit(cache=True)
def _predecessors(layout: np.ndarray, kinds: np.ndarray, colours: np.ndarray,
                  values: np.ndarray, twin_of: np.ndarray, twin_bases: np.ndarray,
                  twin_squares: np.ndarray, node: int, squares: np.ndarray, moves: np.ndarray,
                  found: np.ndarray) -> int:
    """The different legal positions one move (in the table) before ``node``; their count."""
    n = layout[MEN]
    size = values.shape[0] - twin_bases.shape[0]
    if node >= size:  # a twin: only the double step that gave the en passant right
        turn = decode(layout, twin_bases[node - size], squares)
        passed = twin_squares[node - size]
        forward = 8 if turn != WHITE else -8  # the mover's direction
        slot = man_at(squares, n, passed + forward)
        squares[slot] = passed - forward
        before = encode(layout, squares, 1 - turn)
        if before < 0 or values[before] == BROKEN:
            return 0
        found[0] = before
        return 1
    turn = decode(layout, node, squares)
    double_steps = not (twin_of.shape[0] > 0 and twin_of[node] >= 0)
    count = unmoves(squares, kinds, colours, n, turn, double_steps, moves)
    distinct = 0
    for index in range(count):
        slot, origin = moves[index, 0], moves[index, 1]
        square = squares[slot]
        squares[slot] = origin
        before = encode(layout, squares, 1 - turn)
        squares[slot] = square
        if before < 0 or values[before] == BROKEN:
            continue
        seen = False
        for earlier in range(distinct):
            if found[earlier] == before:
                seen = True
        if not seen:
            found[distinct] = before
            distinct += 1
    return distinct


@njit(cache=True)
def _when_all_moves_lose(distance: int, best_exit: int) -> int:
    """A position whose every move in the table loses, the last in ``distance`` - 1 plies."""
    if best_exit > 0:
        return UNKNOWN  # a capture wins: entered at the level of that win
    if best_exit == 0:
        return 0  # a capture draws
    return max(-(MATE - distance), best_exit)  # hold out as long as possible


@njit(cache=True)
def _solve_level(layout: np.ndarray, kinds: np.ndarray, colours: np.ndarray,
                 values: np.ndarray, remaining: np.ndarray, exit_best: np.ndarray,
                 twin_of: np.ndarray, twin_bases: np.ndarray, twin_squares: np.ndarray,
                 level: int) -> int:
    """Step 2 for one level; returns the furthest distance decided so far."""
    size = values.shape[0] - twin_bases.shape[0]
    win, loss = MATE - level, -(MATE - level)
    squares = np.zeros(4, np.int64)
    moves = np.zeros((MAX_MOVES, 4), np.int64)
    found = np.zeros(MAX_MOVES, np.int64)
    furthest = level
    for node in range(values.shape[0]):
        if values[node] == UNKNOWN and exit_best[node] == win:
            values[node] = win  # a capture or promotion wins in ``level`` plies
    for node in range(values.shape[0]):
        value = values[node]
        if value != win and value != loss:
            continue
        count = _predecessors(layout, kinds, colours, values, twin_of, twin_bases,
                              twin_squares, node, squares, moves, found)
        for index in range(count):
            before = found[index]
            for target in (before, size + twin_of[before] if (
                    twin_of.shape[0] > 0 and twin_of[before] >= 0) else -1):
                if target < 0 or values[target] != UNKNOWN:
                    continue
                if value == loss:
                    values[target] = MATE - (level + 1)
                else:
                    remaining[target] -= 1
                    if remaining[target] == 0:
                        values[target] = _when_all_moves_lose(level + 1, exit_best[target])
                        if values[target] != UNKNOWN and values[target] != 0:
                            furthest = max(furthest, MATE - abs(values[target]))
        if count:
            furthest = max(furthest, level + 1)
    return furthest


@njit(cache=True)
def _furthest_known(values: np.ndarray, exit_best: np.ndarray) -> int:
    """The longest distance among decided positions and pending winning captures."""
    furthest = 0
    for node in range(values.shape[0]):
        value = values[node]
        if value != BROKEN and value != UNKNOWN and value != 0:
            furthest = max(furthest, MATE - abs(value))
        if value == UNKNOWN and exit_best[node] > 0:
            furthest = max(furthest, MATE - exit_best[node])
    return furthest


def solve(signature: Signature, dependencies: Mapping[Signature, np.ndarray],
          on_level: Callable[[int], None] | None = None) -> np.ndarray:
    """Every entry of ``signature``'s table (int16, the scale above, BROKEN where no position).

    ``dependencies`` holds the solved tables of ``signature.dependencies()``; ``on_level`` is
    called after each level (for a progress bar).
    """
    missing = [d.name for d in signature.dependencies() if d not in dependencies]
    if missing:
        raise ValueError(f"{signature.name} needs the tables {', '.join(missing)} first")
    layout = layout_of(signature)
    kinds, colours = slot_arrays(signature)
    size = table_size(layout)
    entries = np.empty(size, np.int16)
    _mark_positions(layout, kinds, colours, entries)
    twin_bases = twin_squares = np.zeros(0, np.int64)
    twin_of = np.zeros(0, np.int64)
    if chess.PAWN in signature.white and chess.PAWN in signature.black:
        twin_of = np.full(size, -1, np.int64)
        twin_bases, twin_squares = _find_twins(layout, kinds, colours, entries, twin_of)
    values = np.concatenate([entries, np.full(len(twin_bases), UNKNOWN, np.int16)])
    del entries
    remaining = np.zeros(len(values), np.uint8)
    exit_best = np.full(len(values), NO_EXIT, np.int16)
    exits = exit_tables({d: dependencies[d] for d in signature.dependencies()})
    _score_moves(layout, kinds, colours, values, remaining, exit_best, twin_of, twin_bases,
                 twin_squares, exits)
    furthest = _furthest_known(values, exit_best)
    level = 0
    while level <= furthest:
        furthest = max(furthest, _solve_level(layout, kinds, colours, values, remaining,
                                              exit_best, twin_of, twin_bases, twin_squares,
                                              level))
        if on_level is not None:
            on_level(level)
        level += 1
    table = values[:size]
    table[table == UNKNOWN] = 0
    return table

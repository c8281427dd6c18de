"""The transposition table: what the search learnt about a position, kept for the next visit.

Chess trees reach the same position by many move orders, and iterative deepening revisits
every position of the last iteration. A table indexed by a hash of the position remembers the
depth searched, the score with its bound (exact, lower, upper) and the best move, so a later
visit can stop at once (a cut-off) or at least try the best move first. Memory is fixed up
front from the UCI Hash option; a slot holds one entry and newer results replace older ones.

Mate scores are stored relative to the node (``to_table``/``from_table``) so an entry stays
right when the same position is reached at another distance from the root.

Reference: Chess Programming Wiki, "Transposition Table" and "Zobrist Hashing".
"""

from __future__ import annotations

from typing import NamedTuple

import chess

from minizero.chessgame.protocol import EXACT, MATE_BOUND


class TableEntry(NamedTuple):
    """One remembered search. ``score`` is from the side to move, mate scores node-relative."""

    key: int
    depth: int
    bound: int  # EXACT, LOWER (score >= it) or UPPER (score <= it)
    score: int
    move: chess.Move | None


class TranspositionTable:
    """A fixed-size hash table of search results, sized from a memory budget.

    Slots are a preallocated list indexed by ``key % size``. Replacement: a new result replaces
    the old one unless the old one is the same position searched deeper and the new score is
    only a bound. ``ENTRY_BYTES`` is what one filled slot costs in CPython (the
    entry and its key), so ``megabytes`` bounds the table's memory.
    """

    ENTRY_BYTES = 144

    def __init__(self, megabytes: int) -> None:
        if megabytes < 1:
            raise ValueError(f"hash size must be at least 1 MiB, got {megabytes}")
        self.megabytes = megabytes
        self.size = megabytes * 2**20 // self.ENTRY_BYTES
        self.slots: list[TableEntry | None] = [None] * self.size

    def clear(self) -> None:
        self.slots = [None] * self.size

    def get(self, key: int) -> TableEntry | None:
        entry = self.slots[key % self.size]
        return entry if entry is not None and entry.key == key else None

    def put(self, key: int, depth: int, bound: int, score: int, move: chess.Move | None) -> None:
        index = key % self.size
        old = self.slots[index]
        if old is not None and old.key == key and old.depth > depth and bound != EXACT:
            return
        self.slots[index] = TableEntry(key, depth, bound, score, move)

    def hashfull(self) -> int:
        """Permille of the first thousand slots in use (the UCI ``hashfull`` figure)."""
        sample = self.slots[:1000]
        return sum(entry is not None for entry in sample) * 1000 // len(sample)


def position_key(board: chess.Board) -> int:
    """A 64-bit hash of what makes positions the same for repetition (not the clocks).

    The bitboards, the side to move, the castling rights and a capturable en-passant square,
    hashed by Python. Every part is an integer (no ``None``, whose hash changes from one
    process to the next on Python 3.11), so node counts are the same in every process; and it
    is about ten times faster than ``chess.polyglot.zobrist_hash``.
    """
    ep_square = board.ep_square if board.ep_square is not None and board.has_legal_en_passant() \
        else -1
    return hash((board.pawns, board.knights, board.bishops, board.rooks, board.queens,
                 board.kings, board.occupied_co[chess.WHITE], board.occupied_co[chess.BLACK],
                 board.turn, board.clean_castling_rights(), ep_square))


def to_table(score: int, ply: int) -> int:
    """Mate scores are stored as distance from the node, not from the root."""
    if score >= MATE_BOUND:
        return score + ply
    if score <= -MATE_BOUND:
        return score - ply
    return score


def from_table(score: int, ply: int) -> int:
    """The inverse of ``to_table``: a stored score seen from ``ply`` plies below the root."""
    if score >= MATE_BOUND:
        return score - ply
    if score <= -MATE_BOUND:
        return score + ply
    return score

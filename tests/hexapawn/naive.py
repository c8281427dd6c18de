"""A deliberately naive, independent Hexapawn solver: the oracle the fast solver is checked by.

It shares no code with the package: boards are tuples of strings ('P', 'p', '.'), row 0 is
White's home row, and the rules are written out again from the book.
"""

from __future__ import annotations

from functools import cache

Board = tuple[str, ...]


def start(width: int, height: int) -> tuple[Board, str]:
    rows = ["P" * width] + ["." * width] * (height - 2) + ["p" * width]
    return tuple(rows), "w"


def moves(board: Board, turn: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """((row, col), (row, col)) of every legal move, or [] when the game is over."""
    height, width = len(board), len(board[0])
    flat = "".join(board)
    if "P" in board[-1] or "p" in board[0] or "P" not in flat or "p" not in flat:
        return []
    mine, theirs, ahead = ("P", "p", 1) if turn == "w" else ("p", "P", -1)
    found = []
    for row in range(height):
        for col in range(width):
            if board[row][col] != mine:
                continue
            to_row = row + ahead
            if board[to_row][col] == ".":
                found.append(((row, col), (to_row, col)))
            for to_col in (col - 1, col + 1):
                if 0 <= to_col < width and board[to_row][to_col] == theirs:
                    found.append(((row, col), (to_row, to_col)))
    return found


def play(board: Board, move) -> Board:
    (row, col), (to_row, to_col) = move
    rows = [list(line) for line in board]
    rows[to_row][to_col] = rows[row][col]
    rows[row][col] = "."
    return tuple("".join(line) for line in rows)


def solve(width: int, height: int) -> dict[tuple[Board, str], tuple[int, int]]:
    """Every reachable (board, turn) -> (value for the side to move, plies to the end)."""
    table: dict[tuple[Board, str], tuple[int, int]] = {}

    @cache
    def value(board: Board, turn: str) -> tuple[int, int]:
        options = moves(board, turn)
        if not options:
            result = (-1, 0)
        else:
            children = [value(play(board, m), "b" if turn == "w" else "w") for m in options]
            wins = [d for v, d in children if v == -1]
            result = (1, min(wins) + 1) if wins else (-1, max(d for _, d in children) + 1)
        table[(board, turn)] = result
        return result

    value(*start(width, height))
    return table

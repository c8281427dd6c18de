"""Hexapawn on a W x H board, the game of the book's final chapter (after Martin Gardner, 1962).

Each side has a row of pawns on its home row; White moves first. A pawn steps straight forward
onto an empty square or captures diagonally forward. A side wins by reaching the far row, by
capturing every enemy pawn, or when the side to move has no legal move. There are no draws.

A position is three integers: two bitboards and the side to move. Square ``row * W + col`` holds
bit ``row * W + col``; row 0 is White's home row (rank 1), column 0 is file a.

Actions are relative to the side to move, so one policy network serves both colours: the board is
seen from the mover's side (ranks flipped for Black, files kept) and
``action = (relative_row * W + col) * 3 + direction`` where direction 0/1/2 is a step towards
file a / straight / towards the last file.

    >>> game = Hexapawn(3, 3)
    >>> start = game.initial_state()
    >>> game.format(start)
    'ppp/3/PPP w'
    >>> [game.action_to_string(start, a) for a in game.legal_actions(start)]
    ['a1a2', 'b1b2', 'c1c2']

Try it: ``hexapawn play --size 3x3 --opponent solver``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

MIN_SIZE, MAX_SIZE = 3, 8
WHITE, BLACK = 0, 1
FILES = "abcdefgh"


class Position(NamedTuple):
    """Bitboards of White's and Black's pawns and whose turn it is (0 White, 1 Black)."""

    white: int
    black: int
    turn: int


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"WxH"`` (columns x rows) and check the board can exist.

    >>> parse_size("4x3")
    (4, 3)
    """
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if match is None:
        raise ValueError(f"board size {text!r} is not of the form WxH, e.g. 3x3")
    width, height = int(match.group(1)), int(match.group(2))
    check_size(width, height)
    return width, height


def check_size(width: int, height: int) -> None:
    """Raise ValueError unless 3 <= width, height <= 8."""
    for name, value in (("width", width), ("height", height)):
        if not MIN_SIZE <= value <= MAX_SIZE:
            raise ValueError(
                f"board {name} {value} is out of range: Hexapawn boards are "
                f"{MIN_SIZE} to {MAX_SIZE} squares on each side"
            )


@dataclass(frozen=True)
class Hexapawn:
    """The rules of W x H Hexapawn; implements `minizero.game.Game` over `Position`."""

    width: int = 3
    height: int = 3
    _board: int = field(init=False, repr=False, compare=False)
    _not_first_file: int = field(init=False, repr=False, compare=False)
    _not_last_file: int = field(init=False, repr=False, compare=False)
    _mirror: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_size(self.width, self.height)
        width, height = self.width, self.height
        board = (1 << (width * height)) - 1
        first_file = sum(1 << (row * width) for row in range(height))
        last_file = first_file << (width - 1)
        set_ = object.__setattr__
        set_(self, "_board", board)
        set_(self, "_not_first_file", board & ~first_file)
        set_(self, "_not_last_file", board & ~last_file)
        # Left-right mirror of the action space: column c -> W-1-c, direction d -> 2-d.
        mirror = np.empty(self.action_size, dtype=np.int64)
        for square in range(width * height):
            row, col = divmod(square, width)
            for direction in range(3):
                mirrored = (row * width + width - 1 - col) * 3 + 2 - direction
                mirror[square * 3 + direction] = mirrored
        set_(self, "_mirror", mirror)

    # ----------------------------------------------------------------------------- geometry

    @property
    def name(self) -> str:
        return f"hexapawn-{self.width}x{self.height}"

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def action_size(self) -> int:
        return self.width * self.height * 3

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (2, self.height, self.width)

    def row_mask(self, row: int) -> int:
        return ((1 << self.width) - 1) << (row * self.width)

    def relative_square(self, square: int, turn: int) -> int:
        """The square as the side ``turn`` sees it (ranks flipped for Black)."""
        if turn == WHITE:
            return square
        row, col = divmod(square, self.width)
        return (self.height - 1 - row) * self.width + col

    # ----------------------------------------------------------------------------- rules

    def initial_state(self) -> Position:
        return Position(self.row_mask(0), self.row_mask(self.height - 1), WHITE)

    def to_play(self, state: Position) -> int:
        return state.turn

    def winner(self, state: Position) -> int | None:
        """The side that has won (0 White, 1 Black), or None while the game goes on."""
        white, black, turn = state
        if white & self.row_mask(self.height - 1) or not black:
            return WHITE
        if black & self.row_mask(0) or not white:
            return BLACK
        if not self._moves(state):
            return 1 - turn  # the side to move is stuck and loses
        return None

    def terminal_value(self, state: Position) -> float | None:
        """None while the game goes on; -1.0 (a loss for the side to move) once it is over.

        Hexapawn has no draws, and a finished game is always lost by the side to move: either
        the opponent has just won, or the side to move has no legal move.
        """
        return None if self.winner(state) is None else -1.0

    def _moves(self, state: Position) -> list[tuple[int, int, int]]:
        """(from_square, to_square, column step) of every move, ignoring whether the game ended."""
        white, black, turn = state
        width = self.width
        mine, theirs = (white, black) if turn == WHITE else (black, white)
        forward = width if turn == WHITE else -width
        empty = self._board & ~(white | black)
        moves = []
        pawns = mine
        while pawns:
            low = pawns & -pawns
            square = low.bit_length() - 1
            pawns ^= low
            target = square + forward
            if not 0 <= target < width * self.height:
                continue  # a pawn on its last row: the game is already over
            if low & self._not_first_file and (1 << (target - 1)) & theirs:
                moves.append((square, target - 1, -1))
            if (1 << target) & empty:
                moves.append((square, target, 0))
            if low & self._not_last_file and (1 << (target + 1)) & theirs:
                moves.append((square, target + 1, 1))
        return moves

    def _action(self, turn: int, from_square: int, step: int) -> int:
        return self.relative_square(from_square, turn) * 3 + step + 1

    def _decode(self, turn: int, action: int) -> tuple[int, int, int]:
        """(from_square, to_square, column step) of an action for side ``turn``."""
        relative, direction = divmod(action, 3)
        from_square = self.relative_square(relative, turn)  # flipping is its own inverse
        step = direction - 1
        forward = self.width if turn == WHITE else -self.width
        return from_square, from_square + forward + step, step

    def legal_actions(self, state: Position) -> list[int]:
        """Legal actions in increasing order; empty exactly when the game is over."""
        white, black, _ = state
        if (
            white & self.row_mask(self.height - 1)
            or black & self.row_mask(0)
            or not white
            or not black
        ):
            return []
        return sorted(self._action(state.turn, f, s) for f, _, s in self._moves(state))

    def apply(self, state: Position, action: int) -> Position:
        """The position after the side to move plays ``action`` (ValueError if illegal)."""
        if action not in self.legal_actions(state):
            raise ValueError(f"illegal action {action} in position {self.format(state)}")
        return self._play(state, action)

    def _play(self, state: Position, action: int) -> Position:
        """`apply` without the legality check, for searches that generated the action."""
        white, black, turn = state
        from_square, to_square, _ = self._decode(turn, action)
        move = (1 << from_square) | (1 << to_square)
        if turn == WHITE:
            return Position(white ^ move, black & ~(1 << to_square), BLACK)
        return Position(white & ~(1 << to_square), black ^ move, WHITE)

    def key(self, state: Position) -> tuple[int, int, int]:
        return state

    # ----------------------------------------------------------------------------- networks

    def encode(self, state: Position) -> np.ndarray:
        """float32 planes (2, H, W): the mover's pawns, then the opponent's, from the mover's side.

        Row 0 of each plane is the mover's home row, so the mover always advances upwards.
        """
        white, black, turn = state
        planes = np.zeros((2, self.height, self.width), dtype=np.float32)
        mine, theirs = (white, black) if turn == WHITE else (black, white)
        for plane, bits in ((0, mine), (1, theirs)):
            while bits:
                low = bits & -bits
                relative = self.relative_square(low.bit_length() - 1, turn)
                planes[plane, relative // self.width, relative % self.width] = 1.0
                bits ^= low
        return planes

    def mirror_action(self, action: int) -> int:
        """The same move reflected left-right (file a <-> last file)."""
        return int(self._mirror[action])

    def symmetries(
        self, planes: np.ndarray, policy: np.ndarray
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The position and its left-right mirror image (Hexapawn's only symmetry).

        Works on a single ``(C, H, W)`` / ``(A,)`` pair or on batches ``(N, C, H, W)`` / ``(N, A)``.
        """
        mirrored_policy = np.empty_like(policy)
        mirrored_policy[..., self._mirror] = policy
        return [(planes, policy), (np.ascontiguousarray(planes[..., ::-1]), mirrored_policy)]

    # ----------------------------------------------------------------------------- notation

    def square_name(self, square: int) -> str:
        row, col = divmod(square, self.width)
        return f"{FILES[col]}{row + 1}"

    def parse_square(self, text: str) -> int:
        match = re.fullmatch(r"([a-h])([1-8])", text)
        if match is None:
            raise ValueError(f"{text!r} is not a square name like a1")
        col, row = FILES.index(match.group(1)), int(match.group(2)) - 1
        if col >= self.width or row >= self.height:
            raise ValueError(f"square {text} is off the {self.size} board")
        return row * self.width + col

    def action_to_string(self, state: Position, action: int) -> str:
        """``a1a2`` for a step, ``b2xc3`` for a capture."""
        from_square, to_square, step = self._decode(state.turn, action)
        separator = "x" if step else ""
        return f"{self.square_name(from_square)}{separator}{self.square_name(to_square)}"

    def parse_move(self, state: Position, text: str) -> int:
        """The action for a move typed as ``a1a2``, ``a1-a2``, ``b2xc3`` or ``b2c3``.

        Raises ValueError for garbled text or an illegal move.
        """
        match = re.fullmatch(r"\s*([a-h][1-8])\s*[-x]?\s*([a-h][1-8])\s*", text.lower())
        if match is None:
            raise ValueError(f"{text!r} is not a move; write it like a1a2 or b2xc3")
        from_square = self.parse_square(match.group(1))
        to_square = self.parse_square(match.group(2))
        for action in self.legal_actions(state):
            if self._decode(state.turn, action)[:2] == (from_square, to_square):
                return action
        legal = ", ".join(self.action_to_string(state, a) for a in self.legal_actions(state))
        raise ValueError(f"{text.strip()} is not legal here; legal moves: {legal or 'none'}")

    def format(self, state: Position) -> str:
        """One-line text of a position: rows from the top, '/'-separated, then w or b.

        White pawns are ``P``, Black ``p``, a digit counts empty squares.
        """
        rows = []
        for row in reversed(range(self.height)):
            text, empty = "", 0
            for col in range(self.width):
                bit = 1 << (row * self.width + col)
                piece = "P" if state.white & bit else "p" if state.black & bit else None
                if piece is None:
                    empty += 1
                    continue
                text += (str(empty) if empty else "") + piece
                empty = 0
            rows.append(text + (str(empty) if empty else ""))
        return "/".join(rows) + (" w" if state.turn == WHITE else " b")

    def render(self, state: Position) -> str:
        """A board diagram with coordinates, as shown in `hexapawn play`."""
        lines = []
        for row in reversed(range(self.height)):
            cells = []
            for col in range(self.width):
                bit = 1 << (row * self.width + col)
                cells.append("P" if state.white & bit else "p" if state.black & bit else ".")
            lines.append(f"{row + 1}  " + " ".join(cells))
        lines.append("   " + " ".join(FILES[: self.width]))
        lines.append("White to move" if state.turn == WHITE else "Black to move")
        return "\n".join(lines)

    def parse(self, text: str) -> Position:
        """Parse `format` or `render` output for this board size (ValueError if malformed)."""
        game, position = parse_position(text)
        if (game.width, game.height) != (self.width, self.height):
            raise ValueError(f"position is {game.size}, expected {self.size}")
        return position


def _position_from_rows(rows: list[str], turn: int) -> tuple[Hexapawn, Position]:
    """Build a position from rows of 'P', 'p', '.' listed from the top (last rank) down."""
    height = len(rows)
    if height == 0:
        raise ValueError("position has no rows")
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"rows have different lengths {sorted(widths)}")
    game = Hexapawn(widths.pop(), height)
    white = black = 0
    for index, row in enumerate(rows):
        rank = height - 1 - index
        for col, char in enumerate(row):
            bit = 1 << (rank * game.width + col)
            if char == "P":
                white |= bit
            elif char == "p":
                black |= bit
            elif char != ".":
                raise ValueError(f"unexpected {char!r} in row {row!r}: use P, p or .")
    position = Position(white, black, turn)
    mover_goal = game.row_mask(game.height - 1) if turn == WHITE else game.row_mask(0)
    mover = white if turn == WHITE else black
    if mover & mover_goal:
        raise ValueError("the side to move already stands on its last row, which cannot happen")
    return game, position


def parse_position(text: str) -> tuple[Hexapawn, Position]:
    """Parse a position in either text form, inferring the board size.

    One line: ``"ppp/3/PPP w"`` (rows from the top, digits count empty squares, then w or b).
    A diagram as `Hexapawn.render` prints it (rank numbers and the file line are optional).

    >>> game, position = parse_position("p1p/1P1/P1P b")
    >>> game.size, position.turn
    ('3x3', 1)
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty position text")
    if "/" in stripped:
        parts = stripped.split()
        if len(parts) != 2 or parts[1] not in ("w", "b"):
            raise ValueError(f"position {stripped!r} must be rows then ' w' or ' b'")
        rows = []
        for row in parts[0].split("/"):
            expanded = re.sub(r"\d", lambda m: "." * int(m.group()), row)
            rows.append(expanded)
        return _position_from_rows(rows, WHITE if parts[1] == "w" else BLACK)
    rows, turn = [], None
    for line in stripped.splitlines():
        line = line.strip()
        lowered = line.lower()
        if not line or re.fullmatch(r"[a-h](\s+[a-h])*", line):
            continue
        if lowered in ("white to move", "black to move"):
            turn = WHITE if lowered.startswith("white") else BLACK
            continue
        tokens = line.split()
        if tokens and tokens[0].isdigit():
            tokens = tokens[1:]
        rows.append("".join(tokens))
    if turn is None:
        raise ValueError("position diagram lacks a 'White to move' or 'Black to move' line")
    return _position_from_rows(rows, turn)


def from_spec(options: str) -> Hexapawn:
    """The ``minizero.games`` factory: ``"4x3"`` (or empty for 3x3) -> Hexapawn(4, 3)."""
    return Hexapawn(*parse_size(options)) if options else Hexapawn(3, 3)

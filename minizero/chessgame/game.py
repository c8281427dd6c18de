"""Chess as a `minizero.game.Game`: the generic PUCT, self-play and trainer play it unchanged.

A state is a node of a chain: its board (a python-chess board copied *without* its move stack, a
handful of integers), the move that led to it and its parent state. History planes and
repetitions are read by walking the parent pointers, so a search tree never deep-copies a move
stack; legal moves and the result are computed once per state, on first use.

Game rules as the search sees them: checkmate loses (-1 for the side to move), stalemate,
insufficient material, the fifty-move rule (halfmove clock 100) and threefold repetition draw,
and a game reaching ``max_plies`` plies is a draw (the game-length cap of self-play).

Registered under the ``minizero.games`` entry point as ``chess``; options ``history=T`` and
``max_plies=N``, comma separated: ``minizero selfplay --game chess:history=2,max_plies=300``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import chess
import numpy as np

from minizero.chessgame import encoding

DEFAULT_MAX_PLIES = 400


class ChessState:
    """One position in a game: board, parent state, the move from it, cached move lists."""

    __slots__ = ("board", "parent", "move", "ply", "_key", "_repetitions", "_moves", "_result")

    def __init__(self, board: chess.Board, parent: ChessState | None = None,
                 move: chess.Move | None = None) -> None:
        self.board = board  # no move stack: history lives in the parent chain
        self.parent = parent
        self.move = move
        self.ply = 0 if parent is None else parent.ply + 1
        self._key: Hashable | None = None
        self._repetitions: int | None = None
        self._moves: dict[int, chess.Move] | None = None  # legal index -> move
        self._result: float | None | bool = False  # False: not computed yet

    @staticmethod
    def from_board(board: chess.Board) -> ChessState:
        """The chain of a python-chess board: its move stack becomes the parent states."""
        replay = board.root()
        state = ChessState(replay.copy(stack=False))
        for move in board.move_stack:
            state = state.child(move)
        return state

    def child(self, move: chess.Move) -> ChessState:
        board = self.board.copy(stack=False)
        board.push(move)
        return ChessState(board, self, move)

    @property
    def key(self) -> Hashable:
        """Pieces, side to move, castling rights and en-passant square (repetition identity)."""
        if self._key is None:
            self._key = self.board._transposition_key()
        return self._key

    @property
    def repetitions(self) -> int:
        """How often this position occurred earlier in the game (since the last pawn move or
        capture: positions before an irreversible move cannot recur)."""
        if self._repetitions is None:
            count = 0
            state = self.parent
            steps = 1
            while state is not None and steps <= self.board.halfmove_clock:
                if steps % 2 == 0 and state.key == self.key:
                    count += 1
                state = state.parent
                steps += 1
            self._repetitions = count
        return self._repetitions

    @property
    def moves(self) -> dict[int, chess.Move]:
        """Legal moves by policy index, in index order."""
        if self._moves is None:
            turn = self.board.turn
            pairs = sorted((encoding.move_to_index(move, turn), move)
                           for move in self.board.legal_moves)
            self._moves = dict(pairs)
        return self._moves

    def history(self, length: int) -> tuple[list[chess.Board | None], list[int]]:
        """The boards of the last ``length`` positions (this one first) and their repetitions."""
        boards: list[chess.Board | None] = []
        repetitions = []
        state: ChessState | None = self
        for _ in range(length):
            if state is None:
                break
            boards.append(state.board)
            repetitions.append(state.repetitions)
            state = state.parent
        return boards, repetitions

    def to_board(self) -> chess.Board:
        """A python-chess board with the whole move stack (for SAN, PGN, UCI)."""
        moves = []
        state: ChessState | None = self
        while state is not None and state.parent is not None:
            moves.append(state.move)
            state = state.parent
        assert state is not None
        board = state.board.copy(stack=False)
        for move in reversed(moves):
            board.push(move)
        return board


@dataclass(frozen=True)
class ChessGame:
    """Chess for the generic machinery (see the module docstring).

    history: positions in the input planes (T). max_plies: a game this long is a draw.
    """

    history: int = encoding.DEFAULT_HISTORY
    max_plies: int = DEFAULT_MAX_PLIES

    def __post_init__(self) -> None:
        if not 1 <= self.history <= 8:
            raise ValueError(f"history must be 1..8 positions, got {self.history}")
        if self.max_plies < 1:
            raise ValueError(f"max_plies must be positive, got {self.max_plies}")

    @property
    def name(self) -> str:
        return f"chess-t{self.history}"

    @property
    def action_size(self) -> int:
        return encoding.ACTION_SIZE

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (encoding.plane_count(self.history), 8, 8)

    def initial_state(self) -> ChessState:
        return ChessState(chess.Board())

    def state_from_board(self, board: chess.Board) -> ChessState:
        return ChessState.from_board(board)

    def to_play(self, state: ChessState) -> int:
        return 0 if state.board.turn == chess.WHITE else 1

    def legal_actions(self, state: ChessState) -> list[int]:
        if self.terminal_value(state) is not None:
            return []
        return list(state.moves)

    def apply(self, state: ChessState, action: int) -> ChessState:
        move = state.moves.get(action)
        if move is None:
            raise ValueError(f"action {action} is not a legal move in {state.board.fen()}")
        return state.child(move)

    def terminal_value(self, state: ChessState) -> float | None:
        """-1 when the side to move is mated, 0 for a draw, None while the game goes on."""
        if state._result is False:
            board = state.board
            if not state.moves:
                state._result = -1.0 if board.is_check() else 0.0
            elif (board.halfmove_clock >= 100 or state.repetitions >= 2
                  or board.is_insufficient_material() or state.ply >= self.max_plies):
                state._result = 0.0
            else:
                state._result = None
        return state._result  # type: ignore[return-value]

    def key(self, state: ChessState) -> Hashable:
        return (state.key, state.board.halfmove_clock, state.repetitions, state.ply)

    def encode(self, state: ChessState) -> np.ndarray:
        boards, repetitions = state.history(self.history)
        return encoding.encode_planes(boards, repetitions, self.history)

    def symmetries(self, planes: np.ndarray, policy: np.ndarray
                   ) -> Sequence[tuple[np.ndarray, np.ndarray]]:
        return [(planes, policy)]  # castling and pawn direction break chess's symmetries

    def action_to_string(self, state: ChessState, action: int) -> str:
        move = state.moves.get(action)
        if move is None:
            return f"illegal({action})"
        return state.board.san(move)

    def move(self, state: ChessState, action: int) -> chess.Move:
        """The python-chess move of a legal action."""
        move = state.moves.get(action)
        if move is None:
            raise ValueError(f"action {action} is not a legal move in {state.board.fen()}")
        return move


def from_spec(options: str) -> ChessGame:
    """The ``minizero.games`` factory: ``"history=2,max_plies=300"`` (or empty) -> ChessGame."""
    values = {}
    for item in filter(None, (part.strip() for part in options.split(","))):
        name, _, text = item.partition("=")
        if name not in ("history", "max_plies"):
            raise ValueError(f"unknown chess option {name!r}; options: history=T, max_plies=N")
        try:
            values[name] = int(text)
        except ValueError:
            raise ValueError(f"chess option {name} needs a whole number, got {text!r}") from None
    return ChessGame(**values)

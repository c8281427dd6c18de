"""Chess endgames as a game: episodes start from a won position of a tablebase.

``EndgameGame`` is the chess `Game` (chessgame/game.py: the same input planes, the same 4672-move
policy map, the same rules: mate, stalemate, insufficient material, repetition and the fifty-move
rule end an episode) whose episodes start from a position drawn from a table: one the learning
side is to move in and wins. ``side`` is the colour that learns (the table's stronger side, put
on that colour); ``starts`` draws a start uniformly over the won positions, weighted by their
squared distance to mate in plies (``long``), or with every distance equally likely (``even``: a
mate in one as often as the longest mate, a curriculum without a schedule), each turned by a
random symmetry of the board; ``within=K`` keeps only the starts at most K plies from mate. The
defender: in self-play the learner plays both sides (the generic loop runs unchanged); graders
(endgame_grade.py) pit it against the tables' best resistance.

Supervised labels come from the tables (`label`): the policy target is spread evenly over the
distance-optimal moves (the fastest mates when winning, the longest resistance when losing,
every drawing move in a draw), and the value target is the exact result (+1, 0, -1).

The tables are built on demand into the user cache (or ``tables=DIR``). Registered under the
``minizero.games`` entry point as ``chess-endgame``:
``minizero selfplay --game chess-endgame:KRvK,side=black,starts=long``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import chess
import numpy as np

from minizero.chessgame import encoding
from minizero.chessgame.game import ChessGame, ChessState
from minizero.chessgame.protocol import MATE
from minizero.chessgame.tablebase.index import FILE_MIRROR, TRANSFORMS, decode, layout_of
from minizero.chessgame.tablebase.probe import Tablebase
from minizero.chessgame.tablebase.signature import Signature, parse_signature
from minizero.chessgame.tablebase.storage import default_directory

SIDES = ("white", "black")
STARTS = ("uniform", "long", "even")
ENDGAME_HISTORY = 1  # positions in the input planes: an endgame's past matters only for repetitions


@lru_cache(maxsize=8)
def tablebase(directory: str) -> Tablebase:
    """One Tablebase per folder and process (tables built there on first use)."""
    return Tablebase(directory, build_missing=True)


@lru_cache(maxsize=8)
def won_entries(name: str, directory: str) -> tuple[np.ndarray, np.ndarray]:
    """Table indices of the positions with White (the table's stronger side) to move and
    winning, and their distances to mate in plies."""
    signature = parse_signature(name)
    values = tablebase(directory).table(signature)
    assert values is not None  # built on demand
    half = len(values) // 2  # the first half of a table: White to move
    indices = np.flatnonzero(values[:half] > 0)
    return indices, (MATE - values[indices].astype(np.int64))


def board_of(signature: Signature, index: int, symmetry: int) -> chess.Board:
    """The position of a table index turned by a symmetry (bits of index.TRANSFORMS)."""
    squares = np.zeros(4, np.int64)
    turn = decode(layout_of(signature), index, squares)
    board = chess.Board(None)
    for square, (colour, piece) in zip(squares, signature.pieces()):
        board.set_piece_at(int(TRANSFORMS[symmetry, square]), chess.Piece(piece, colour))
    board.turn = bool(turn)
    return board


@dataclass(frozen=True)
class EndgameGame(ChessGame):
    """Chess from tablebase starts (see the module docstring).

    signature: the table, e.g. "KRvK". side: the colour that learns ("white" or "black").
    starts: "uniform" over the won positions, "long" (weighted by distance to mate squared), or
        "even" (every distance to mate equally likely).
    within: only starts at most this many plies from mate (0: every won position).
    tables: the tables' folder ("" for the user cache). history, max_plies: as in chess.
    """

    history: int = ENDGAME_HISTORY
    signature: str = "KQvK"
    side: str = "white"
    starts: str = "uniform"
    within: int = 0
    tables: str = field(default="")

    def __post_init__(self) -> None:
        super().__post_init__()
        canonical = parse_signature(self.signature)  # ValueError: unknown or too many men
        object.__setattr__(self, "signature", canonical.name)
        if self.side not in SIDES:
            raise ValueError(f"side must be white or black, got {self.side!r}")
        if self.starts not in STARTS:
            raise ValueError(f"starts must be uniform, long or even, got {self.starts!r}")
        if self.within < 0:
            raise ValueError(f"within must be 0 (no limit) or a number of plies, got "
                             f"{self.within}")

    @property
    def name(self) -> str:
        within = f"-within{self.within}" if self.within else ""
        return (f"chess-endgame-{self.signature}-{self.side}-{self.starts}{within}"
                f"-t{self.history}")

    @property
    def spec(self) -> str:
        """The text `from_spec` turns back into this game."""
        tables = f",tables={self.tables}" if self.tables else ""
        within = f",within={self.within}" if self.within else ""
        return (f"chess-endgame:{self.signature},side={self.side},starts={self.starts},"
                f"history={self.history},max_plies={self.max_plies}{within}{tables}")

    @property
    def directory(self) -> str:
        return self.tables or str(default_directory())

    @property
    def learner(self) -> chess.Color:
        return chess.WHITE if self.side == "white" else chess.BLACK

    def tablebase(self) -> Tablebase:
        return tablebase(self.directory)

    def won_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """(table indices, distances in plies) of the won positions with the learner to move
        that episodes start from: all of them, or those ``within`` plies of mate."""
        indices, plies = won_entries(self.signature, self.directory)
        if not len(indices):
            raise ValueError(f"{self.signature}: the stronger side never wins; no start position")
        if not self.within:
            return indices, plies
        near = plies <= self.within
        if not near.any():
            raise ValueError(f"{self.signature}: no won position within {self.within} plies of "
                             f"mate (the nearest is {plies.min()})")
        return indices[near], plies[near]

    def start_board(self, index: int, symmetry: int) -> chess.Board:
        """A table position on the board the learner sees: its pieces on the learner's colour."""
        board = board_of(parse_signature(self.signature), index, symmetry)
        return board if self.learner == chess.WHITE else board.mirror()

    def random_symmetry(self, rng: np.random.Generator) -> int:
        """A symmetry of the board that keeps the rules (bits of index.TRANSFORMS): any of 8
        without pawns, the a <-> h mirror or none with them."""
        if parse_signature(self.signature).has_pawns:
            return FILE_MIRROR * int(rng.integers(2))
        return int(rng.integers(8))

    def random_start(self, rng: np.random.Generator, starts: str | None = None) -> ChessState:
        """A start drawn with ``rng``: a won position, the learner to move (see ``starts``)."""
        indices, plies = self.won_starts()
        starts = starts or self.starts
        if starts in ("long", "even"):
            if starts == "long":
                weights = plies.astype(np.float64) ** 2
            else:  # each distance's positions share one equal part
                weights = 1.0 / np.bincount(plies)[plies]
            choice = int(rng.choice(len(indices), p=weights / weights.sum()))
        else:
            choice = int(rng.integers(len(indices)))
        return ChessState(self.start_board(int(indices[choice]), self.random_symmetry(rng)))

    def initial_state(self) -> ChessState:
        """A fixed start (the first a seed-0 draw gives); self-play draws with `random_start`."""
        return self.random_start(np.random.default_rng(0))


def label(tables: Tablebase, board: chess.Board) -> tuple[list[int], float] | None:
    """The supervised targets of a position: the policy indices of its distance-optimal moves
    and its exact value for the side to move (+1 won, 0 drawn, -1 lost); None when the game is
    over there or the tables cannot say."""
    best = tables.best_moves(board)
    if not best:
        return None
    value = best[0][1]
    return ([encoding.move_to_index(move, board.turn) for move, _ in best],
            float(np.sign(value)))


def from_spec(options: str) -> EndgameGame:
    """The ``minizero.games`` factory: ``"KRvK,side=black,starts=long,tables=DIR"``."""
    items = [part.strip() for part in options.split(",")]
    if not items or not items[0] or "=" in items[0]:
        raise ValueError("chess-endgame needs a table signature first, e.g. "
                         "--game chess-endgame:KRvK")
    values: dict[str, object] = {"signature": items[0]}
    for item in filter(None, items[1:]):
        name, _, text = item.partition("=")
        if name in ("history", "max_plies", "within"):
            try:
                values[name] = int(text)
            except ValueError:
                raise ValueError(f"chess-endgame option {name} needs a whole number, "
                                 f"got {text!r}") from None
        elif name in ("side", "starts", "tables"):
            values[name] = text
        else:
            raise ValueError(f"unknown chess-endgame option {name!r}; options: side=white|black,"
                             " starts=uniform|long|even, within=PLIES, tables=DIR, history=T,"
                             " max_plies=N")
    return EndgameGame(**values)  # type: ignore[arg-type]

"""What the UCI server asks of a chess engine, and what it gets back.

Every engine of the package (alpha-beta with the classical evaluator, alpha-beta with an NNUE,
PUCT with a policy-value network) is an ``Engine``: a name, its own UCI options, and a
``search(board, limits, ...)`` that reports ``SearchInfo`` lines while it thinks and returns a
``SearchResult``. The UCI server (``uci.py``) knows nothing else about it, so an engine is a
few lines that pick its parts. Scores are centipawns from the side to move; mate in n plies is
``MATE - n`` and being mated in n plies ``-(MATE - n)``.

Reference: the UCI specification (Meyer-Kahlen, 2004) for the option types and info fields.
Try it: ``minizero-uci``, then ``uci``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import chess

MATE = 32000  # the score of giving mate now; mate in n plies scores MATE - n
MATE_BOUND = MATE - 1000  # scores beyond this (either sign) are mates
EXACT, LOWER, UPPER = 0, 1, 2  # a reported score is the value, a lower bound or an upper bound


@dataclass(frozen=True)
class Limits:
    """When to stop. ``None`` means no limit of that kind; all of None means search forever.

    soft_time: seconds after which no new iteration starts; hard_time: seconds after which the
    search stops at once. mate: stop when a mate in this many moves is found.
    searchmoves: restrict the root to these moves.
    """

    depth: int | None = None
    nodes: int | None = None
    soft_time: float | None = None
    hard_time: float | None = None
    mate: int | None = None
    searchmoves: tuple[chess.Move, ...] = ()


@dataclass
class SearchInfo:
    """One report while searching (a UCI ``info`` line). Score: centipawns, side to move.

    With ``currmove`` set it is a progress report instead (``info depth d currmove m
    currmovenumber n``): the root move now being searched, counted from 1; score and pv unused.
    ``tbhits``: positions answered by endgame tables in this search. With ``text`` set it is
    a message for the user instead (``info string TEXT``, ``message()``); the rest unused.
    """

    depth: int
    seldepth: int
    score: int
    nodes: int
    time: float
    hashfull: int
    pv: list[chess.Move]
    multipv: int = 1
    bound: int = EXACT
    currmove: chess.Move | None = None
    currmovenumber: int = 0
    tbhits: int = 0
    text: str = ""

    @classmethod
    def message(cls, text: str) -> SearchInfo:
        """A report that is only a message (UCI ``info string``)."""
        return cls(depth=0, seldepth=0, score=0, nodes=0, time=0.0, hashfull=0, pv=[], text=text)

    @property
    def mate_in(self) -> int | None:
        """Moves to mate (negative: we are mated), or None for a centipawn score."""
        if abs(self.score) < MATE_BOUND:
            return None
        plies = MATE - abs(self.score)
        moves = (plies + 1) // 2
        return moves if self.score > 0 else -moves


@dataclass
class SearchResult:
    """The answer: best move (None when there is no legal move), its score and the PV."""

    best_move: chess.Move | None
    score: int
    depth: int
    nodes: int
    time: float
    pv: list[chess.Move] = field(default_factory=list)

    @property
    def ponder_move(self) -> chess.Move | None:
        return self.pv[1] if len(self.pv) > 1 else None


@dataclass(frozen=True)
class UciOption:
    """One engine option as announced by ``uci``: type spin, check, combo, string or button."""

    name: str
    type: str
    default: object = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()  # the values of a combo

    def declaration(self) -> str:
        line = f"option name {self.name} type {self.type}"
        if self.type == "check":
            line += f" default {'true' if self.default else 'false'}"
        elif self.type == "spin":
            line += f" default {self.default} min {self.minimum} max {self.maximum}"
        elif self.type == "combo":
            line += f" default {self.default}" + "".join(f" var {choice}"
                                                        for choice in self.choices)
        elif self.type == "string":
            line += f" default {self.default if self.default not in (None, '') else '<empty>'}"
        return line

    def parse(self, text: str) -> object:
        """The typed value of ``text``, or ValueError with the reason."""
        if self.type == "spin":
            try:
                value = int(text)
            except ValueError:
                raise ValueError(f"option {self.name} needs an integer, got '{text}'") from None
            if not self.minimum <= value <= self.maximum:
                raise ValueError(
                    f"option {self.name} must be in [{self.minimum}, {self.maximum}], got {value}")
            return value
        if self.type == "check":
            if text.lower() not in ("true", "false"):
                raise ValueError(f"option {self.name} needs true or false, got '{text}'")
            return text.lower() == "true"
        if self.type == "combo":
            for choice in self.choices:
                if text.lower() == choice.lower():
                    return choice
            raise ValueError(f"option {self.name} must be one of {', '.join(self.choices)}, "
                             f"got '{text}'")
        if self.type == "string":
            return "" if text == "<empty>" else text
        return None  # button


InfoCallback = Callable[[SearchInfo], None]


class Engine:
    """The base of every engine the UCI server drives. Override what the engine has.

    ``options()`` lists the engine's own UCI options (the server adds MultiPV, Ponder and Move
    Overhead); ``set_option`` receives a parsed value and raises ValueError with the reason when
    it cannot take it (the server answers ``info string <reason>`` and the engine must keep its
    previous state); ``prepare()`` does heavy loading (a network) at ``isready`` or before the
    first search. ``search`` must honour ``limits`` and ``stop_event`` and return a result.
    """

    name = "minizero"

    def options(self) -> list[UciOption]:
        return []

    def set_option(self, name: str, value: object) -> None:
        raise ValueError(f"unknown option '{name}'")

    def prepare(self) -> None:
        """Load what the first search needs (lazily, so ``uci`` answers at once)."""

    def new_game(self) -> None:
        """Forget what was learnt about the previous game (tables, trees)."""

    def search(
        self,
        board: chess.Board,
        limits: Limits,
        on_info: InfoCallback | None = None,
        multipv: int = 1,
        start_time: float | None = None,
        stop_event: threading.Event | None = None,
    ) -> SearchResult:
        raise NotImplementedError

    def extend_time(self, soft_time: float | None, hard_time: float | None) -> None:
        """Replace the time limits of the running search, counted from now (ponderhit)."""

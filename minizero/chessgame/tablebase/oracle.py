"""The tables in the engines: exact scores inside the search, and a best move at the root.

Every engine of the package (``minizero-uci``, ``nnue-uci``, ``zero-uci``) holds an
``EndgameOracle`` and uses it the same way:

- **At the root**, with four men or fewer (or as many as the Syzygy files hold), the engine
  plays a best move by the tables instead of searching: the winning side the fastest mate, the
  losing side the longest resistance, a drawn side any drawing move; the engine's own
  evaluation breaks ties (``root_choice``).
- **Inside the search** (the alpha-beta engines), a position the tables hold is not searched
  further: its score is exact (``score``), mate in n plies or a draw.

UCI options, in the convention of the engines that use tables:

- ``Tablebases`` (check, default true): the package's own tables, from ``TablebasePath``
  (default empty: the per-user cache, ``minizero tablebase build --all 4`` fills it). A table not
  built is skipped with an ``info string`` naming the command that builds it; nothing is built
  while a clock runs.
- ``SyzygyPath`` (string, default empty): a folder of Syzygy tables (``*.rtbw``/``*.rtbz``),
  probed through python-chess, for users who own the 5- and 6-man files. Syzygy stores
  win/draw/loss and distance to a zeroing move, not distance to mate: a Syzygy win scores
  ``SYZYGY_WIN`` (above every evaluation, below every mate), and a win that the 50-move rule
  turns into a draw (Syzygy's "cursed win") scores 0. The root rule needs the DTZ files
  (``*.rtbz``) too, to choose the win that makes progress; with the WDL files alone they
  score the search's positions and the search chooses. The package's tables are asked first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import chess
import chess.syzygy

from minizero.chessgame.protocol import MATE_BOUND, UciOption
from minizero.chessgame.tablebase.probe import Tablebase
from minizero.chessgame.tablebase.signature import MAX_MEN
from minizero.chessgame.tablebase.storage import default_directory

SYZYGY_WIN = MATE_BOUND - 1000  # a Syzygy win: more than any evaluation, less than a mate
PV_PLIES = 12  # the root's principal variation follows the tables this far


def tablebase_options() -> list[UciOption]:
    return [UciOption("Tablebases", "check", True),
            UciOption("TablebasePath", "string", ""),  # empty: the per-user cache
            UciOption("SyzygyPath", "string", "")]


class EndgameOracle:
    """The package's tables and, optionally, Syzygy's, behind the engines' two questions."""

    def __init__(self) -> None:
        self.enabled = True
        self.tables = Tablebase(default_directory())
        self.syzygy: chess.syzygy.Tablebase | None = None
        self.syzygy_men = 0
        self.syzygy_hits = 0
        self._reported: set[str] = set()

    # ------------------------------------------------------------------ options
    def set_option(self, name: str, value: object) -> bool:
        """Take one of ``tablebase_options()``; False for another name. ValueError for a
        value that cannot be taken (the previous setting stays)."""
        key = name.lower()
        if key == "tablebases":
            self.enabled = bool(value)
        elif key == "tablebasepath":
            path = Path(str(value)) if value else default_directory()
            if path.exists() and not path.is_dir():
                raise ValueError(f"TablebasePath {path} is not a folder")
            self.tables = Tablebase(path)
        elif key == "syzygypath":
            self._open_syzygy(str(value or ""))
        else:
            return False
        return True

    def _open_syzygy(self, paths: str) -> None:
        if not paths:
            self.syzygy, self.syzygy_men = None, 0
            return
        folders = [Path(part) for part in paths.split(":") if part]
        for folder in folders:
            if not folder.is_dir():
                raise ValueError(f"SyzygyPath {folder} is not a folder")
        tablebase = chess.syzygy.Tablebase()
        found = sum(tablebase.add_directory(str(folder)) for folder in folders)
        if not found:
            raise ValueError(f"SyzygyPath {paths}: no Syzygy tables (*.rtbw) there")
        self.syzygy = tablebase
        names = [name.replace("v", "") for name in tablebase.wdl]
        self.syzygy_men = max((len(name) for name in names), default=0)

    @property
    def hits(self) -> int:
        return self.tables.hits + self.syzygy_hits

    @property
    def max_men(self) -> int:
        """The most men a position may have to be looked up (0: no tables at all)."""
        return max(MAX_MEN if self.enabled else 0, self.syzygy_men)

    def new_game(self) -> None:
        """Tables built since are found again; missing ones are reported again."""
        self.tables.forget_missing()
        self._reported.clear()

    # ------------------------------------------------------------------ probes
    def score(self, board: chess.Board, ply: int) -> int | None:
        """The exact score of ``board`` for the side to move, ``ply`` plies from the root
        (mate in n plies from here scores ``MATE - ply - n``), or None."""
        if self.enabled and chess.popcount(board.occupied) <= MAX_MEN:
            value = self.tables.probe(board)
            if value is not None:
                return value - ply if value > 0 else (value + ply if value < 0 else 0)
        if self.syzygy is not None and chess.popcount(board.occupied) <= self.syzygy_men:
            try:
                wdl = self.syzygy.probe_wdl(board)
            except KeyError:
                return None
            self.syzygy_hits += 1
            return (SYZYGY_WIN - ply) if wdl == 2 else (-(SYZYGY_WIN - ply) if wdl == -2 else 0)
        return None

    def _scored_moves(self, board: chess.Board) -> list[tuple[chess.Move, int, int]] | None:
        """Every legal move with a rank (higher is better) and its score for the mover.

        With the package's tables both are the exact value. With Syzygy the rank orders by
        result (win, cursed win, draw, blessed loss, loss), then a win by the fewest plies to
        a capture or pawn move (a zeroing move first), a loss by the most.
        """
        if self.enabled and chess.popcount(board.occupied) <= MAX_MEN:
            scored = self.tables.probe_moves(board)
            if scored is not None:
                return [(move, value, value) for move, value in scored]
        if self.syzygy is None or chess.popcount(board.occupied) > self.syzygy_men:
            return None
        ranked = []
        for move in board.legal_moves:
            zeroing = board.is_zeroing(move)
            board.push(move)
            try:
                wdl, dtz = -self.syzygy.probe_wdl(board), self.syzygy.probe_dtz(board)
            except KeyError:  # a file missing (WDL alone cannot say which win progresses)
                return None
            finally:
                board.pop()
            self.syzygy_hits += 1
            distance = 0 if zeroing else abs(dtz)
            rank = 1000 * wdl + (-distance if wdl > 0 else distance if wdl < 0 else 0)
            score = SYZYGY_WIN if wdl == 2 else (-SYZYGY_WIN if wdl == -2 else 0)
            ranked.append((move, rank, score))
        return ranked

    def missing_report(self) -> str | None:
        """An ``info string`` text naming the tables asked for but not built, each once a game."""
        if not self.enabled:
            return None
        new = sorted(self.tables.missing - self._reported)
        if not new:
            return None
        self._reported.update(new)
        where = ("" if self.tables.directory == default_directory()
                 else f" --out {self.tables.directory}")
        return (f"tablebase {', '.join(new)} not built; build with: minizero tablebase build "
                f"--all 4{where}")

    def root_choice(self, board: chess.Board, among: Sequence[chess.Move] = (),
                    prefer: Callable[[list[chess.Move]], chess.Move] | None = None
                    ) -> tuple[chess.Move, int, list[chess.Move]] | None:
        """The move to play by the tables (restricted to ``among`` when given), its score for
        the side to move and a principal variation; None when the tables do not hold the
        position. ``prefer`` picks among equally good moves (the engine's own evaluation)."""
        if self.max_men == 0 or chess.popcount(board.occupied) > self.max_men:
            return None
        scored = self._scored_moves(board)
        if not scored:
            return None
        if among:
            scored = [item for item in scored if item[0] in among] or scored
        best = max(rank for _, rank, _ in scored)
        candidates = [(move, score) for move, rank, score in scored if rank == best]
        moves = [move for move, _ in candidates]
        move = prefer(moves) if prefer is not None and len(moves) > 1 else moves[0]
        return move, candidates[moves.index(move)][1], self._line(board, move)

    def _line(self, board: chess.Board, move: chess.Move) -> list[chess.Move]:
        """``move`` followed by best moves by the tables, up to ``PV_PLIES`` plies."""
        line = [move]
        board = board.copy(stack=False)
        board.push(move)
        while len(line) < PV_PLIES and not board.is_game_over():
            scored = self._scored_moves(board)
            if not scored:
                break
            reply = max(scored, key=lambda item: item[1])[0]  # the best rank
            line.append(reply)
            board.push(reply)
        return line

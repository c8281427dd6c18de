"""Probing the tables from python-chess boards, and building the tables that are missing.

``Tablebase(directory).probe(board)`` is the exact value of a position of at most four men,
from the side to move, in the engine's mate-score scale (``MATE - n``: mate in n plies;
``-(MATE - n)``: mated in n plies; 0: draw); ``probe_moves`` gives every legal move with its
value for the mover. Tables are loaded on first use, and built first when the Tablebase was
made with ``build_missing=True`` (``build_tables`` builds a list of tables, dependencies
first, skipping those already on disk, so an interrupted build resumes where it stopped).

Not in the tables, so ``probe`` answers None: more than four men, castling rights (the tables
have none), and tables not built. A position with an en passant right is not an entry of the
table either; it is probed by one ply of search over its moves.

Try it: ``minizero tablebase probe "8/8/8/8/8/2k5/8/KQ6 w - - 0 1"``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import chess
import numpy as np
from tqdm import tqdm

from minizero.chessgame.tablebase.index import encode, layout_of, table_size
from minizero.chessgame.tablebase.signature import (
    MAX_MEN,
    Signature,
    build_order,
    signature_of_board,
)
from minizero.chessgame.tablebase.solver import back, solve
from minizero.chessgame.tablebase.storage import (
    default_directory,
    load_table,
    read_header,
    save_table,
    table_path,
)
from minizero.cluster import LOCAL, ClusterSpec, Units


def build_tables(signatures: Iterable[Signature], directory: str | Path, force: bool = False,
                 quiet: bool = False, cluster: ClusterSpec = LOCAL,
                 workers: int | None = 1) -> list[Path]:
    """Build ``signatures`` and what they depend on into ``directory``; return the files.

    A table already on disk (a whole, valid file) is kept unless ``force``. One table is one
    unit of work (``minizero.cluster``): it starts once the tables it depends on are solved, so
    up to ``workers`` tables (or the whole Ray cluster's) are solved at once; this process
    writes each atomically as it arrives, so a killed build loses at most the tables being
    solved, and the next call goes on from there.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} is not a folder")
    signatures = list(signatures)
    order = build_order(signatures)
    wanted = {signature.name for signature in signatures}
    todo = []
    for signature in order:
        path = table_path(directory, signature)
        if path.exists() and not (force and signature.name in wanted):
            read_header(path, signature)  # a damaged file is named, not silently rebuilt
        else:
            todo.append(signature)
    if not todo:
        return [table_path(directory, signature) for signature in order]
    unsolved = {signature.name for signature in todo}
    shared: dict[Signature, object] = {}  # solved tables that later ones still need
    bar = tqdm(total=len(todo), desc="tablebases", unit="table", file=sys.stderr,
               disable=quiet or not sys.stderr.isatty())
    with Units(cluster, workers) as units:  # a cluster not joined: nothing made
        directory.mkdir(parents=True, exist_ok=True)
        while todo or units.running:
            for signature in [s for s in todo if not {d.name for d in s.dependencies()}
                              & unsolved][:max(0, units.capacity - units.running)]:
                todo.remove(signature)
                dependencies = signature.dependencies()
                for dependency in dependencies:
                    if dependency not in shared:
                        shared[dependency] = units.share(
                            load_table(table_path(directory, dependency), dependency))
                units.submit(signature, solve_unit, signature, tuple(dependencies),
                             *(shared[dependency] for dependency in dependencies))
            signature, values = units.next_done()
            expected = table_size(layout_of(signature))
            if not (isinstance(values, np.ndarray) and values.dtype == np.int16
                    and values.shape == (expected,)):
                raise ValueError(f"a worker returned a corrupt {signature.name} table (not "
                                 f"{expected} int16 values); the tables written so far are kept")
            save_table(table_path(directory, signature), signature, values)
            unsolved.discard(signature.name)
            shared[signature] = units.share(values)
            needed = {d for later in todo for d in later.dependencies()}
            for kept in [s for s in shared if s not in needed]:
                del shared[kept]
            bar.update()
            bar.set_postfix_str(signature.name)
    bar.close()
    return [table_path(directory, signature) for signature in order]


def solve_unit(signature: Signature, dependencies: tuple[Signature, ...],
               *values: np.ndarray) -> np.ndarray:
    """One table solved from its dependencies' values (a unit of work of ``build_tables``)."""
    return solve(signature, dict(zip(dependencies, values)))


class Tablebase:
    """The tables of one folder (default: the per-user cache), loaded on first use.

    ``hits`` counts the positions answered from a table (UCI's ``tbhits``); ``missing`` holds
    the names of tables asked for but not built (when ``build_missing`` is False).
    """

    def __init__(self, directory: str | Path | None = None, build_missing: bool = False,
                 quiet: bool = True) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()
        self.build_missing = build_missing
        self.quiet = quiet
        self.hits = 0
        self.missing: set[str] = set()
        self._tables: dict[str, np.ndarray] = {}
        # material (colour and type of each man but the kings, in square order) ->
        # (values, layout, slot of each man, colours swapped?)
        self._materials: dict[tuple, tuple[np.ndarray, np.ndarray, list[int], bool] | None] = {}

    def table(self, signature: Signature) -> np.ndarray | None:
        """The solved values of a table, or None when it is not built (and not to be built)."""
        values = self._tables.get(signature.name)
        if values is not None or signature.name in self.missing:
            return values
        path = table_path(self.directory, signature)
        if not path.exists():
            if not self.build_missing:
                self.missing.add(signature.name)
                return None
            build_tables([signature], self.directory, quiet=self.quiet)
        values = load_table(path, signature)
        self._tables[signature.name] = values
        return values

    def _material(self, board: chess.Board, men: list[int]) -> tuple | None:
        key = tuple((board.color_at(square), board.piece_type_at(square)) for square in men)
        if key not in self._materials:
            signature, swapped = signature_of_board(board)
            values = self.table(signature)
            if values is None:
                self._materials[key] = None  # until forget_missing()
                return None
            slots = []
            taken: set[int] = set()
            for colour, piece in signature.pieces()[2:]:
                wanted = (colour != swapped, piece)
                position = next(p for p, man in enumerate(key) if man == wanted and p not in taken)
                taken.add(position)
                slots.append(position)
            self._materials[key] = (values, layout_of(signature), slots, swapped)
        return self._materials[key]

    def forget_missing(self) -> None:
        """Look on disk again for the tables that were missing (built since, perhaps)."""
        self.missing.clear()
        self._materials = {key: found for key, found in self._materials.items()
                           if found is not None}

    def probe(self, board: chess.Board) -> int | None:
        """The value of ``board`` from the side to move (mate-score scale), or None."""
        occupied = board.occupied
        men_count = chess.popcount(occupied)
        if men_count > MAX_MEN or board.castling_rights:
            return None
        if men_count == 2:
            return 0
        if board.ep_square is not None and board.has_legal_en_passant():
            moves = self.probe_moves(board)
            return None if moves is None else max(value for _, value in moves)
        men = list(chess.scan_forward(occupied & ~board.kings))
        material = self._material(board, men)
        if material is None:
            return None
        values, layout, slots, swapped = material
        flip = 56 if swapped else 0
        white_king = board.king(chess.BLACK if swapped else chess.WHITE)
        black_king = board.king(chess.WHITE if swapped else chess.BLACK)
        squares = np.array([white_king ^ flip, black_king ^ flip]  # type: ignore[operator]
                           + [men[slot] ^ flip for slot in slots] + [0] * (4 - men_count),
                           np.int64)
        turn = board.turn != swapped
        self.hits += 1
        return int(values[encode(layout, squares, int(turn))])

    def probe_moves(self, board: chess.Board) -> list[tuple[chess.Move, int]] | None:
        """Every legal move with its value for the side to move, or None when a position after
        a move is not in the tables (more than four men, castling rights, a table not built)."""
        if chess.popcount(board.occupied) > MAX_MEN or board.castling_rights:
            return None
        scored = []
        for move in board.legal_moves:
            board.push(move)
            try:
                value = self.probe(board)
            finally:
                board.pop()
            if value is None:
                return None
            scored.append((move, back(value)))
        return scored

    def best_moves(self, board: chess.Board) -> list[tuple[chess.Move, int]] | None:
        """The moves with the best value for the side to move (the fastest mate, the longest
        resistance, or any drawing move), or None when the tables cannot say."""
        if chess.popcount(board.occupied) > MAX_MEN:
            return None
        scored = self.probe_moves(board)
        if not scored:
            return None
        best = max(value for _, value in scored)
        return [(move, value) for move, value in scored if value == best]

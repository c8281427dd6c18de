"""The exact solution of W x H Hexapawn: every reachable position's value, distance and best moves.

Hexapawn can be solved outright because every move is irreversible: a pawn only ever goes forward.
This solver makes that precise with a *potential* that every move strictly increases,

    potential = captures * (H - 1) + advancement,

where ``advancement`` sums how many rows each pawn has left its home row and ``captures`` counts the
pawns gone. A step adds 1; a capture adds 1 + (H - 1) minus the captured pawn's advancement
(at most H - 2), so at least 2. The positions therefore fall into layers of equal potential, and
every move leads from a layer to a later one. Forward, layer by layer, we enumerate what is
reachable; backward, layer by layer, every child is already solved when its parent is.

Everything is vectorized over a layer: a position is one 64-bit integer
``turn << 2N | white << N | black`` (N = W * H squares), and move generation loops over the
N squares x 3 directions only, each step a numpy operation over the whole layer. That is what makes
5x5 (about 3.7 million positions) take seconds and a few hundred MB; a dictionary of position
objects takes ten times longer and several times the memory.

Scores are from the side to move: ``MATE - d`` for a win in ``d`` plies, ``-(MATE - d)`` for a loss
in ``d``. Taking the maximum over moves of the negated child score (one ply further) makes the
optimal player win as fast and lose as slowly as possible.

Run it: ``hexapawn solve --size 4x4``.
"""

from __future__ import annotations

import json
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hexapawn.game import BLACK, WHITE, Hexapawn, Position, check_size
from minizero.atomic import atomic_write

MATE = 1000  # |score| of a position won/lost on the spot; distances are subtracted from it
MAX_SQUARES = 31  # 2 bitboards + the turn bit must fit in 63 bits
FORMAT_VERSION = 1


def encode_key(position: Position, squares: int) -> int:
    """The 64-bit key of a position: turn << 2N | white << N | black."""
    return (position.turn << (2 * squares)) | (position.white << squares) | position.black


def decode_key(key: int, squares: int) -> Position:
    mask = (1 << squares) - 1
    return Position((key >> squares) & mask, key & mask, key >> (2 * squares))


@dataclass(frozen=True)
class _Move:
    """One (from square, direction) pair for one side: constants of the vectorized generator."""

    turn: int
    from_bit: np.uint64
    to_bit: np.uint64
    capture: bool
    action: int
    potential_gain: int


def _move_table(game: Hexapawn) -> list[_Move]:
    """Every geometrically possible move of either side, with its action and potential gain."""
    width, height = game.width, game.height
    squares = width * height
    table = []
    for turn in (WHITE, BLACK):
        forward = 1 if turn == WHITE else -1
        for square in range(squares):
            row, col = divmod(square, width)
            to_row = row + forward
            if not 0 <= to_row < height:
                continue
            for step in (-1, 0, 1):
                to_col = col + step
                if not 0 <= to_col < width:
                    continue
                to_square = to_row * width + to_col
                gain = 1
                if step:
                    # The captured pawn stood on to_row; its own advancement is lost.
                    captured_advance = (height - 1 - to_row) if turn == WHITE else to_row
                    gain += (height - 1) - captured_advance
                table.append(_Move(
                    turn, np.uint64(1 << square), np.uint64(1 << to_square), bool(step),
                    game.relative_square(square, turn) * 3 + step + 1, gain,
                ))
    return table


class _Layer:
    """The positions of one potential: sorted unique keys, split into bitboards."""

    def __init__(self, potential: int, keys: np.ndarray, squares: int) -> None:
        self.potential = potential
        self.keys = keys
        mask = np.uint64((1 << squares) - 1)
        self.white = (keys >> np.uint64(squares)) & mask
        self.black = keys & mask
        self.turn = (keys >> np.uint64(2 * squares)).astype(np.int8)


def _children(game: Hexapawn, layer: _Layer, table: list[_Move]) -> Iterator[tuple]:
    """For each move kind: (move, parent indices, child keys) of the parents where it is legal."""
    squares = game.width * game.height
    white, black, turn = layer.white, layer.black, layer.turn
    empty = ~(white | black)
    zero = np.uint64(0)
    child_turn = {WHITE: np.uint64(BLACK << (2 * squares)), BLACK: zero}
    shift = np.uint64(squares)
    for move in table:
        mine, theirs = (white, black) if move.turn == WHITE else (black, white)
        legal = (turn == move.turn) & ((mine & move.from_bit) != zero)
        target = theirs if move.capture else empty
        legal &= (target & move.to_bit) != zero
        parents = np.flatnonzero(legal)
        if parents.size == 0:
            continue
        new_mine = mine[parents] ^ (move.from_bit | move.to_bit)
        new_theirs = theirs[parents] & ~move.to_bit
        new_white, new_black = (
            (new_mine, new_theirs) if move.turn == WHITE else (new_theirs, new_mine)
        )
        yield move, parents, child_turn[move.turn] | (new_white << shift) | new_black


def _game_over(game: Hexapawn, layer: _Layer) -> np.ndarray:
    """Positions where the previous move won (far row reached, or the mover has no pawns)."""
    zero = np.uint64(0)
    white_goal = np.uint64(game.row_mask(game.height - 1))
    black_goal = np.uint64(game.row_mask(0))
    return (
        ((layer.white & white_goal) != zero)
        | ((layer.black & black_goal) != zero)
        | (layer.white == zero)
        | (layer.black == zero)
    )


@dataclass
class Solution:
    """Every reachable position of one board size with its exact score and optimal moves.

    ``keys`` are sorted position keys (see `encode_key`); ``scores[i]`` is the score of
    ``keys[i]`` from its side to move (module docstring); the optimal actions of position ``i``
    are ``optimal_actions[optimal_offsets[i]:optimal_offsets[i + 1]]`` (empty when it is over).
    """

    width: int
    height: int
    keys: np.ndarray
    scores: np.ndarray
    optimal_offsets: np.ndarray
    optimal_actions: np.ndarray
    seconds: float = 0.0

    @property
    def game(self) -> Hexapawn:
        return Hexapawn(self.width, self.height)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def terminal(self) -> np.ndarray:
        """Boolean mask of finished positions (no move to choose)."""
        return self.optimal_offsets[1:] == self.optimal_offsets[:-1]

    def index(self, position: Position) -> int:
        """Row of ``position`` in the arrays; ValueError if it is not reachable."""
        key = encode_key(position, self.width * self.height)
        index = int(np.searchsorted(self.keys, np.uint64(key)))
        if index >= len(self.keys) or int(self.keys[index]) != key:
            raise ValueError(f"position {self.game.format(position)} is not reachable")
        return index

    def score(self, position: Position) -> int:
        return int(self.scores[self.index(position)])

    def value(self, position: Position) -> int:
        """+1 if the side to move wins with best play, -1 if it loses."""
        return 1 if self.score(position) > 0 else -1

    def distance(self, position: Position) -> int:
        """Plies to the end of the game under optimal play from both sides."""
        return MATE - abs(self.score(position))

    def optimal_moves(self, position: Position) -> list[int]:
        """The actions that keep the best score: fastest win, or slowest loss."""
        index = self.index(position)
        start, stop = self.optimal_offsets[index], self.optimal_offsets[index + 1]
        return [int(a) for a in self.optimal_actions[start:stop]]

    def position(self, index: int) -> Position:
        return decode_key(int(self.keys[index]), self.width * self.height)

    def positions(self) -> Iterator[Position]:
        for index in range(len(self.keys)):
            yield self.position(index)

    def summary(self) -> dict:
        """Who wins, how many positions, how long it took."""
        start = self.game.initial_state()
        terminal = self.terminal
        return {
            "size": f"{self.width}x{self.height}",
            "winner": "White" if self.value(start) > 0 else "Black",
            "game_length": self.distance(start),
            "positions": len(self),
            "with_moves": int((~terminal).sum()),
            "finished": int(terminal.sum()),
            "seconds": round(self.seconds, 3),
        }

    def save(self, path: str | Path) -> None:
        """Write an .npz file (no pickle), atomically (minizero.atomic)."""
        meta = {"format": "hexapawn-solution", "version": FORMAT_VERSION,
                "width": self.width, "height": self.height, "mate": MATE}
        with atomic_write(path) as handle:
            np.savez_compressed(
                handle, meta=np.array(json.dumps(meta)), keys=self.keys, scores=self.scores,
                optimal_offsets=self.optimal_offsets, optimal_actions=self.optimal_actions,
            )

    @classmethod
    def load(cls, path: str | Path) -> Solution:
        """Read a file written by `save`; ValueError naming the file if it is not one."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {name: data[name] for name in
                          ("keys", "scores", "optimal_offsets", "optimal_actions")}
        except FileNotFoundError:
            raise ValueError(f"{path}: no such file") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: not a Hexapawn solution file ({error})") from None
        if meta.get("format") != "hexapawn-solution" or meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a Hexapawn solution file of version {FORMAT_VERSION}")
        if len(arrays["optimal_offsets"]) != len(arrays["keys"]) + 1:
            raise ValueError(f"{path}: corrupt solution file (array lengths disagree)")
        return cls(meta["width"], meta["height"], **arrays)


def solve(width: int, height: int, progress: bool = False) -> Solution:
    """Solve W x H Hexapawn exactly (see the module docstring)."""
    check_size(width, height)
    squares = width * height
    if squares > MAX_SQUARES:
        raise ValueError(
            f"the solver handles boards of at most {MAX_SQUARES} squares; "
            f"{width}x{height} has {squares}"
        )
    start_time = time.perf_counter()
    game = Hexapawn(width, height)
    table = _move_table(game)

    # Forward: enumerate the reachable positions, one layer of equal potential at a time.
    pending: dict[int, list[np.ndarray]] = {
        0: [np.array([encode_key(game.initial_state(), squares)], dtype=np.uint64)]
    }
    layers: list[_Layer] = []
    bar = tqdm(desc=f"solving {width}x{height}", unit=" positions", disable=not progress,
               leave=False, file=sys.stderr)
    while pending:
        potential = min(pending)
        layer = _Layer(potential, np.unique(np.concatenate(pending.pop(potential))), squares)
        layers.append(layer)
        live = ~_game_over(game, layer)
        for move, parents, child_keys in _children(game, layer, table):
            keep = live[parents]
            pending.setdefault(potential + move.potential_gain, []).append(child_keys[keep])
        bar.update(len(layer.keys))

    bar.close()

    # Backward: score each layer from the later layers, which are already solved.
    by_potential = {layer.potential: layer for layer in layers}
    scores: dict[int, np.ndarray] = {}
    optimal: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for layer in reversed(layers):
        best = np.full(len(layer.keys), -MATE, dtype=np.int16)  # no move: lost on the spot
        over = _game_over(game, layer)
        candidates = []
        for move, parents, child_keys in _children(game, layer, table):
            keep = ~over[parents]
            parents, child_keys = parents[keep], child_keys[keep]
            if parents.size == 0:
                continue
            child_layer = by_potential[layer.potential + move.potential_gain]
            child_scores = scores[child_layer.potential][
                np.searchsorted(child_layer.keys, child_keys)
            ].astype(np.int16)
            # One ply further from the end, seen from the other side: -c + sign(c).
            candidate = -child_scores + np.where(child_scores > 0, 1, -1).astype(np.int16)
            best[parents] = np.maximum(best[parents], candidate)  # parents are unique per move
            candidates.append((move.action, parents, candidate))
        scores[layer.potential] = best
        chosen_parents, chosen_actions = [], []
        for action, parents, candidate in candidates:
            is_best = candidate == best[parents]
            chosen_parents.append(parents[is_best])
            chosen_actions.append(np.full(int(is_best.sum()), action, dtype=np.uint8))
        optimal[layer.potential] = (
            np.concatenate(chosen_parents) if chosen_parents else np.zeros(0, np.int64),
            np.concatenate(chosen_actions) if chosen_actions else np.zeros(0, np.uint8),
        )

    # Gather every layer into arrays sorted by key, optimal moves in CSR form.
    offsets = np.cumsum([0] + [len(layer.keys) for layer in layers])
    all_keys = np.concatenate([layer.keys for layer in layers])
    all_scores = np.concatenate([scores[layer.potential] for layer in layers])
    owner = np.concatenate([
        optimal[layer.potential][0] + offsets[i] for i, layer in enumerate(layers)
    ])
    actions = np.concatenate([optimal[layer.potential][1] for layer in layers])
    order = np.argsort(all_keys, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    owner_rank = rank[owner]
    by_owner = np.lexsort((actions, owner_rank))
    counts = np.bincount(owner_rank, minlength=len(all_keys))
    solution = Solution(
        width, height, all_keys[order], all_scores[order],
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), actions[by_owner],
    )
    solution.seconds = time.perf_counter() - start_time
    if progress:
        print("\r" + " " * 60 + "\r", end="", flush=True, file=sys.stderr)
    return solution

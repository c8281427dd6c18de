"""Where do the quantized and the float NNUE disagree most? A search, against random sampling.

Idea (after DiverGet, Yahmed et al. 2022): treat the gap |quantized cp - float cp| as a fitness
and climb it. A (1 + lambda) hill climber keeps one legal position, scores ``lambda`` mutants of
it per step (a random legal move, a piece moved, removed or added, a king relocated), moves to
the best mutant when it is at least as divergent, and restarts from a fresh random position
after ``patience`` steps without a strict improvement. Random sampling scores fresh random
positions. Both get the same number of evaluated positions, and the largest gap each finds is
reported (if the search finds no larger gap than sampling, the report says so).

Every position reported is checked with relations that must hold exactly:

* colour flip (ranks mirrored, colours and side to move swapped): the same integer score and
  the same float score, since both perspectives' features are the same (each float score
  computed alone: in a batch, float32 sums can depend on the row's place in the batch);
* incremental == refresh: for every legal move, the accumulators updated by the move's feature
  deltas equal those recomputed from scratch (int16, bit for bit);
* file mirror (a <-> h), where no castling rights forbid it: chess is symmetric under it but the
  network was never made so; the score difference is reported, not required to be zero.

Command: ``nnue precision nnue/nets/piece-square-256.nnue --study divergence``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chess
import numpy as np

from nnue.evaluator import IntegerNet
from nnue.features import move_deltas
from nnue.model import NnueModel
from nnue.precision import FloatNet, encode, integer_scores, random_positions

NON_KING = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN)


@dataclass(frozen=True)
class DivergenceConfig:
    """budget: positions evaluated by each method; mutants: lambda, per step; patience: steps
    without a strict improvement before a restart; keep: how many worst positions to report;
    multiplier: the integer path's multiplier (``nnue.precision.multiplier_table``)."""

    budget: int = 2000
    mutants: int = 16
    patience: int = 15
    keep: int = 5
    multiplier: str = "exact"
    seed: int = 0


def gap_function(model: NnueModel, net: IntegerNet, multiplier: str = "exact"
                 ) -> Callable[[Sequence[chess.Board]], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """boards -> (|integer - float| cp, integer cp, float cp), the integer path through
    ``multiplier``."""
    float_net = FloatNet(model)

    def gap(boards: Sequence[chess.Board]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pieces, side_to_move = encode(boards)
        integer = integer_scores(net, pieces, side_to_move, multiplier).astype(np.float64)
        floating, _ = float_net.scores(pieces, side_to_move)
        return np.abs(integer - floating), integer, floating
    return gap


def _acceptable(board: chess.Board) -> bool:
    return (board.is_valid() and not board.is_check() and not board.is_game_over()
            and len(board.piece_map()) <= 32)


def mutate(board: chess.Board, rng: np.random.Generator, tries: int = 20) -> chess.Board | None:
    """A random legal neighbour of ``board`` (side to move not in check), or None."""
    for _ in range(tries):
        child = board.copy(stack=False)
        kind = rng.random()
        squares = list(child.piece_map())
        empty = [square for square in chess.SQUARES if child.piece_at(square) is None]
        if kind < 0.4:
            moves = list(child.legal_moves)
            child.push(moves[rng.integers(len(moves))])
            child = chess.Board(child.fen())
        else:
            if kind < 0.6:  # move a piece (not a king) to an empty square
                movable = [s for s in squares if child.piece_type_at(s) != chess.KING]
                if not movable:
                    continue
                source = movable[rng.integers(len(movable))]
                child.set_piece_at(int(empty[rng.integers(len(empty))]), child.remove_piece_at(
                    source))
            elif kind < 0.75:  # remove a piece (not a king)
                removable = [s for s in squares if child.piece_type_at(s) != chess.KING]
                if not removable:
                    continue
                child.remove_piece_at(removable[rng.integers(len(removable))])
            elif kind < 0.9:  # add a piece
                piece = chess.Piece(NON_KING[rng.integers(5)], bool(rng.integers(2)))
                child.set_piece_at(int(empty[rng.integers(len(empty))]), piece)
            else:  # relocate a king
                king = child.king(bool(rng.integers(2)))
                child.set_piece_at(int(empty[rng.integers(len(empty))]),
                                   child.remove_piece_at(king))
            child.ep_square = None
            child.castling_rights = child.clean_castling_rights()
        if _acceptable(child):
            return child
    return None


def hill_climb(gap: Callable, config: DivergenceConfig, openings: Sequence[str] = (),
               progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """(1 + lambda) hill climbing with restarts; the best-so-far gap after each evaluation."""
    rng = np.random.default_rng([config.seed, 1])
    found: dict[str, float] = {}
    trace: list[float] = []
    current, current_gap, stagnant = None, -1.0, 0
    while len(trace) < config.budget:
        if current is None or stagnant >= config.patience:
            current = random_positions(1, rng, openings)[0]
            gaps = gap([current])[0]
            current_gap, stagnant = float(gaps[0]), 0
            _record(found, [current], gaps, trace)
            continue
        room = config.budget - len(trace)
        mutants = [m for m in (mutate(current, rng) for _ in range(min(config.mutants, room)))
                   if m is not None]
        if not mutants:
            stagnant = config.patience
            continue
        gaps = gap(mutants)[0]
        _record(found, mutants, gaps, trace)
        best = int(np.argmax(gaps))
        stagnant = 0 if gaps[best] > current_gap else stagnant + 1
        if gaps[best] >= current_gap:
            current, current_gap = mutants[best], float(gaps[best])
        if progress:
            progress(len(trace))
    return _summary(found, trace, config.keep)


def random_sampling(gap: Callable, config: DivergenceConfig, openings: Sequence[str] = (),
                    progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Fresh random positions, as many as the budget; the best-so-far gap after each one."""
    rng = np.random.default_rng([config.seed, 2])
    found: dict[str, float] = {}
    trace: list[float] = []
    while len(trace) < config.budget:
        boards = random_positions(min(config.mutants, config.budget - len(trace)), rng, openings)
        _record(found, boards, gap(boards)[0], trace)
        if progress:
            progress(len(trace))
    return _summary(found, trace, config.keep)


def _record(found: dict[str, float], boards: Sequence[chess.Board], gaps: np.ndarray,
            trace: list[float]) -> None:
    for board, value in zip(boards, gaps):
        found[board.fen()] = float(value)
        trace.append(max(float(value), trace[-1] if trace else 0.0))


def _summary(found: dict[str, float], trace: list[float], keep: int) -> dict[str, Any]:
    worst = sorted(found.items(), key=lambda item: -item[1])[:keep]
    return {"largest_gap_cp": trace[-1] if trace else 0.0, "evaluations": len(trace),
            "distinct_positions": len(found), "trace": trace,
            "worst": [{"fen": fen, "gap_cp": value} for fen, value in worst]}


def check_relations(model: NnueModel, net: IntegerNet, board: chess.Board) -> dict[str, Any]:
    """The exact relations of the module docstring at ``board`` (see there)."""
    flipped = board.mirror()
    pieces, side_to_move = encode([board, flipped])
    integer = integer_scores(net, pieces, side_to_move)
    # One position per float call: a batched float32 product may sum a row in a different
    # order depending on where the row sits in the batch, which would blur the comparison.
    float_net = FloatNet(model)
    floating = [float_net.scores(pieces[i:i + 1], side_to_move[i:i + 1])[0][0] for i in (0, 1)]
    incremental_ok = True
    for move in board.legal_moves:
        deltas = move_deltas(board, move, net.features)
        child = board.copy(stack=False)
        child.push(move)
        for perspective in (chess.WHITE, chess.BLACK):
            before = net.refresh(board, perspective)
            updated = (before.astype(np.int32) + net.ft_weight[list(deltas[perspective].added)]
                       .sum(axis=0, dtype=np.int32) - net.ft_weight[
                           list(deltas[perspective].removed)].sum(axis=0, dtype=np.int32))
            refresh = net.refresh(child, perspective)
            incremental_ok &= bool(np.array_equal(updated.astype(np.int16), refresh))
    result: dict[str, Any] = {
        "colour_flip_integer_equal": bool(integer[0] == integer[1]),
        "colour_flip_float_equal": bool(floating[0] == floating[1]),
        "incremental_equals_refresh": incremental_ok,
    }
    if not board.castling_rights:
        mirrored = board.transform(chess.flip_horizontal)
        pieces, side_to_move = encode([mirrored])
        result["file_mirror_integer_difference_cp"] = int(
            integer_scores(net, pieces, side_to_move)[0] - integer[0])
    return result


def draw_board(board: chess.Board, path: Path, title: str) -> Path:
    """A PNG picture of ``board`` (matplotlib, Unicode pieces) with ``title`` above it."""
    from minizero.precision.report import pyplot, save_figure

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(4.2, 4.6))
    for square in chess.SQUARES:
        file, rank = chess.square_file(square), chess.square_rank(square)
        colour = "#b58863" if (file + rank) % 2 == 0 else "#f0d9b5"
        axis.add_patch(plt.Rectangle((file, rank), 1, 1, color=colour))
        piece = board.piece_at(square)
        if piece is not None:
            axis.text(file + 0.5, rank + 0.45, piece.unicode_symbol(), fontsize=24,
                      ha="center", va="center", color="black")
    axis.set_xlim(0, 8)
    axis.set_ylim(0, 8)
    axis.set_xticks([i + 0.5 for i in range(8)], list("abcdefgh"))
    axis.set_yticks([i + 0.5 for i in range(8)], [str(i + 1) for i in range(8)])
    axis.set_aspect("equal")
    axis.set_title(title, fontsize=8)
    return save_figure(figure, path)

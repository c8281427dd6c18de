"""Measuring a network: what quantization costs, how well it matches the teacher, how fast it is.

Idea: the integer evaluator is only worth having if it computes (almost) the float network's
function, and faster. ``check`` compares integer and float scores on held-out positions (mean,
max and percentile errors in centipawns, R², the worst positions) and both against the teacher's
labels in win-probability space; ``bench`` times one incremental update plus evaluation against
a full refresh and against a single-position torch forward pass, side by side in one run, and
the batched path.

Reference: nnue-pytorch docs, "quantization" (measuring the error it introduces).
Commands: ``nnue check NET --data data/sf``; ``nnue bench NET``.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import chess
import numpy as np
import torch

from nnue.data import Positions, decode_board, encode_board, load_positions, validation_mask
from nnue.evaluator import Evaluator, IntegerNet
from nnue.features import batch_features
from nnue.model import NnueModel, r_squared, win_probability
from nnue.quantize import dequantize, load_net, quantize


def load_any(path: Path) -> tuple[NnueModel, IntegerNet, str]:
    """(float model, integer net, what the float model is) from a ``.pt`` or ``.nnue`` file.

    From a training checkpoint the float model is the trained one (so the comparison includes
    weight rounding); from a ``.nnue`` file it is the dequantized net (activations only).
    """
    path = Path(path)
    if path.suffix == ".nnue":
        net = load_net(path)
        return dequantize(net), IntegerNet(net), "dequantized .nnue weights"
    from nnue.train import load_checkpoint

    model, _ = load_checkpoint(path)
    return model, IntegerNet(quantize(model)), "trained float weights"


def held_out_positions(data: list[Path], count: int, fraction: float, seed: int = 0,
                       skip_in_check: bool = True) -> Positions:
    """Up to ``count`` positions from the held-out games (``validation_mask``), not in check."""
    positions = load_positions(data)
    positions = positions.subset(validation_mask(positions.game_id, fraction))
    if skip_in_check and len(positions):
        in_check = np.array([decode_board(p, s).is_check()
                             for p, s in zip(positions.pieces, positions.side_to_move,
                                             strict=True)])
        positions = positions.subset(~in_check)
    if len(positions) > count:
        chosen = np.sort(np.random.default_rng(seed).choice(len(positions), count, replace=False))
        positions = positions.subset(chosen)
    return positions


def check(model: NnueModel, net: IntegerNet, positions: Positions) -> dict[str, Any]:
    """Integer vs float, and both vs the teacher, on ``positions``."""
    if len(positions) == 0:
        raise ValueError("no positions to check")
    integer = net.evaluate_batch(positions.pieces, positions.side_to_move).astype(np.float64)
    floating = model.evaluate_cp(positions.pieces, positions.side_to_move)
    error = np.abs(integer - floating)
    worst = np.argsort(-error)[:5]
    teacher = win_probability(positions.score.astype(np.float64))
    return {
        "positions": len(positions),
        "int_vs_float_mean_abs_cp": float(error.mean()),
        "int_vs_float_max_abs_cp": float(error.max()),
        "int_vs_float_r2": r_squared(integer, floating),
        "int_vs_float_percentiles_cp": {
            str(p): float(np.percentile(error, p)) for p in (68, 95, 99, 99.7)},
        "worst": [{
            "fen": decode_board(positions.pieces[i], positions.side_to_move[i]).fen(),
            "int_cp": int(integer[i]), "float_cp": round(float(floating[i]), 1),
            "teacher_cp": int(positions.score[i])} for i in worst],
        "int_vs_teacher_mae_wdl": float(np.mean(np.abs(win_probability(integer) - teacher))),
        "int_vs_teacher_r2_wdl": r_squared(win_probability(integer), teacher),
        "float_vs_teacher_mae_wdl": float(np.mean(np.abs(win_probability(floating) - teacher))),
        "float_vs_teacher_r2_wdl": r_squared(win_probability(floating), teacher),
    }


def random_lines(games: int, plies: int, seed: int = 0) -> list[list[chess.Move]]:
    """Move sequences of random games (varied positions, every move kind)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(games):
        board, line = chess.Board(), []
        while len(line) < plies and not board.is_game_over():
            move = rng.choice(list(board.legal_moves))
            board.push(move)
            line.append(move)
        lines.append(line)
    return lines


def _best_of(repeats: int, function: Any) -> float:
    """The fastest of ``repeats`` timings of ``function()`` (least disturbed by other load)."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def bench(model: NnueModel, net: IntegerNet, games: int = 20, plies: int = 80,
          batch_size: int = 1024, repeats: int = 3) -> dict[str, Any]:
    """Microseconds per position of: incremental update + evaluate, full refresh + evaluate,
    a torch float32 forward of one position; positions/s of the batched integer path."""
    lines = random_lines(games, plies)
    moves = sum(len(line) for line in lines)
    boards = []
    for line in lines:
        board = chess.Board()
        for move in line:
            board.push(move)
            boards.append(board.copy(stack=False))

    def incremental() -> None:
        for line in lines:
            evaluator = Evaluator(net)
            for move in line:
                evaluator.push(move)
                evaluator.evaluate()

    def refresh() -> None:
        for board in boards:
            net.evaluate_board(board)

    inputs = [tuple(torch.from_numpy(x) for x in batch_features(
        np.stack([encode_board(b)]), np.array([int(b.turn)]), net.features)) for b in boards]
    # The baseline is a plain float32 forward of the same weights (a quantization-aware model
    # would spend extra time rounding its weights on every call).
    model = dequantize(net.net, quantization_aware=False).eval()

    def torch_forward() -> None:
        with torch.no_grad():
            for stm, nstm in inputs:
                model(stm, nstm)

    copies = batch_size // len(boards) + 1
    sample = np.stack([encode_board(b) for b in boards] * copies)[:batch_size]
    turns = np.array([int(b.turn) for b in boards] * copies)[:batch_size]

    def batched() -> None:
        net.evaluate_batch(sample, turns, batch_size=batch_size)

    incremental_us = _best_of(repeats, incremental) / moves * 1e6
    refresh_us = _best_of(repeats, refresh) / moves * 1e6
    torch_us = _best_of(repeats, torch_forward) / moves * 1e6
    batch_seconds = _best_of(repeats, batched)
    return {
        "feature_set": net.features.name, "l1": net.net.l1, "moves": moves,
        "torch_threads": torch.get_num_threads(),
        "incremental_update_and_eval_us": incremental_us,
        "full_refresh_and_eval_us": refresh_us,
        "torch_float_forward_us": torch_us,
        "speedup_vs_torch": torch_us / incremental_us,
        "speedup_vs_refresh": refresh_us / incremental_us,
        "batch_size": batch_size,
        "batched_positions_per_second": batch_size / batch_seconds,
    }

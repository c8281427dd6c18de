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
from nnue.evaluator import NnueEvaluator
from nnue.features import batch_features
from nnue.kernel import KernelNet
from nnue.model import NnueModel, dequantize, quantize, r_squared, win_probability
from nnue.quantize import load_net
from nnue.reference import IntegerNet


def load_any(path: Path) -> tuple[NnueModel, KernelNet, str]:
    """(float model, integer net, what the float model is) from a ``.pt`` or ``.nnue`` file.

    From a training checkpoint the float model is the trained one (so the comparison includes
    weight rounding); from a ``.nnue`` file it is the dequantized net (activations only).
    """
    path = Path(path)
    if path.suffix == ".nnue":
        net = load_net(path)
        return dequantize(net), KernelNet(net, str(path)), "dequantized .nnue weights"
    from nnue.train import load_checkpoint

    model, _ = load_checkpoint(path)
    return model, KernelNet(quantize(model), str(path)), "trained float weights"


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


def check(model: NnueModel, net: KernelNet, positions: Positions) -> dict[str, Any]:
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


def _timed(function: Any) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def bench(model: NnueModel, net: KernelNet, games: int = 20, plies: int = 80,
          batch_size: int = 1024, repeats: int = 3) -> dict[str, Any]:
    """Microseconds per position, interleaved position by position so that the machine's load
    hits every method alike: one incremental push + evaluate + pop with the compiled kernel, the
    same with the numpy reference steps, a full refresh + evaluate in numpy, and a torch float32
    forward of one position (features precomputed, weights not rounded on the fly). Each is
    timed ``repeats`` times per position and the fastest counts. Also positions/s of the
    batched integer path, kernel and numpy reference."""
    lines = random_lines(games, plies)
    kernel_evaluator = NnueEvaluator(net)
    numpy_evaluator = NnueEvaluator(net, compiled=False)
    reference = IntegerNet(net.net)
    # The baseline is a plain float32 forward of the same weights (a quantization-aware model
    # would spend extra time rounding its weights on every call).
    model = dequantize(net.net, quantization_aware=False).eval()
    totals = dict.fromkeys(("kernel", "numpy", "refresh", "torch", "board"), 0.0)
    boards = []
    for line in lines:
        board = chess.Board()
        for evaluator in (kernel_evaluator, numpy_evaluator):
            evaluator.reset(board)
        for move in line:
            after = board.copy(stack=False)
            after.push(move)
            boards.append(after)
            stm, nstm = (torch.from_numpy(x) for x in batch_features(
                encode_board(after)[None, :], np.array([int(after.turn)]), net.features))

            def step(evaluator: NnueEvaluator, move: chess.Move = move,
                     board: chess.Board = board) -> None:
                evaluator.push(board, move)
                board.push(move)
                evaluator.evaluate(board)
                board.pop()
                evaluator.pop()

            def board_alone(move: chess.Move = move, board: chess.Board = board) -> None:
                board.push(move)
                board.pop()

            def forward(stm: torch.Tensor = stm, nstm: torch.Tensor = nstm) -> None:
                with torch.no_grad():
                    model(stm, nstm)

            methods = {"kernel": lambda: step(kernel_evaluator),
                       "numpy": lambda: step(numpy_evaluator),
                       "refresh": lambda after=after: reference.evaluate_board(after),
                       "torch": forward, "board": board_alone}
            for name, function in methods.items():
                totals[name] += min(_timed(function) for _ in range(repeats))
            # Walk on down the line, the parent's accumulators computed (as in a search).
            for evaluator in (kernel_evaluator, numpy_evaluator):
                evaluator.push(board, move)
            board.push(move)
            for evaluator in (kernel_evaluator, numpy_evaluator):
                evaluator.evaluate(board)
    moves = len(boards)
    micro = {name: total / moves * 1e6 for name, total in totals.items()}

    copies = batch_size // moves + 1
    sample = np.stack([encode_board(b) for b in boards] * copies)[:batch_size]
    turns = np.array([int(b.turn) for b in boards] * copies)[:batch_size]
    kernel_batch = min(_timed(lambda: net.evaluate_batch(sample, turns, batch_size))
                       for _ in range(repeats))
    numpy_batch = min(_timed(lambda: reference.evaluate_batch(sample, turns, batch_size))
                      for _ in range(repeats))
    return {
        "feature_set": net.features.name, "l1": net.l1, "moves": moves,
        "torch_threads": torch.get_num_threads(),
        "kernel_push_evaluate_pop_us": micro["kernel"],
        "numpy_push_evaluate_pop_us": micro["numpy"],
        "numpy_refresh_evaluate_us": micro["refresh"],
        "torch_float_forward_us": micro["torch"],
        "board_push_pop_alone_us": micro["board"],
        "kernel_speedup_vs_torch": micro["torch"] / micro["kernel"],
        "kernel_speedup_vs_numpy": micro["numpy"] / micro["kernel"],
        "batch_size": batch_size,
        "kernel_batched_positions_per_second": batch_size / kernel_batch,
        "numpy_batched_positions_per_second": batch_size / numpy_batch,
    }

"""The zero_chess bench's speed and number-format parts: engine evaluations and training steps
a second in float32 and bfloat16, each measured interleaved, and how closely the bfloat16 net, or
the net given a bare FEN, follows the float32 net given the moves (see bench_zero_chess)."""

from __future__ import annotations

import copy
import random
import time
from pathlib import Path

import chess
import numpy as np
import torch

from minizero.chessgame.encoding import (
    DEFAULT_HISTORY,
    PLANES_PER_STEP,
    encode_board,
    legal_mask,
)
from minizero.chessgame.game import ChessGame
from minizero.chessgame.openings import read_openings
from minizero.chessgame.protocol import Limits
from minizero.chessgame.puct_engine import PuctEngine, PuctEngineConfig
from minizero.replay import Samples
from minizero.train import TrainConfig, Trainer


def evaluations_per_second(positions: list[str], batches: tuple[int, ...],
                           precisions: tuple[str, ...], nodes: int = 256, rounds: int = 3
                           ) -> dict[str, dict[str, float]]:
    """Engine simulations per second for each precision and leaf batch, {precision: {batch:
    rate}}, measured interleaved: each position is searched by every contender in turn, so a
    change in the machine's load falls on all of them alike."""
    engines = {(precision, batch): PuctEngine(config=PuctEngineConfig(batch_size=batch),
                                              precision=precision)
               for precision in precisions for batch in batches}
    done = dict.fromkeys(engines, 0)
    elapsed = dict.fromkeys(engines, 0.0)
    for engine in engines.values():
        engine.prepare()
    for _ in range(rounds):
        for fen in positions:
            for key, engine in engines.items():
                engine.new_game()
                began = time.perf_counter()
                done[key] += engine.search(chess.Board(fen), Limits(nodes=nodes)).nodes
                elapsed[key] += time.perf_counter() - began
    rates: dict[str, dict[str, float]] = {}
    for (precision, batch), count in done.items():
        rates.setdefault(precision, {})[str(batch)] = count / elapsed[(precision, batch)]
    return rates


def training_steps_per_second(network: torch.nn.Module, precisions: tuple[str, ...],
                              rounds: int = 6, steps: int = 10) -> dict[str, float]:
    """Training steps a second of the shipped net's shape, {precision: rate}, batch 256 on 2
    threads as in the README's runs, on random planes (the arithmetic does not depend on them);
    the precisions take turns, ``steps`` at a time."""
    rng = np.random.default_rng(0)
    shape = network.config.input_shape
    policy = rng.random((1024, network.config.action_size), dtype=np.float32)
    samples = Samples((rng.random((1024, *shape)) < 0.1).astype(np.float32),
                      policy / policy.sum(1, keepdims=True),
                      rng.uniform(-1, 1, 1024).astype(np.float32))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    trainers = {precision: Trainer(copy.deepcopy(network), TrainConfig(
        batch_size=256, learning_rate=1e-5, optimizer="adamw", weight_decay=0.01,
        precision=precision)) for precision in precisions}
    elapsed = dict.fromkeys(precisions, 0.0)
    for trainer in trainers.values():
        trainer.train_steps(samples, 2)  # warm-up: first-call allocations and kernel choice
    for _ in range(rounds):
        for precision, trainer in trainers.items():
            began = time.perf_counter()
            trainer.train_steps(samples, steps)
            elapsed[precision] += time.perf_counter() - began
    torch.set_num_threads(threads)
    return {precision: rounds * steps / seconds for precision, seconds in elapsed.items()}


def precision_agreement(network: torch.nn.Module, openings: Path,
                        reduced: torch.nn.Module | None = None) -> dict[str, float]:
    """A reduced-precision twin of the network (``reduced``; default its bfloat16 copy) graded
    by the float32 one on the bench openings and every position one legal move after them: how
    often the favourite move is the same, and the mean and largest value difference."""
    game = ChessGame()
    states = []
    for opening in read_openings(openings):
        state = game.state_from_board(chess.Board(opening))
        states += [state] + [game.apply(state, action) for action in game.legal_actions(state)]
    planes = np.stack([game.encode(state) for state in states])
    legal = np.stack([legal_mask(state.board) for state in states])
    if reduced is None:
        reduced = copy.deepcopy(network).to(torch.bfloat16)
    same_top1, difference = compare_predictions(network.predict(planes, legal),
                                                reduced.predict(planes, legal))
    return {"positions": len(states), "same_top1": same_top1,
            "value_mean_difference": float(difference.mean()),
            "value_max_difference": float(difference.max())}


def compare_predictions(reference: tuple[np.ndarray, np.ndarray],
                        other: tuple[np.ndarray, np.ndarray]) -> tuple[float, np.ndarray]:
    """Two (policies, values) predictions of the same positions: the share where the favourite
    move is the same, and the value differences."""
    (policy, value), (other_policy, other_value) = reference, other
    return float(np.mean(policy.argmax(1) == other_policy.argmax(1))), np.abs(value - other_value)


def bare_fen_agreement(network: torch.nn.Module, openings: Path, tries: int = 3
                       ) -> dict[str, float]:
    """Positions two random plies after each bench opening (``tries`` times each), given to the
    network with their history and again as a bare FEN: how often the favourite move is the
    same and the mean value difference, with the unknown history steps filled (the encoding)
    and left empty (zeros, as the encoding had them before)."""
    rng = random.Random(1)
    with_moves, bare, legal = [], [], []
    for opening in read_openings(openings) * tries:
        board = chess.Board(opening)
        for _ in range(2):
            board.push(rng.choice(list(board.legal_moves)))
        if board.is_game_over():
            continue
        with_moves.append(encode_board(board))
        bare.append(encode_board(chess.Board(board.fen())))
        legal.append(legal_mask(board))
    bare_planes, legal_masks = np.stack(bare), np.stack(legal)
    empty = bare_planes.copy()
    empty[:, PLANES_PER_STEP:PLANES_PER_STEP * DEFAULT_HISTORY] = 0
    reference = network.predict(np.stack(with_moves), legal_masks)
    found: dict[str, float] = {"positions": len(bare)}
    for name, planes in (("filled", bare_planes), ("empty", empty)):
        same_top1, difference = compare_predictions(reference,
                                                    network.predict(planes, legal_masks))
        found[f"{name}_same_top1"] = same_top1
        found[f"{name}_value_difference"] = float(difference.mean())
    return found

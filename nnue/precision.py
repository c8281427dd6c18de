"""What each bit of an NNUE costs: formats, approximate multipliers, Monte Carlo arithmetic.

Three harnesses around one float net and its integer twin, each graded against the untouched
float network on the same positions (centipawns from the side to move):

* **formats** (``FloatNet``): the float forward pass with every weight and bias rounded into
  a number format of ``minizero.precision.formats``; for float and fixed-point formats the
  accumulators and layer sums are rounded too (arithmetic stays float32). Through ``float32`` it
  is the untouched network, bit for bit.
* **integer path** (``integer_scores``): Stockfish-12-style int16 accumulators and int8 hidden
  layers, computed with an explicit multiplier. With the exact multiplier it *is* the package's
  ``.nnue`` evaluator (``IntegerNet``), bit for bit; the approximate ones model cheap hardware:
  ``truncatedK`` cuts the K low bits of each 14-bit product (a multiplier without its K
  lowest partial-product columns), ``mitchell`` adds logarithms (Mitchell 1962: a x b ~
  2^(ka+kb) (1 + fa + fb), always low, by at most 11.1%).
* **Monte Carlo arithmetic** (``mca_study``): the float forward pass in float64 with every add
  and multiply perturbed at virtual precision t (``minizero.precision.mca``).

Errors are reported as mean / p99 / max |cp| against the float net and as best-move agreement
(the move whose child scores best for the mover, one ply, float vs format).

Reference: Mitchell, "Computer multiplication and division using binary logarithms" (1962);
Mrazek et al., "EvoApproxLib" (2017) on truncated multipliers; ApproxTrain (Gong et al. 2023).
Command: ``nnue precision nnue/nets/piece-square-256.nnue --out runs/nnue-precision``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import chess
import numpy as np
import torch

from minizero.precision import mca
from minizero.precision.formats import NumberFormat, parse_format, quantize
from minizero.precision.report import error_statistics
from nnue.data import encode_board
from nnue.features import batch_features
from nnue.model import NnueModel
from nnue.quantize import (
    ACTIVATION_ONE,
    FT_SCALE,
    HIDDEN_BIAS_SCALE,
    HIDDEN_WEIGHT_SCALE,
    HIDDEN_WEIGHT_SCALE_BITS,
    NET_TO_CP,
    OUTPUT_BIAS_SCALE,
    OUTPUT_SCALE,
    OUTPUT_WEIGHT_SCALE,
)
from nnue.reference import IntegerNet

HIDDEN_ROUNDING = 1 << (HIDDEN_WEIGHT_SCALE_BITS - 1)
OUTPUT_SHIFT = OUTPUT_SCALE.bit_length() - 1
# name -> (parameter path on NnueModel, grid scale used by quantization-aware weights, axis of
# output channels)
PARAMETERS = {
    "ft_weight": ("feature_transformer.weight", FT_SCALE, 1),
    "ft_bias": ("ft_bias", FT_SCALE, 0),
    "hidden1_weight": ("hidden1.weight", HIDDEN_WEIGHT_SCALE, 0),
    "hidden1_bias": ("hidden1.bias", HIDDEN_BIAS_SCALE, 0),
    "hidden2_weight": ("hidden2.weight", HIDDEN_WEIGHT_SCALE, 0),
    "hidden2_bias": ("hidden2.bias", HIDDEN_BIAS_SCALE, 0),
    "output_weight": ("output.weight", OUTPUT_WEIGHT_SCALE, 0),
    "output_bias": ("output.bias", OUTPUT_BIAS_SCALE, 0),
}
MULTIPLIER_NAMES = "exact, truncatedK (K = 1..13), mitchell"


# ----------------------------------------------------------------------------- positions


def random_positions(count: int, rng: np.random.Generator, openings: Sequence[str] = (),
                     plies: tuple[int, int] = (4, 60)) -> list[chess.Board]:
    """``count`` positions after random legal moves from the start (or a random opening FEN):
    not finished, side to move not in check (as ``nnue check`` measures), ``plies`` random.
    ValueError when the openings lead to no such position in a hundred tries a position (every
    walk from them ends in mate, stalemate or check)."""
    boards: list[chess.Board] = []
    walks = 0
    while len(boards) < count:
        if walks == 100 * count + 1000:
            raise ValueError(f"the openings led to {len(boards)} usable positions (not "
                             f"finished, not in check) in {walks} random walks, {count} wanted")
        walks += 1
        board = chess.Board(openings[rng.integers(len(openings))]) if openings else chess.Board()
        for _ in range(int(rng.integers(plies[0], plies[1] + 1))):
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(moves[rng.integers(len(moves))])
        if not board.is_game_over() and not board.is_check():
            boards.append(chess.Board(board.fen()))  # forget the move history
    return boards


def encode(boards: Sequence[chess.Board]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 64) uint8 piece codes and (N,) side to move (1 White) for the batched evaluators."""
    pieces = np.stack([encode_board(board) for board in boards]) if boards else np.zeros((0, 64))
    return pieces.astype(np.uint8), np.array([board.turn for board in boards], dtype=np.uint8)


def children(boards: Sequence[chess.Board]) -> tuple[list[chess.Board], np.ndarray]:
    """Every position one legal move after each board, and the (N + 1,) offsets into them."""
    result, offsets = [], [0]
    for board in boards:
        for move in board.legal_moves:
            child = board.copy(stack=False)
            child.push(move)
            result.append(child)
        offsets.append(len(result))
    return result, np.array(offsets)


def best_moves(child_scores: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Index of each board's best move: the child worst for the opponent (scores are from the
    child's side to move, the opponent's), first of equals."""
    return np.array([int(np.argmin(child_scores[start:end]))
                     for start, end in zip(offsets[:-1], offsets[1:])])


# ----------------------------------------------------------------------------- float formats


def effective_weights(model: NnueModel) -> dict[str, np.ndarray]:
    """float32 arrays of the weights the model computes with (on the integer grid when the model
    is quantization-aware, by the model's own expression so the values match it exactly)."""
    arrays = {}
    with torch.no_grad():
        for name, (path, scale, _) in PARAMETERS.items():
            tensor = model.get_parameter(path)
            arrays[name] = model.weight(tensor, scale).detach().cpu().numpy().copy()
    arrays["ft_weight"] = arrays["ft_weight"][:-1]  # drop the padding row (all zero)
    return arrays


class FloatNet:
    """The float network's weights (read once from the model) and its forward pass in torch,
    with any parameters and (for float and fixed formats) the sums rounded into a format."""

    def __init__(self, model: NnueModel) -> None:
        self.features = model.features
        self.weights = effective_weights(model)

    def rounded_weights(self, formats: dict[str, NumberFormat], rounding: str,
                        rng: np.random.Generator | None) -> tuple[dict[str, torch.Tensor],
                                                                  dict[str, int]]:
        """float32 tensors with the parameters named in ``formats`` rounded (the feature
        transformer with its zero padding row appended), and the saturated values of each."""
        tensors, saturated = {}, {}
        for name, values in self.weights.items():
            if name in formats:
                result = quantize(values, formats[name], rounding, rng,
                                  channel_axis=PARAMETERS[name][2])
                values, saturated[name] = result.values.astype(np.float32), result.saturated
            if name == "ft_weight":
                values = np.vstack([values, np.zeros((1, values.shape[1]), np.float32)])
            tensors[name] = torch.from_numpy(values)
        return tensors, saturated

    def scores(self, pieces: np.ndarray, side_to_move: np.ndarray,
               fmt: NumberFormat | str = "float32", rounding: str = "nearest", seed: int = 0,
               weight_formats: dict[str, NumberFormat] | None = None, batch_size: int = 8192
               ) -> tuple[np.ndarray, dict[str, int]]:
        """Centipawns (float64, side to move) with every weight and bias, and for float and
        fixed formats the accumulators and layer sums, rounded into ``fmt``; and the saturation
        counts. ``weight_formats`` (parameter name -> format) replaces ``fmt`` for the weights."""
        fmt = parse_format(fmt) if isinstance(fmt, str) else fmt
        rng = np.random.default_rng(seed)
        if weight_formats is None:
            weight_formats = dict.fromkeys(PARAMETERS, fmt)
        tensors, saturated = self.rounded_weights(weight_formats, rounding, rng)
        round_sums = fmt.kind in ("float", "fixed") and fmt.name != "float32"

        def activation(tensor: torch.Tensor) -> torch.Tensor:
            if not round_sums:
                return tensor
            result = quantize(tensor.numpy(), fmt, rounding, rng)
            saturated["activations"] = saturated.get("activations", 0) + result.saturated
            return torch.from_numpy(result.values.astype(np.float32))

        scores = []
        with torch.no_grad():
            for start in range(0, len(pieces), batch_size):
                stm, nstm = batch_features(pieces[start:start + batch_size],
                                           side_to_move[start:start + batch_size], self.features)
                output = _forward(tensors, torch.from_numpy(stm), torch.from_numpy(nstm),
                                  self.features.num_features, activation)
                scores.append(output.double().numpy() * NET_TO_CP)
        return (np.concatenate(scores) if scores else np.zeros(0)), saturated


def format_scores(model: NnueModel, pieces: np.ndarray, side_to_move: np.ndarray,
                  *args: Any, **kwargs: Any) -> tuple[np.ndarray, dict[str, int]]:
    """``FloatNet(model).scores(...)``, for one-off use (a loop should keep the FloatNet)."""
    return FloatNet(model).scores(pieces, side_to_move, *args, **kwargs)


def _forward(weights: dict[str, torch.Tensor], stm: torch.Tensor, nstm: torch.Tensor,
             padding: int, activation: Any) -> torch.Tensor:
    """``NnueModel.forward`` op for op, with ``activation`` applied to the accumulators and to
    every layer's sum. Through the identity it computes exactly what the model computes."""
    batch = stm.shape[0]
    both = torch.nn.functional.embedding_bag(
        torch.cat([stm, nstm]), weights["ft_weight"], mode="sum",
        padding_idx=padding) + weights["ft_bias"]
    x = torch.clamp(activation(torch.cat([both[:batch], both[batch:]], dim=1)), 0.0, 1.0)
    for layer in ("hidden1", "hidden2"):
        x = torch.clamp(activation(torch.nn.functional.linear(
            x, weights[f"{layer}_weight"], weights[f"{layer}_bias"])), 0.0, 1.0)
    return activation(torch.nn.functional.linear(
        x, weights["output_weight"], weights["output_bias"])).squeeze(1)


# ----------------------------------------------------------------------------- integer path


def multiplier_table(name: str) -> np.ndarray:
    """(128, 128) int64: the product of activation a (0..127) and weight magnitude b (0..127)."""
    a, b = np.meshgrid(np.arange(128), np.arange(128), indexing="ij")
    exact = a * b
    if name == "exact":
        return exact
    match = re.fullmatch(r"truncated(\d+)", name)
    if match:
        cut = int(match.group(1))
        if not 1 <= cut <= 13:
            raise ValueError(f"{name}: a product of 7-bit operands has 14 bits; cut 1..13")
        return (exact >> cut) << cut
    if name == "mitchell":
        ka = np.floor(np.log2(np.maximum(a, 1))).astype(np.int64)  # leading-one positions
        kb = np.floor(np.log2(np.maximum(b, 1))).astype(np.int64)
        fraction = ((a - (1 << ka)) << kb) + ((b - (1 << kb)) << ka)  # (fa + fb) 2^(ka + kb)
        whole = 1 << (ka + kb)
        product = np.where(fraction < whole, whole + fraction, 2 * fraction)
        return np.where((a == 0) | (b == 0), 0, product)
    raise ValueError(f"unknown multiplier {name!r}: choose {MULTIPLIER_NAMES}")


def multiplier_error(name: str) -> dict[str, float]:
    """Relative error of the multiplier over every nonzero operand pair (a, b) in 1..127."""
    table = multiplier_table(name)[1:, 1:].astype(np.float64)
    exact = np.outer(np.arange(1, 128), np.arange(1, 128)).astype(np.float64)
    relative = (table - exact) / exact
    return {"mean_relative": float(relative.mean()),
            "mean_abs_relative": float(np.abs(relative).mean()),
            "max_abs_relative": float(np.abs(relative).max())}


def accumulators(net: IntegerNet, pieces: np.ndarray, side_to_move: np.ndarray) -> np.ndarray:
    """(N, 2 L1) int16 accumulators, side to move first, exactly as ``IntegerNet`` sums them."""
    stm, nstm = batch_features(pieces, side_to_move, net.features)
    padded = np.vstack([net.ft_weight, np.zeros((1, net.net.l1), np.int16)])  # padding index
    halves = [padded[index].sum(axis=1, dtype=np.int32) + net.ft_bias
              for index in (stm, nstm)]
    return np.concatenate(halves, axis=1).astype(np.int16)


def _layer(x: np.ndarray, weight: np.ndarray, table: np.ndarray | None) -> np.ndarray:
    """(B, N) activations 0..127 times (M, N) int8 weights -> (B, M) int64 sums of products."""
    if table is None:
        return x @ weight.T.astype(np.int64)
    products = table[x[:, None, :], np.abs(weight.astype(np.int64))[None, :, :]]
    return (np.sign(weight)[None, :, :] * products).sum(axis=2)


def integer_scores(net: IntegerNet, pieces: np.ndarray, side_to_move: np.ndarray,
                   multiplier: str = "exact", batch_size: int = 128) -> np.ndarray:
    """(N,) int64 centipawns of the integer net, every hidden product through ``multiplier``."""
    table = None if multiplier == "exact" else multiplier_table(multiplier)
    weights = net.net
    scores = []
    for start in range(0, len(pieces), batch_size):
        both = accumulators(net, pieces[start:start + batch_size],
                            side_to_move[start:start + batch_size])
        x = np.clip(both, 0, ACTIVATION_ONE).astype(np.int64)
        for weight, bias in ((weights.hidden1_weight, weights.hidden1_bias),
                             (weights.hidden2_weight, weights.hidden2_bias)):
            total = _layer(x, weight, table) + bias.astype(np.int64)
            x = np.clip((total + HIDDEN_ROUNDING) >> HIDDEN_WEIGHT_SCALE_BITS, 0, ACTIVATION_ONE)
        output = _layer(x, weights.output_weight, table)[:, 0] + int(weights.output_bias[0])
        scores.append((output + OUTPUT_SCALE // 2) >> OUTPUT_SHIFT)
    return np.concatenate(scores) if scores else np.zeros(0, np.int64)


# ----------------------------------------------------------------------------- studies


def compare(scores: np.ndarray, reference: np.ndarray, child_scores: np.ndarray,
            child_reference: np.ndarray, offsets: np.ndarray) -> dict[str, float]:
    """cp error statistics and best-move agreement of ``scores`` against ``reference``."""
    agreement = best_moves(child_scores, offsets) == best_moves(child_reference, offsets)
    return {**error_statistics(scores, reference), "best_move_agreement": float(agreement.mean())}


def mca_forward(weights: dict[str, np.ndarray], stm: np.ndarray, nstm: np.ndarray,
                virtual_precision: float, rng: np.random.Generator
                ) -> dict[str, np.ndarray]:
    """The float forward pass in float64, every add and multiply perturbed at precision t.
    Returns each layer's result: accumulator (B, 2 L1), hidden1 (B, L2), hidden2 (B, L3),
    output (B,) in centipawns. Padding features are skipped, as a real loop would."""
    ft_weight = np.vstack([weights["ft_weight"], np.zeros((1, weights["ft_weight"].shape[1]))])
    padding = len(ft_weight) - 1
    halves = []
    for index in (stm, nstm):
        total = np.tile(weights["ft_bias"].astype(np.float64), (len(index), 1))
        for slot in range(index.shape[1]):
            rows = ft_weight[index[:, slot]]
            present = (index[:, slot] != padding)[:, None]
            total = np.where(present, mca.perturb(total + rows, virtual_precision, rng), total)
        halves.append(total)
    layers = {"accumulator": np.concatenate(halves, axis=1)}
    x = np.clip(layers["accumulator"], 0.0, 1.0)
    for name in ("hidden1", "hidden2", "output"):
        weight = weights[f"{name}_weight"].astype(np.float64)
        total = mca.matmul(x, weight.T, virtual_precision, rng)
        total = mca.perturb(total + weights[f"{name}_bias"], virtual_precision, rng)
        layers[name] = total
        x = np.clip(total, 0.0, 1.0)
    layers["output"] = layers["output"][:, 0] * NET_TO_CP
    return layers


def mca_study(model: NnueModel, pieces: np.ndarray, side_to_move: np.ndarray,
              precisions: Sequence[float], samples: int, seed: int,
              integer_error: float | None = None) -> dict[str, Any]:
    """Significant bits per layer and of the output, and the output's spread in cp, for each
    virtual precision t; the fewest bits that keep the output within 1 cp (p99 spread)."""
    weights = {name: values.astype(np.float64) for name, values in effective_weights(model).items()}
    stm, nstm = batch_features(pieces, side_to_move, model.features)
    rng = np.random.default_rng(seed)
    exact = model.evaluate_cp(pieces, side_to_move)
    rows = []
    for precision in precisions:
        mca.check_precision(precision)
        tiled = mca_forward(weights, np.tile(stm, (samples, 1)), np.tile(nstm, (samples, 1)),
                            precision, rng)
        row: dict[str, Any] = {"virtual_precision": precision}
        for name, values in tiled.items():
            values = values.reshape(samples, len(pieces), -1)
            bits = mca.significant_bits(values)
            nonzero = np.abs(values.mean(axis=0)) > 0
            row[f"{name}_bits_median"] = float(np.median(bits[nonzero])) if nonzero.any() else 0.0
        outputs = tiled["output"].reshape(samples, len(pieces))
        spread = outputs.std(axis=0)
        row["output_std_cp_mean"] = float(spread.mean())
        row["output_std_cp_p99"] = float(np.percentile(spread, 99))
        row["output_error_cp_mean"] = float(np.abs(outputs - exact[None, :]).mean())
        rows.append(row)
    stable = [row["virtual_precision"] for row in rows if row["output_std_cp_p99"] <= 1.0]
    result: dict[str, Any] = {"rows": rows, "samples": samples, "positions": len(pieces),
                              "fewest_bits_within_1cp": min(stable) if stable else None}
    if integer_error is not None:
        closest = min(rows, key=lambda row: abs(row["output_error_cp_mean"] - integer_error))
        result["int8_mean_error_cp"] = integer_error
        result["virtual_precision_matching_int8"] = closest["virtual_precision"]
    return result


def load_float_and_integer(path: Path) -> tuple[NnueModel, IntegerNet, str]:
    """(float model, integer net, what) from a ``.nnue`` file or an NNUE training checkpoint;
    anything else -> ValueError naming the file."""
    from nnue.check import load_any

    path = Path(path)
    if path.suffix not in (".nnue", ".pt"):
        raise ValueError(f"{path}: expected a .nnue net or an NNUE training checkpoint (.pt)")
    try:
        model, kernel_net, what = load_any(path)
        return model, IntegerNet(kernel_net.net), what
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: not an NNUE checkpoint ({type(error).__name__}: "
                         f"{error})") from None

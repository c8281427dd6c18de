"""The NNUE network in torch (float32): the model we train, and the float reference evaluator.

Idea: ``features -> L1 (x2 perspectives) -> 32 -> 32 -> 1``. The first layer (the *feature
transformer*) is one weight matrix shared by both perspectives; for a sparse binary input its
output is the bias plus the sum of the weight rows of the active features, so we compute it as an
embedding-bag sum over feature indices (never a dense 41,024-wide product). The two perspective
vectors are concatenated side to move first, so the net always reads the position from the side
to move. Every activation is a clipped ReLU, clamp(x, 0, 1), whose range is what lets the
integer evaluator store activations in int8. Weights are clipped after every step to the ranges
the integer format can hold (constants in ``nnue/quantize.py``); ``quantize`` turns a trained
model into that integer net and ``dequantize`` back (this module imports ``nnue.quantize``, never
the other way round).

Under ``king-buckets`` the training model is *factorized* (nnue-pytorch's "virtual features"):
the weight row of "piece p on square s, own king in bucket b" is a per-bucket row plus a row
for "piece p on square s" shared by all buckets, so every position also trains what the buckets
have in common, and a bucket seen rarely still starts from a good piece-square evaluation. The
two are summed before rounding (``ft_rows``), so the integer net stores one merged row per
feature and the evaluator never knows.

The output ``y`` is in "network units": ``y * NET_TO_CP`` is centipawns from the side to move,
and ``sigmoid(cp / WDL_SCALE)`` the expected score (win probability, draws counting half).

Reference: Stockfish 12 ``nnue/nnue_architecture.h`` (HalfKP 256x2-32-32-1); nnue-pytorch
``model.py`` and its docs. Command: ``nnue train --data data/sf --out runs/nnue``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnue.features import (
    KING_BUCKETS_SET,
    PIECE_SQUARE_BLOCK,
    FeatureSet,
    batch_features,
    feature_set_named,
)
from nnue.quantize import (
    FT_SCALE,
    FT_WEIGHT_LIMIT,
    HIDDEN_BIAS_SCALE,
    HIDDEN_WEIGHT_LIMIT,
    HIDDEN_WEIGHT_SCALE,
    INT8_MAX,
    INT16_MAX,
    NET_TO_CP,
    OUTPUT_BIAS_SCALE,
    OUTPUT_WEIGHT_LIMIT,
    OUTPUT_WEIGHT_SCALE,
    QuantizedNet,
)

WDL_SCALE = 410.0  # centipawns -> expected score: sigmoid(cp / 410), Stockfish trainers' scale


@dataclass(frozen=True)
class NnueConfig:
    """The network's shape (stored in checkpoints and in the ``.nnue`` header)."""

    feature_set: str = "piece-square"  # "piece-square" (768), "halfkp" (41,024), "king-buckets"
    l1: int = 256  # feature-transformer width per perspective
    l2: int = 32
    l3: int = 32
    quantization_aware: bool = True  # compute with weights rounded to the integer grid (below)

    def validate(self) -> FeatureSet:
        """The feature set, after checking the sizes; ValueError naming what is wrong."""
        for name in ("l1", "l2", "l3"):
            size = getattr(self, name)
            if not isinstance(size, int) or not 1 <= size <= 4096:
                raise ValueError(f"layer size {name}={size!r} must be an integer in 1..4096")
        return feature_set_named(self.feature_set)


class NnueModel(nn.Module):
    """Float NNUE: ``forward(stm, nstm) -> (B,)`` network output from the side to move."""

    def __init__(self, config: NnueConfig = NnueConfig()) -> None:
        super().__init__()
        self.config = config
        self.features = config.validate()
        padding = self.features.num_features  # index of an all-zero row for absent features
        self.feature_transformer = nn.EmbeddingBag(
            self.features.num_features + 1, config.l1, mode="sum", padding_idx=padding)
        self.ft_bias = nn.Parameter(torch.full((config.l1,), 0.25))
        # (768, L1): the piece-square factor shared by every king bucket (king-buckets only)
        self.factor = (nn.Parameter(torch.zeros(PIECE_SQUARE_BLOCK, config.l1))
                       if self.features is KING_BUCKETS_SET else None)
        self.hidden1 = nn.Linear(2 * config.l1, config.l2)
        self.hidden2 = nn.Linear(config.l2, config.l3)
        self.output = nn.Linear(config.l3, 1)
        with torch.no_grad():
            # About max_active features are on: keep the accumulator's spread near 0.25.
            std = 0.25 / np.sqrt(self.features.max_active)
            self.feature_transformer.weight.normal_(0.0, std)
            self.feature_transformer.weight[padding].zero_()
        self.clip_weights()

    def weight(self, tensor: torch.Tensor, scale: float) -> torch.Tensor:
        """``tensor`` as the network uses it: on the integer grid when quantization-aware.

        Quantization-aware training: the forward pass uses round(w * scale) / scale, exactly the
        value the integer net will hold, while the gradient flows to the float weight as if the
        rounding were not there (the straight-through estimator). The float network then
        computes the integer network's function up to the rounding of activations.
        """
        if not self.config.quantization_aware:
            return tensor
        return tensor + (torch.round(tensor * scale) / scale - tensor).detach()

    def ft_rows(self) -> torch.Tensor:
        """(num_features + 1, L1) feature-transformer rows, the factor merged in; last row zero."""
        rows = self.feature_transformer.weight
        if self.factor is None:
            return rows
        buckets = rows[:-1].view(-1, PIECE_SQUARE_BLOCK, self.config.l1) + self.factor
        return torch.cat([buckets.reshape(-1, self.config.l1), rows[-1:]])

    def forward(self, stm: torch.Tensor, nstm: torch.Tensor) -> torch.Tensor:
        """``stm``, ``nstm``: (B, K) int64 feature indices (padded). Returns (B,) float32."""
        batch = stm.shape[0]
        ft_weight = self.weight(self.ft_rows(), FT_SCALE)
        both = nn.functional.embedding_bag(  # (2B, L1): sum of the active rows, per perspective
            torch.cat([stm, nstm]), ft_weight, mode="sum",
            padding_idx=self.features.num_features) + self.weight(self.ft_bias, FT_SCALE)
        accumulators = torch.cat([both[:batch], both[batch:]], dim=1)  # (B, 2 L1), stm first
        x = torch.clamp(accumulators, 0.0, 1.0)
        for layer in (self.hidden1, self.hidden2):  # (B, L2), then (B, L3)
            x = torch.clamp(nn.functional.linear(
                x, self.weight(layer.weight, HIDDEN_WEIGHT_SCALE),
                self.weight(layer.bias, HIDDEN_BIAS_SCALE)), 0.0, 1.0)
        return nn.functional.linear(  # (B,)
            x, self.weight(self.output.weight, OUTPUT_WEIGHT_SCALE),
            self.weight(self.output.bias, OUTPUT_BIAS_SCALE)).squeeze(1)

    @torch.no_grad()
    def clip_weights(self) -> None:
        """Clamp every weight into the range its integer type can represent after scaling."""
        self.feature_transformer.weight.clamp_(-FT_WEIGHT_LIMIT, FT_WEIGHT_LIMIT)
        if self.factor is not None:  # the merged rows are what the integer net stores
            self.factor.clamp_(-FT_WEIGHT_LIMIT, FT_WEIGHT_LIMIT)
            buckets = self.feature_transformer.weight[:-1].view(-1, PIECE_SQUARE_BLOCK,
                                                                self.config.l1)
            torch.maximum(buckets, -FT_WEIGHT_LIMIT - self.factor, out=buckets)
            torch.minimum(buckets, FT_WEIGHT_LIMIT - self.factor, out=buckets)
        self.ft_bias.clamp_(-FT_WEIGHT_LIMIT, FT_WEIGHT_LIMIT)
        self.hidden1.weight.clamp_(-HIDDEN_WEIGHT_LIMIT, HIDDEN_WEIGHT_LIMIT)
        self.hidden2.weight.clamp_(-HIDDEN_WEIGHT_LIMIT, HIDDEN_WEIGHT_LIMIT)
        self.output.weight.clamp_(-OUTPUT_WEIGHT_LIMIT, OUTPUT_WEIGHT_LIMIT)

    @torch.no_grad()
    def evaluate_cp(self, pieces: np.ndarray, side_to_move: np.ndarray,
                    batch_size: int = 8192) -> np.ndarray:
        """Float centipawn scores (side to move) of encoded positions, (N,) float64."""
        self.eval()
        scores = []
        for start in range(0, len(pieces), batch_size):
            stm, nstm = batch_features(pieces[start:start + batch_size],
                                       side_to_move[start:start + batch_size], self.features)
            output = self(torch.from_numpy(stm), torch.from_numpy(nstm))
            scores.append(output.double().numpy() * NET_TO_CP)
        return np.concatenate(scores) if scores else np.zeros(0)


def win_probability(centipawns: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Expected score for the side to move: sigmoid(cp / WDL_SCALE)."""
    if isinstance(centipawns, torch.Tensor):
        return torch.sigmoid(centipawns / WDL_SCALE)
    return 1.0 / (1.0 + np.exp(-np.asarray(centipawns, dtype=np.float64) / WDL_SCALE))


def loss_function(output: torch.Tensor, score: torch.Tensor, result: torch.Tensor,
                  lambda_: float) -> torch.Tensor:
    """Mean squared error in win-probability space.

    target = lambda * sigmoid(teacher cp / WDL_SCALE) + (1 - lambda) * (result + 1) / 2:
    lambda = 1 trusts the teacher's search score alone, lambda = 0 the game's outcome alone.
    """
    predicted = torch.sigmoid(output * NET_TO_CP / WDL_SCALE)
    target = lambda_ * torch.sigmoid(score / WDL_SCALE) + (1.0 - lambda_) * (result + 1.0) / 2.0
    return torch.mean((predicted - target) ** 2)


def r_squared(predicted: np.ndarray, target: np.ndarray) -> float:
    """Coefficient of determination of ``predicted`` against ``target`` (1 is perfect)."""
    residual = np.sum((target - predicted) ** 2)
    total = np.sum((target - np.mean(target)) ** 2)
    return float(1.0 - residual / total) if total > 0 else float("nan")


# ------------------------------------------ float model <-> integer net (nnue/quantize.py)


def _to_int(values: np.ndarray, scale: float, dtype: type, limit: int) -> np.ndarray:
    """round(values * scale), checked to fit: clipping during training guarantees it does."""
    scaled = np.round(np.asarray(values, dtype=np.float64) * scale)
    if np.abs(scaled).max(initial=0) > limit:
        raise ValueError(f"a weight needs {np.abs(scaled).max():.0f} > {limit} after scaling:"
                         " the model was not trained with weight clipping")
    return scaled.astype(dtype)


def quantize(model: NnueModel) -> QuantizedNet:
    """The integer net of a float model (weights must lie within the clipping limits).

    A model with a NaN or infinite weight (a diverged training run) is a ValueError naming it.
    """
    not_finite = [name for name, tensor in model.state_dict().items()
                  if not bool(torch.isfinite(tensor).all())]
    if not_finite:
        raise ValueError(f"the model has NaN or infinite weights in {', '.join(not_finite)}; "
                         "it cannot be quantized (retrain with a lower learning rate)")
    with torch.no_grad():
        def get(tensor: torch.Tensor) -> np.ndarray:
            return tensor.detach().cpu().double().numpy()

        int32_max = np.iinfo(np.int32).max
        config = model.config
        return QuantizedNet(
            feature_set=config.feature_set, l1=config.l1, l2=config.l2, l3=config.l3,
            ft_weight=_to_int(get(model.ft_rows())[:-1], FT_SCALE, np.int16,
                              INT16_MAX),
            ft_bias=_to_int(get(model.ft_bias), FT_SCALE, np.int16, INT16_MAX),
            hidden1_weight=_to_int(get(model.hidden1.weight), HIDDEN_WEIGHT_SCALE, np.int8,
                                   INT8_MAX),
            hidden1_bias=_to_int(get(model.hidden1.bias), HIDDEN_BIAS_SCALE, np.int32, int32_max),
            hidden2_weight=_to_int(get(model.hidden2.weight), HIDDEN_WEIGHT_SCALE, np.int8,
                                   INT8_MAX),
            hidden2_bias=_to_int(get(model.hidden2.bias), HIDDEN_BIAS_SCALE, np.int32, int32_max),
            output_weight=_to_int(get(model.output.weight), OUTPUT_WEIGHT_SCALE, np.int8,
                                  INT8_MAX),
            output_bias=_to_int(get(model.output.bias), OUTPUT_BIAS_SCALE, np.int32, int32_max),
        )


def dequantize(net: QuantizedNet, quantization_aware: bool = True) -> NnueModel:
    """A float model whose weights are exactly the integer net's weights divided by the scales.

    Its weights already lie on the grid, so ``quantization_aware=False`` computes the same
    function with a plain (faster) float forward pass.
    """
    model = NnueModel(NnueConfig(net.feature_set, net.l1, net.l2, net.l3, quantization_aware))
    with torch.no_grad():
        def put(tensor: torch.Tensor, values: np.ndarray, scale: float) -> None:
            tensor.copy_(torch.from_numpy(values.astype(np.float64) / scale))

        put(model.feature_transformer.weight[:-1], net.ft_weight, FT_SCALE)
        put(model.ft_bias, net.ft_bias, FT_SCALE)
        put(model.hidden1.weight, net.hidden1_weight, HIDDEN_WEIGHT_SCALE)
        put(model.hidden1.bias, net.hidden1_bias, HIDDEN_BIAS_SCALE)
        put(model.hidden2.weight, net.hidden2_weight, HIDDEN_WEIGHT_SCALE)
        put(model.hidden2.bias, net.hidden2_bias, HIDDEN_BIAS_SCALE)
        put(model.output.weight, net.output_weight, OUTPUT_WEIGHT_SCALE)
        put(model.output.bias, net.output_bias, OUTPUT_BIAS_SCALE)
    return model

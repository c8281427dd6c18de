"""The AlphaZero policy-value network, generic over a game's input planes and action space.

A convolutional stem lifts the ``(C, H, W)`` input to ``channels`` feature planes; a tower of
residual blocks (optionally with squeeze-and-excitation) refines them; two heads read the result:

* the **policy head** gives one logit per action of the game's action space; illegal actions are
  masked to -inf before the softmax, so the network only ever spreads probability over legal moves.
  Two forms: ``fc`` squeezes the board to a few planes and reads every action from all of them
  with one linear layer (AlphaZero's Go head); ``conv`` (AlphaZero's chess head) is a 3x3
  convolution, then a 1x1 convolution to ``action_size / (H W)`` planes, read out square by
  square as ``index = P * square + plane`` -- the layout of chess's 8x8x73 move map. At 32
  channels the conv head has 50 times fewer weights than the fc one on chess (11,689 against
  602,756), and each of them serves all 64 squares, so it learns from far fewer positions;
* the **value head** gives the expected outcome for the side to move: either one tanh scalar in
  [-1, 1] or three win/draw/loss logits (Leela's WDL head), whose expectation is P(win) - P(loss).

Reference: Silver et al., "Mastering chess and shogi by self-play..." (2017), methods; sizes from
1 block x 16 channels (Hexapawn) to the 20 x 256 of the paper are the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from minizero.nn.blocks import ResidualBlock

VALUE_HEADS = ("scalar", "wdl")
POLICY_HEADS = ("fc", "conv")
# Sizes a config may ask for: a checkpoint from a stranger that asks for 200,000 channels is
# refused here, not by an allocation of 1.4 TB. AlphaZero's 20 x 256 chess net has about
# 24 million parameters (float32: 100 MB); the limit is eight times that.
MAX_BLOCKS = 256
MAX_WIDTH = 65_536  # channels, head sizes, input planes, board sides, actions per square
MAX_ACTIONS = 10_000_000
MAX_PARAMETERS = 200_000_000


@dataclass(frozen=True)
class NetworkConfig:
    """Shape of a `PolicyValueNet`.

    input_shape: (C, H, W) of the game's encoding.
    action_size: number of logits of the policy head.
    blocks, channels: depth and width of the residual tower.
    se: squeeze-and-excitation in every block; se_reduction: its bottleneck ratio.
    value_head: "scalar" (tanh) or "wdl" (win/draw/loss logits).
    policy_head: "fc" or "conv" (needs action_size to be a multiple of H * W).
    policy_channels, value_channels, value_hidden: sizes inside the heads.
    """

    input_shape: tuple[int, int, int]
    action_size: int
    blocks: int = 1
    channels: int = 16
    se: bool = True
    se_reduction: int = 4
    value_head: str = "scalar"
    policy_head: str = "fc"
    policy_channels: int = 2
    value_channels: int = 1
    value_hidden: int = 32

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        if len(self.input_shape) != 3 or not all(_whole(size) and 0 < size <= MAX_WIDTH
                                                 for size in self.input_shape):
            raise ValueError(f"input_shape must be (C, H, W) of positive sizes: "
                             f"{self.input_shape}")
        for name in ("action_size", "blocks", "channels", "se_reduction", "policy_channels",
                     "value_channels", "value_hidden"):
            value = getattr(self, name)
            if not _whole(value):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            if value <= 0 and not (name == "blocks" and self.blocks == 0):
                raise ValueError(f"{name} must be positive, got {value}")
            limit = {"blocks": MAX_BLOCKS, "action_size": MAX_ACTIONS}.get(name, MAX_WIDTH)
            if value > limit:
                raise ValueError(f"{name} {value} is beyond this package's limit of {limit:,}")
        if self.value_head not in VALUE_HEADS:
            raise ValueError(f"value_head must be one of {VALUE_HEADS}, got {self.value_head!r}")
        if self.policy_head not in POLICY_HEADS:
            raise ValueError(f"policy_head must be one of {POLICY_HEADS}, "
                             f"got {self.policy_head!r}")
        squares = self.input_shape[1] * self.input_shape[2]
        if self.policy_head == "conv" and self.action_size % squares:
            raise ValueError(f"a conv policy head needs action_size to be a multiple of the "
                             f"{squares} squares, got {self.action_size}")
        with torch.device("meta"):  # shapes only: counts the parameters, allocates nothing
            parameters = sum(weights.numel() for weights in PolicyValueNet(self).parameters())
        if parameters > MAX_PARAMETERS:
            raise ValueError(f"a network of {parameters:,} parameters (blocks {self.blocks}, "
                             f"channels {self.channels}) is beyond this package's limit of "
                             f"{MAX_PARAMETERS:,}")


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _squeeze_planes(channels: int, planes: int) -> list[nn.Module]:
    """The start of both heads: a 1x1 convolution to a few planes, batch norm, ReLU, flatten."""
    return [nn.Conv2d(channels, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(),
            nn.Flatten()]


class ConvPolicyHead(nn.Module):
    """3x3 conv-BN-ReLU, then a 1x1 conv to P planes: (B, C, H, W) -> (B, H * W * P) logits,
    the logit of plane p at square s at index P * s + p."""

    def __init__(self, channels: int, planes: int) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                    nn.BatchNorm2d(channels), nn.ReLU())
        self.out = nn.Conv2d(channels, planes, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits = self.out(self.hidden(features))  # (B, P, H, W)
        return logits.permute(0, 2, 3, 1).flatten(1)  # (B, H * W * P), square-major


class PolicyValueNet(nn.Module):
    """Stem, residual tower, policy and value heads (see the module docstring)."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        planes, height, width = config.input_shape
        squares = height * width
        self.stem = nn.Sequential(
            nn.Conv2d(planes, config.channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(config.channels),
            nn.ReLU(),
        )
        self.tower = nn.Sequential(*[
            ResidualBlock(config.channels, config.se, config.se_reduction)
            for _ in range(config.blocks)
        ])
        if config.policy_head == "conv":
            self.policy_head = ConvPolicyHead(config.channels, config.action_size // squares)
        else:
            self.policy_head = nn.Sequential(
                *_squeeze_planes(config.channels, config.policy_channels),  # (B, P * H * W)
                nn.Linear(config.policy_channels * squares, config.action_size),
            )
        value_outputs = 1 if config.value_head == "scalar" else 3
        self.value_head = nn.Sequential(
            *_squeeze_planes(config.channels, config.value_channels),  # (B, V * H * W)
            nn.Linear(config.value_channels * squares, config.value_hidden),
            nn.ReLU(),
            nn.Linear(config.value_hidden, value_outputs),
        )

    def forward(
        self, planes: torch.Tensor, legal: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy logits (B, A), illegal ones -inf if ``legal`` (B, A) bool is given, and the
        value output: (B,) tanh values or (B, 3) WDL logits, from the side to move."""
        features = self.tower(self.stem(planes))  # (B, channels, H, W)
        logits = self.policy_head(features)  # (B, A)
        if legal is not None:
            logits = logits.masked_fill(~legal, -math.inf)
        value = self.value_head(features)
        if self.config.value_head == "scalar":
            value = torch.tanh(value.squeeze(1))  # (B,)
        return logits, value

    @staticmethod
    def expected_value(value_output: torch.Tensor) -> torch.Tensor:
        """(B,) expected outcome in [-1, 1] from either head: tanh values, or P(win) - P(loss)."""
        if value_output.dim() == 1:
            return value_output
        probabilities = torch.softmax(value_output, dim=1)  # (B, 3): win, draw, loss
        return probabilities[:, 0] - probabilities[:, 2]

    @torch.no_grad()
    def predict(self, planes: np.ndarray, legal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inference on numpy batches: policy probabilities (B, A) over legal actions and
        expected values (B,) from the side to move. Switches the network to eval mode."""
        if self.training:
            self.eval()
        weight = self.stem[0].weight  # its device and number format (float32 or bfloat16)
        logits, value = self(torch.from_numpy(planes).to(weight.device, weight.dtype),
                             torch.from_numpy(legal).to(weight.device))
        policy = torch.softmax(logits.float(), dim=1)
        return policy.cpu().numpy(), self.expected_value(value.float()).cpu().numpy()


def deepen(network: PolicyValueNet, extra_blocks: int) -> PolicyValueNet:
    """A copy of ``network`` with ``extra_blocks`` residual blocks appended to its tower, each
    starting as the identity: the deeper net computes exactly what the trained one did, and
    training goes on from there with more capacity instead of from scratch (Net2Net's deeper
    net, Chen, Goodfellow and Shlens, ICLR 2016). ``minizero train --init NET --add-blocks N``.
    """
    if extra_blocks < 0:
        raise ValueError(f"extra_blocks must be >= 0, got {extra_blocks}")
    blocks = network.config.blocks
    deeper = PolicyValueNet(replace(network.config, blocks=blocks + extra_blocks))
    missing, unexpected = deeper.load_state_dict(network.state_dict(), strict=False)
    assert not unexpected and all(name.startswith("tower.") for name in missing)
    for block in deeper.tower[blocks:]:
        block.start_as_identity()
    return deeper.train(network.training)


DENORMAL_FLOOR = 1e-30  # zeroed below this: far under any weight that matters


@torch.no_grad()
def flush_denormal_weights(network: nn.Module) -> None:
    """Set every parameter smaller in magnitude than DENORMAL_FLOOR to exactly zero.

    Weight decay shrinks weights that get little gradient towards zero, into the denormal range
    (below 1.2e-38), where x86 arithmetic is many times slower: a chess net grown by four blocks
    (``--add-blocks``) trained 5x slower after 4,600 steps, its new blocks full of them. The
    trainer calls this after every step (1.2 ms on that net), and `load_network` for the nets it
    loads. ``torch.set_flush_denormal`` alone is not enough: it holds for the calling thread
    only, not for the worker threads torch computes with. (The 4 x 64 chess net shipped before
    the current one held 986 denormal weights of 373,070; flushing them left its evaluation
    speed unchanged, 1.00-1.01x, measured interleaved at batch 1 and 16.)"""
    for parameter in network.parameters():
        parameter.masked_fill_(parameter.abs() < DENORMAL_FLOOR, 0.0)


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``; ValueError if unavailable."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: this torch build or machine has no CUDA device")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


PRECISIONS = ("auto", "float32", "bfloat16")


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """The number format a network plays in: ``float32``, ``bfloat16``, or ``auto``.

    bfloat16 keeps float32's 8 exponent bits and 7 of its 23 fraction bits: half the memory
    traffic, and on CPUs with bfloat16 matrix units (Intel AMX or AVX512-BF16) or recent GPUs
    much faster convolutions (on an AMX core the chess engine evaluates 1.27x as many positions
    a second at batch 16: ``make bench BENCH=zero_chess``). ``auto`` takes bfloat16 where such
    hardware is present and float32 elsewhere (emulated bfloat16 would be slower). Training
    has its own choice, `minizero.train.TrainConfig.precision`.
    """
    if name not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    if name != "auto":
        return torch.float32 if name == "float32" else torch.bfloat16
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    else:
        native = any(getattr(torch.cpu, probe, lambda: False)()
                     for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
    return torch.bfloat16 if native else torch.float32


def load_network(path: str, input_shape: tuple[int, int, int] | None = None,
                 action_size: int | None = None) -> PolicyValueNet:
    """A network from a minizero checkpoint; ValueError naming the file if it does not fit.

    ``input_shape`` and ``action_size``, when given, must match the game it will play.
    """
    from minizero.checkpoint import load_checkpoint

    config, parts = load_checkpoint(path)
    try:
        network_config = NetworkConfig(**config["network"])
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: checkpoint holds no network config ({error})") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    if input_shape is not None and network_config.input_shape != tuple(input_shape):
        raise ValueError(f"{path}: network takes input {network_config.input_shape}, "
                         f"the game gives {tuple(input_shape)}")
    if action_size is not None and network_config.action_size != action_size:
        raise ValueError(f"{path}: network has {network_config.action_size} actions, "
                         f"the game {action_size}")
    network = PolicyValueNet(network_config)
    try:
        network.load_state_dict(parts["model"])
    except (KeyError, RuntimeError, TypeError, AttributeError) as error:
        first = str(error).splitlines()[0][:120]
        raise ValueError(f"{path}: weights do not fit the network ({first})") from None
    for name, tensor in network.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{path}: weights are not finite (NaN or infinity in {name})")
    network.eval()
    flush_denormal_weights(network)
    return network

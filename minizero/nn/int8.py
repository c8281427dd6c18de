"""int8 inference for the policy-value net: post-training static quantization.

The float32 net is traced (torch.fx), each batch norm folded into the convolution before it,
and observers put on every activation. Calibration runs positions through it and records each
activation's range [min, max]; conversion then turns the convolutions of the stem, the tower
and the policy head (all but its last) into int8 ones (torch's x86 backend: oneDNN or fbgemm
kernels with AVX2, AVX-512 VNNI or AMX, whichever the CPU has). Weights are quantized per
output channel, activations per tensor:

    real value = scale * (integer - zero_point)
    weights:     int8 in [-128, 127], zero_point 0, one scale per output channel (max |w| / 127)
    activations: uint8 in [0, 255] ([0, 127] without VNNI), one (scale, zero_point) per tensor
                 from its calibrated range

On CPUs without VNNI (AVX2 only) activations use 7 of the 8 bits
(``reduce_range``): there the int8 multiply-add instruction adds two uint8 x int8 products into
an int16, which 8-bit inputs can overflow; with VNNI or AMX they use all 8 (``has_vnni``).
Element-wise work between the layers (ReLU after a residual branch, the squeeze-excitation
gates, the heads' softmax and tanh), the small linear layers and the value head stay in float.

Only the calibration is saved (a small JSON file beside the weights, ``<weights>.int8.json``):
the weights' integers follow from the float weights, so the file holds the activation ranges
and the SHA-256 of the weights they were measured with. A missing, corrupt or stale file (made
from other weights) is refused with a one-line ValueError naming it.

Graded against the float32 net by ``make bench BENCH=zero_nps`` (same favourite move, value
difference). Make a calibration file: ``python -m minizero.nn.int8 WEIGHTS`` (chess nets).
Reference: Jacob et al., "Quantization and training of neural networks for efficient
integer-arithmetic-only inference", CVPR 2018; PyTorch's FX graph mode quantization.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from minizero.atomic import write_text
from minizero.nn.network import PolicyValueNet

FORMAT = "minizero-int8-calibration"
VERSION = 1
BACKEND = "x86"  # torch's quantized engine for x86 CPUs (oneDNN and fbgemm kernels)
CALIBRATION_SUFFIX = ".int8.json"


def calibration_path(weights: str | Path) -> Path:
    """Where the calibration of the net in ``weights`` lives: beside it, ``NAME.int8.json``."""
    return Path(weights).with_suffix(CALIBRATION_SUFFIX)


def weights_digest(network: PolicyValueNet) -> str:
    """SHA-256 of the network's config and float weights: what a calibration was made from."""
    digest = hashlib.sha256(json.dumps(network.config.__dict__, default=list).encode())
    for name, tensor in sorted(network.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


class _Trunk(nn.Module):
    """The network without its output transforms: planes (B, C, H, W) -> (policy logits (B, A),
    raw value output (B, 1) or (B, 3)). This is the part that is traced and quantized; masking
    illegal moves, tanh and softmax stay in float (`Int8Network.forward`)."""

    def __init__(self, network: PolicyValueNet) -> None:
        super().__init__()
        self.stem, self.tower = network.stem, network.tower
        self.policy_head, self.value_head = network.policy_head, network.value_head

    def forward(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.tower(self.stem(planes))
        return self.policy_head(features), self.value_head(features)


def has_vnni() -> bool:
    """Whether the int8 kernels may use all 8 bits of the activations: the CPU has AVX-512 VNNI
    (or AMX) and ``ONEDNN_MAX_CPU_ISA`` does not hold oneDNN below it (a simulated AVX2 CPU)."""
    capped = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ("SSE41", "AVX", "AVX2")
    return bool(torch.cpu._is_vnni_supported()) and not capped


def _observed(network: PolicyValueNet, histogram: bool = False, full_range: bool = True
              ) -> torch.fx.GraphModule:
    """A copy of the net's trunk, batch norms folded, with an observer on every activation
    that will be quantized (named ``activation_post_process_N``, the same names for the same
    network shape): min/max observers, or with ``histogram`` ones that choose the range that
    minimises the quantization error (clipping rare outliers) for calibration. Without
    ``full_range`` activations get 7 bits (see the module docstring)."""
    from torch.ao.quantization import (
        HistogramObserver,
        MinMaxObserver,
        QConfig,
        get_default_qconfig_mapping,
    )
    from torch.ao.quantization.observer import default_per_channel_weight_observer
    from torch.ao.quantization.quantize_fx import prepare_fx

    torch.backends.quantized.engine = BACKEND
    observer = HistogramObserver if histogram else MinMaxObserver
    activation = observer.with_args(dtype=torch.quint8, reduce_range=not full_range)
    qconfig = QConfig(activation=activation,
                      weight=default_per_channel_weight_observer)
    mapping = get_default_qconfig_mapping(BACKEND).set_global(qconfig)
    # keep the backend's fixed ranges (sigmoid, tanh, softmax); every other layer gets min/max
    for kind, default in list(mapping.object_type_qconfigs.items()):
        if default is not None and "Histogram" in repr(default.activation):
            mapping.set_object_type(kind, qconfig)
    # The value head stays float: its layers are tiny (a 1x1 convolution to one plane, two
    # linear layers), so int8 would save little time and cost the value most of its accuracy.
    mapping.set_module_name("value_head", None)
    # So do the squeeze-excitation layers (64 -> 16 -> 128 numbers a board) and the policy
    # head's last 1x1 convolution, whose logits decide the favourite move: together under 1% of
    # the multiply-adds.
    mapping.set_object_type(nn.Linear, None)
    mapping.set_module_name("policy_head.out", None)
    # The squeeze-excitation's scaling, sigmoid(gamma) * x + beta, is a broadcast multiply
    # that torch's int8 kernels do slower than a convolution: it stays in float too.
    for index in range(network.config.blocks):
        mapping.set_module_name(f"tower.{index}.se", None)
    trunk = _Trunk(copy.deepcopy(network).float().cpu().eval())
    example = torch.zeros(1, *network.config.input_shape)
    with warnings.catch_warnings():  # torch.ao's deprecation notice: the API still works
        warnings.simplefilter("ignore")
        return prepare_fx(trunk, mapping, example_inputs=(example,))


def _observers(observed: torch.fx.GraphModule) -> dict[str, nn.Module]:
    return {name: module for name, module in observed.named_modules()
            if name.startswith("activation_post_process") and hasattr(module, "min_val")}


@torch.no_grad()
def calibrate(network: PolicyValueNet, planes: np.ndarray, batch_size: int = 64
              ) -> dict[str, object]:
    """Run ``planes`` (N, C, H, W) through the observed net; the calibration as a JSON-ready
    dict: the weights' digest and each activation's [min, max]."""
    if len(planes) == 0:
        raise ValueError("calibration needs at least one position")
    observed = _observed(network, histogram=True)
    for start in range(0, len(planes), batch_size):
        observed(torch.from_numpy(planes[start:start + batch_size]).float())
    ranges = {}
    for name, module in _observers(observed).items():
        low, high = module._non_linear_param_search()  # the range kept after clipping
        ranges[name] = [float(low), float(high)]
    return {"format": FORMAT, "version": VERSION, "weights_sha256": weights_digest(network),
            "backend": BACKEND, "positions": len(planes), "activation_ranges": ranges}


def save_calibration(path: str | Path, calibration: dict[str, object]) -> None:
    write_text(Path(path), json.dumps(calibration, indent=1) + "\n")


def read_calibration(path: str | Path, network: PolicyValueNet) -> dict[str, list[float]]:
    """The activation ranges of the calibration file ``path`` for ``network``; ValueError
    naming the file when it is missing, corrupt, or was made from other weights (stale)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: no int8 calibration file (make one with: python -m "
                         f"minizero.nn.int8 WEIGHTS)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not an int8 calibration file ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not an int8 calibration file (format is not {FORMAT})")
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: int8 calibration version {data.get('version')!r}, this "
                         f"package reads {VERSION}")
    if data.get("weights_sha256") != weights_digest(network):
        raise ValueError(f"{path}: stale int8 calibration, made from other weights")
    ranges = data.get("activation_ranges")
    if not isinstance(ranges, dict) or not all(
            isinstance(pair, list) and len(pair) == 2
            and all(isinstance(value, (int, float)) and math.isfinite(value) for value in pair)
            and pair[0] <= pair[1] for pair in ranges.values()):
        raise ValueError(f"{path}: corrupt int8 calibration (activation ranges must be finite "
                         f"[min, max] pairs)")
    return ranges


class Int8Network(nn.Module):
    """The int8 twin of a `PolicyValueNet`, with the same ``forward``, ``predict`` and
    ``expected_value`` (so the search takes it in place of the float net); CPU only."""

    def __init__(self, network: PolicyValueNet, ranges: dict[str, list[float]],
                 full_range: bool | None = None) -> None:
        """``full_range``: 8-bit activations (True), 7-bit (False), or as the CPU allows."""
        super().__init__()
        from torch.ao.quantization.quantize_fx import convert_fx

        self.config = network.config
        self.full_range = has_vnni() if full_range is None else full_range
        observed = _observed(network, full_range=self.full_range)
        observers = _observers(observed)
        if set(observers) != set(ranges):
            raise ValueError("int8 calibration does not fit this network's activations")
        for name, module in observers.items():
            low, high = ranges[name]
            module.min_val.fill_(low)
            module.max_val.fill_(high)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.trunk = convert_fx(observed)

    @classmethod
    def from_file(cls, network: PolicyValueNet, path: str | Path,
                  full_range: bool | None = None) -> Int8Network:
        """The int8 net from ``network`` and its calibration file; ValueError naming it."""
        try:
            return cls(network, read_calibration(path, network), full_range)
        except ValueError as error:
            message = str(error)
            raise ValueError(message if message.startswith(str(path))
                             else f"{path}: {message}") from None

    def forward(self, planes: torch.Tensor, legal: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """As `PolicyValueNet.forward`: policy logits (B, A), -inf where ``legal`` is False,
        and the value output, (B,) tanh values or (B, 3) WDL logits, from the side to move."""
        logits, value = self.trunk(planes.float())
        if legal is not None:
            logits = logits.masked_fill(~legal, -math.inf)
        if self.config.value_head == "scalar":
            value = torch.tanh(value.squeeze(1))
        return logits, value

    expected_value = staticmethod(PolicyValueNet.expected_value)

    @torch.no_grad()
    def predict(self, planes: np.ndarray, legal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Policy probabilities (B, A) over legal actions and expected values (B,)."""
        logits, value = self(torch.from_numpy(planes), torch.from_numpy(legal))
        return torch.softmax(logits, dim=1).numpy(), self.expected_value(value).numpy()


def main(argv: list[str] | None = None) -> int:
    """``python -m minizero.nn.int8 WEIGHTS``: calibrate a chess net on positions of games it
    plays against itself (moves drawn from its policy, seeded) and write WEIGHTS.int8.json."""
    import chess

    from minizero.chessgame import encoding
    from minizero.chessgame.game import ChessGame
    from minizero.nn.network import load_network

    parser = argparse.ArgumentParser(prog="python -m minizero.nn.int8", description=main.__doc__)
    parser.add_argument("weights")
    parser.add_argument("--games", type=int, default=16)
    parser.add_argument("--plies", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    network = load_network(args.weights)
    game = ChessGame(history=encoding.history_of(network.config.input_shape[0]))
    rng = np.random.default_rng(args.seed)
    states = [game.state_from_board(chess.Board()) for _ in range(args.games)]
    planes = []
    for _ in range(args.plies):
        states = [state for state in states if game.terminal_value(state) is None]
        if not states:
            break
        batch = np.stack([game.encode(state) for state in states])
        legal = np.stack([encoding.legal_mask(state.board) for state in states])
        planes.append(batch)
        policy, _ = network.predict(batch, legal)
        states = [game.apply(state, int(rng.choice(len(row), p=row / row.sum())))
                  for state, row in zip(states, policy, strict=True)]
    calibration = calibrate(network, np.concatenate(planes))
    save_calibration(calibration_path(args.weights), calibration)
    print(f"{calibration_path(args.weights)}: {calibration['positions']} positions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Number formats applied to torch networks: post-training, quantization-aware, fixed-point storage.

Idea: a network keeps float32 *master* weights. Post-training quantization rounds them once.
Quantization-aware training (QAT) runs each forward and backward pass with the rounded weights
but applies the gradient to the float masters: the gradient is taken as if rounding were the
identity (the straight-through estimator, Bengio et al. 2013; BinaryConnect, Courbariaux et al.
2015), so weights can drift across rounding boundaries a little at a time. Fixed-point
*storage* training (Gupta et al. 2015) has no master copy at all: after every update the weights
themselves are rounded back into the format, which is where stochastic rounding matters, since
an update smaller than half a step is lost to round-to-nearest every time.

Activations (the outputs of every convolution and linear layer, i.e. the accumulated sums) can
be rounded too, by forward hooks whose rounding also passes gradients straight through.

Quantized parameters are the weights and biases of every ``Conv2d``, ``Linear``, ``Embedding``
and ``EmbeddingBag``; batch-norm parameters and statistics stay float32 (in deployment they are
folded into the preceding convolution). Command: ``hexapawn precision --size 3x3``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from minizero.precision.formats import NumberFormat, parse_format, quantize
from minizero.replay import Samples
from minizero.train import Trainer

QUANTIZED_MODULES = (nn.Conv2d, nn.Linear, nn.Embedding, nn.EmbeddingBag)


@dataclass(frozen=True)
class Saturation:
    """How many values of one tensor were clamped into the format's range."""

    name: str
    saturated: int
    count: int
    largest: float  # the largest |value| before rounding


def quantized_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """Name -> parameter for the weights and biases that formats apply to (see the docstring)."""
    found = {}
    for module_name, module in model.named_modules():
        if isinstance(module, QUANTIZED_MODULES):
            for name, parameter in module.named_parameters(recurse=False):
                found[f"{module_name}.{name}" if module_name else name] = parameter
    return found


def channel_axis(module_name: str, model: nn.Module) -> int:
    """Output channels are rows of Conv/Linear weights and columns of embedding tables."""
    module = model.get_submodule(module_name.rsplit(".", 1)[0]) if "." in module_name else model
    return 1 if isinstance(module, (nn.Embedding, nn.EmbeddingBag)) else 0


def _as_format(fmt: NumberFormat | str) -> NumberFormat:
    return parse_format(fmt) if isinstance(fmt, str) else fmt


def round_parameters_(model: nn.Module, formats: NumberFormat | str | dict[str, NumberFormat],
                      rounding: str = "nearest", rng: np.random.Generator | None = None,
                      allow_saturation: bool = True) -> list[Saturation]:
    """Round the quantized parameters of ``model`` in place (``formats``: one for all, or one
    per parameter name; names missing from the dict stay float32). Returns the saturation per
    tensor; with ``allow_saturation=False`` a clamped weight raises ValueError instead."""
    report = []
    with torch.no_grad():
        for name, parameter in quantized_parameters(model).items():
            fmt = formats.get(name) if isinstance(formats, dict) else _as_format(formats)
            if fmt is None:
                continue
            values = parameter.detach().cpu().numpy()
            result = quantize(values, fmt, rounding, rng, channel_axis(name, model))
            largest = float(np.abs(values).max(initial=0.0))
            if result.saturated and not allow_saturation:
                raise ValueError(f"{fmt.name} cannot hold {name}: {result.saturated} of "
                                 f"{values.size} values saturate (largest |w| {largest:.4g} > "
                                 f"{fmt.largest():g})")
            parameter.copy_(torch.from_numpy(result.values).to(parameter.dtype))
            report.append(Saturation(name, result.saturated, values.size, largest))
    return report


@contextmanager
def rounded_weights(model: nn.Module, formats: NumberFormat | str | dict[str, NumberFormat],
                    rounding: str = "nearest", rng: np.random.Generator | None = None
                    ) -> Iterator[list[Saturation]]:
    """Inside the block the model holds rounded weights; afterwards its float masters again.

    A backward pass inside the block computes gradients at the rounded point, which the
    optimizer then applies to the masters: the straight-through estimator.
    """
    parameters = quantized_parameters(model)
    masters = {name: parameter.detach().clone() for name, parameter in parameters.items()}
    try:
        yield round_parameters_(model, formats, rounding, rng)
    finally:
        with torch.no_grad():
            for name, parameter in parameters.items():
                parameter.copy_(masters[name])


def straight_through(tensor: torch.Tensor, fmt: NumberFormat, rounding: str,
                     rng: np.random.Generator | None) -> torch.Tensor:
    """``tensor`` rounded into ``fmt`` in the forward pass, the identity in the backward pass."""
    values = tensor.detach().cpu().numpy()
    axis = 1 if tensor.dim() > 1 else 0  # activations (B, C, ...): one scale per channel
    rounded = torch.from_numpy(quantize(values, fmt, rounding, rng, axis).values).to(tensor)
    return tensor + (rounded - tensor).detach()


@contextmanager
def rounded_activations(model: nn.Module, fmt: NumberFormat | str | None,
                        rounding: str = "nearest", rng: np.random.Generator | None = None
                        ) -> Iterator[None]:
    """Inside the block every Conv/Linear output (the accumulated sum) is rounded into ``fmt``
    (scaled formats fit their scale per batch); ``fmt=None`` leaves activations float32."""
    if fmt is None:
        yield
        return
    fmt = _as_format(fmt)
    handles = [module.register_forward_hook(
        lambda _module, _inputs, output: straight_through(output, fmt, rounding, rng))
        for module in model.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def parameter_count(model: nn.Module) -> dict[str, int]:
    """Values per quantized parameter tensor (for memory budgets)."""
    return {name: parameter.numel() for name, parameter in quantized_parameters(model).items()}


TRAINING_MODES = ("straight-through", "storage")


def train_steps(trainer: Trainer, samples: Samples, steps: int, fmt: NumberFormat | str | None,
                rounding: str = "nearest", rng: np.random.Generator | None = None,
                mode: str = "straight-through") -> float:
    """``steps`` minibatch updates of ``trainer`` (minizero.train) in a number format; the mean
    loss. ``straight-through``: forward and backward with rounded weights, the update applied to
    the float masters (QAT). ``storage``: plain steps, then the weights themselves rounded into
    ``fmt`` (no master copy: fixed-point training). ``fmt=None``: plain float32 steps. Batches
    are drawn as ``Trainer.train_steps`` draws them (seed, step)."""
    if mode not in TRAINING_MODES:
        raise ValueError(f"unknown training mode {mode!r}: choose {', '.join(TRAINING_MODES)}")
    network = trainer.network
    network.train()
    planes, policy, value = (torch.from_numpy(array) for array in
                             (samples.planes, samples.policy, samples.value))
    total = 0.0
    for _ in range(steps):
        batch_rng = np.random.default_rng([trainer.seed, trainer.step])
        batch = torch.from_numpy(batch_rng.integers(0, len(samples), trainer.config.batch_size))
        for group in trainer.optimizer.param_groups:
            group["lr"] = trainer.learning_rate(trainer.step)
        straight = fmt is not None and mode == "straight-through"
        with rounded_weights(network, fmt, rounding, rng) if straight else nullcontext():
            loss, _ = trainer.loss(planes[batch], policy[batch], value[batch])
            trainer.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        trainer.optimizer.step()
        if fmt is not None and mode == "storage":
            round_parameters_(network, fmt, rounding, rng)
        trainer.step += 1
        total += loss.item() / steps
    return total


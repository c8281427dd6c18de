"""Monte Carlo arithmetic: how many of a result's bits does the computation actually determine?

Idea (Parker 1997): replace every floating-point result x by x + 2^(e - t) U, where 2^(e-1) <=
|x| < 2^e and U is uniform in [-1/2, 1/2): each operation makes an error of the size a t-bit
float would make, at random. Run the computation many times; where the outputs agree, the bits
are determined by the inputs; where they scatter, the computation (not the data) decides them.
The number of significant bits of an output with sample mean m and standard deviation s is
-log2(s / |m|) (Parker; Sohier et al. 2021 give its confidence interval). ``t`` is the
*virtual precision*: t = 24 mimics float32, 11 float16, 8 bfloat16.

``perturb`` is the random-rounding operator; ``matmul`` perturbs every product and every partial
sum of a matrix product (sequential summation, so it is slow: a reference, not a kernel);
``perturbed_outputs`` perturbs the output of every convolution, linear and batch-norm layer of a
torch model (a coarser, layer-level instrumentation, stated wherever it is used).

Reference: D. S. Parker, "Monte Carlo arithmetic: exploiting randomness in floating-point
arithmetic" (UCLA TR 970002, 1997); Denis, de Oliveira Castro & Petit, "Verificarlo" (ARITH
2016); Sohier et al., "Confidence intervals for stochastic arithmetic" (TOMS 2021).
Command: ``nnue precision NET --study mca``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

ARITHMETIC_LAYERS = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)
MAX_BITS = 53.0  # significant bits reported when every sample agrees (float64 resolution)


def check_precision(virtual_precision: float) -> float:
    if not 1 <= virtual_precision <= MAX_BITS:
        raise ValueError(f"virtual precision t={virtual_precision} must be in 1..53 bits")
    return virtual_precision


def perturb(values: np.ndarray, virtual_precision: float, rng: np.random.Generator) -> np.ndarray:
    """x + 2^(e - t) U with 2^(e-1) <= |x| < 2^e, U uniform in [-1/2, 1/2); zero stays zero."""
    values = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(values)
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(np.where(magnitude > 0, magnitude, 1.0))) + 1
    noise = rng.random(values.shape) - 0.5
    return np.where(magnitude > 0, values + np.exp2(exponent - virtual_precision) * noise, 0.0)


def matmul(x: np.ndarray, weight: np.ndarray, virtual_precision: float,
           rng: np.random.Generator) -> np.ndarray:
    """(B, N) @ (N, M) with every product and every running sum perturbed, summed in order."""
    total = np.zeros((x.shape[0], weight.shape[1]))
    for k in range(x.shape[1]):
        product = perturb(x[:, k:k + 1] * weight[k][None, :], virtual_precision, rng)
        total = perturb(total + product, virtual_precision, rng)
    return total


def significant_bits(samples: np.ndarray) -> np.ndarray:
    """-log2(std / |mean|) over axis 0 (the samples), capped at 53; 0 where the mean is 0."""
    samples = np.asarray(samples, dtype=np.float64)
    mean = np.abs(samples.mean(axis=0))
    deviation = samples.std(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        bits = -np.log2(deviation / mean)
    bits = np.where(deviation == 0, MAX_BITS, bits)
    return np.clip(np.where(mean == 0, 0.0, bits), 0.0, MAX_BITS)


@contextmanager
def perturbed_outputs(model: nn.Module, virtual_precision: float, rng: np.random.Generator,
                      record: dict[str, list[np.ndarray]] | None = None) -> Iterator[None]:
    """Inside the block the output of every Conv2d, Linear and BatchNorm2d is perturbed at
    precision ``t``; if ``record`` is given, each perturbed output is appended under its name."""
    check_precision(virtual_precision)

    def hook(name: str):
        def apply(_module: nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
            values = perturb(output.detach().cpu().numpy(), virtual_precision, rng)
            if record is not None:
                record.setdefault(name, []).append(values)
            return torch.from_numpy(values).to(output)
        return apply

    handles = [module.register_forward_hook(hook(name)) for name, module in model.named_modules()
               if isinstance(module, ARITHMETIC_LAYERS)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()

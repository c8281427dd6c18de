"""Mixed precision: a bit width per layer, chosen greedily to fit a memory budget.

Idea: layers differ in how much precision they need (the first and last layers of a network
usually need the most; Rusci et al. 2020 make the same observation for microcontrollers). Start
every layer at the widest choice; while the weights exceed the budget, try lowering each layer
by one step, and keep the move that costs the least score per bit saved. Each step is measured,
so the result is a path from "all wide" to "fits": the scores along it show what each saving
cost. Greedy is not optimal, but with L layers it needs about L x steps evaluations instead of
choices^L.

Memory counts the weights at their bit width plus one float32 scale per tensor (per-tensor
integer formats). Reference: Rusci, Capotondi & Benini, "Memory-driven mixed low precision
quantization for enabling deep network inference on microcontrollers" (MLSys 2020).
Command: ``hexapawn precision --size 3x3`` (the mixed-precision table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

SCALE_BITS = 32  # one float32 scale per tensor


@dataclass(frozen=True)
class MixedStep:
    """One point of the greedy path: the widths, their memory and the measured score."""

    bits: dict[str, int]
    memory_bits: int
    score: float


def memory_bits(sizes: dict[str, int], bits: dict[str, int]) -> int:
    """Storage of every tensor at its width, plus a float32 scale each."""
    return sum(sizes[name] * bits[name] + SCALE_BITS for name in sizes)


def search_bit_widths(sizes: dict[str, int], score: Callable[[dict[str, int]], float],
                      budget_bits: int, choices: Iterable[int] = (8, 6, 4, 3, 2),
                      progress: Callable[[], None] | None = None) -> list[MixedStep]:
    """Greedy descent from the widest choice until ``memory_bits <= budget_bits``.

    ``sizes``: values per tensor; ``score(bits) -> float`` (higher is better, e.g. accuracy).
    Returns the path; its last step fits the budget. ValueError if even the narrowest
    choice everywhere does not fit.
    """
    widths = sorted(set(choices), reverse=True)
    if not widths or widths[-1] < 1:
        raise ValueError(f"bit-width choices must be positive integers, got {list(choices)}")
    if not sizes:
        raise ValueError("no tensors to assign bit widths to")
    narrowest = memory_bits(sizes, dict.fromkeys(sizes, widths[-1]))
    if narrowest > budget_bits:
        raise ValueError(f"budget {budget_bits} bits is below the narrowest assignment "
                         f"({narrowest} bits at {widths[-1]} bits everywhere)")
    bits = dict.fromkeys(sizes, widths[0])
    path = [MixedStep(dict(bits), memory_bits(sizes, bits), score(dict(bits)))]
    while path[-1].memory_bits > budget_bits:
        best: tuple[float, int, MixedStep] | None = None
        for name in sizes:
            position = widths.index(bits[name])
            if position + 1 == len(widths):
                continue
            trial = {**bits, name: widths[position + 1]}
            trial_score = score(dict(trial))
            if progress:
                progress()
            saved = sizes[name] * (bits[name] - trial[name])
            cost = (path[-1].score - trial_score) / saved
            candidate = (cost, -saved, MixedStep(trial, memory_bits(sizes, trial), trial_score))
            if best is None or candidate[:2] < best[:2]:
                best = candidate
        assert best is not None  # the narrowest assignment fits, so a move is left
        bits = dict(best[2].bits)
        path.append(best[2])
    return path

"""Number formats: what a value becomes when it is stored in fewer bits, and how it is rounded.

Idea: every format here is a set of representable values plus a rounding rule that maps a real
number onto that set. Round to nearest (ties to even) is what hardware does by default;
stochastic rounding picks one of the two neighbours with probability proportional to nearness,
so the rounded value is unbiased in expectation (E[round(x)] = x): small updates survive on
average instead of vanishing (Gupta et al. 2015). Values beyond the largest representable
magnitude are clamped to it and *counted* (``Quantized.saturated``); nothing ever wraps.

The formats (``parse_format`` reads their names):

* ``float32``, ``bfloat16``, ``float16``: sign, e exponent bits, m fraction bits. Relative step
  2^-m within a binade; largest magnitude (2 - 2^-m) 2^(2^(e-1) - 1); subnormals below the
  smallest normal 2^(2 - 2^(e-1)). float32 e=8 m=23, bfloat16 e=8 m=7, float16 e=5 m=10.
* ``fixedI.F``: two's complement with a sign bit, I integer and F fraction bits (1 + I + F bits
  in all): values k 2^-F for k in [-2^(I+F), 2^(I+F) - 1], so range [-2^I, 2^I - 2^-F], step 2^-F.
* ``intB`` / ``intB-channel``: symmetric integers q in [-(2^(B-1) - 1), 2^(B-1) - 1] times one
  scale per tensor (or per output channel; a vector such as a bias keeps one scale) chosen as
  max|x| / (2^(B-1) - 1), so the largest weight is representable and step = scale.
* ``ternary``: {-a, 0, a}. Nearest is the ternary-weight-network rule (Li & Liu 2016): zero
  where |x| <= 0.7 mean |x|, else sign(x) a, with a = mean |x| over those kept; stochastic
  rounds x / a (clipped to [-1, 1]) up or down on the grid {-1, 0, 1}, unbiased within range.
* ``binary``: {-a, a}, a = mean |x| (XNOR-Net's scale, Rastegari et al. 2016); nearest is the
  sign (0 -> +a), stochastic picks +a with probability clip((x / a + 1) / 2, 0, 1) (Hubara et al.
  2016, "hard sigmoid").

Reference: IEEE 754-2008; Gupta et al., "Deep learning with limited numerical precision" (2015);
Hubara et al., "Binarized neural networks" (2016). Command: ``hexapawn precision --size 3x3``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

ROUNDINGS = ("nearest", "stochastic")
CONTAINER_BITS = 32  # every format here fits a 32-bit word: wider ones make no sense to emulate
FORMAT_NAMES = "float32, bfloat16, float16, fixedI.F, intB, intB-channel, ternary, binary"
FLOAT_FORMATS = {"float32": (8, 23), "bfloat16": (8, 7), "float16": (5, 10)}  # (e, m) bits
TERNARY_THRESHOLD = 0.7  # ternary zeroes |x| <= 0.7 mean |x| (Li & Liu 2016, eq. 9)


@dataclass(frozen=True)
class NumberFormat:
    """A number format. ``kind`` is float, fixed, integer, ternary or binary."""

    name: str
    kind: str
    bits: int  # storage bits per value (ternary counts 2)
    exponent_bits: int = 0  # float
    fraction_bits: int = 0  # float: stored mantissa bits; fixed: bits after the binary point
    integer_bits: int = 0  # fixed: bits before the binary point (the sign bit not counted)
    per_channel: bool = False  # integer, ternary, binary: one scale per output channel

    @property
    def scaled(self) -> bool:
        """True when the format carries a scale fitted to the data (integer, ternary, binary)."""
        return self.kind in ("integer", "ternary", "binary")

    def largest(self) -> float:
        """The largest representable magnitude (in units of the scale for scaled formats)."""
        if self.kind == "float":
            return (2.0 - 2.0 ** -self.fraction_bits) * 2.0 ** (2 ** (self.exponent_bits - 1) - 1)
        if self.kind == "fixed":
            return 2.0 ** self.integer_bits - 2.0 ** -self.fraction_bits
        return float(2 ** (self.bits - 1) - 1) if self.kind == "integer" else 1.0

    def describe(self) -> str:
        """Range and step in one line."""
        if self.kind == "float":
            return (f"{self.name}: |x| <= {self.largest():.4g}, relative step 2^-"
                    f"{self.fraction_bits}, smallest normal {self.smallest_normal():.3g}")
        if self.kind == "fixed":
            return (f"{self.name}: [-{2.0 ** self.integer_bits:g}, {self.largest():g}], "
                    f"step 2^-{self.fraction_bits} = {2.0 ** -self.fraction_bits:g}")
        where = "per output channel" if self.per_channel else "per tensor"
        if self.kind == "integer":
            top = 2 ** (self.bits - 1) - 1
            return f"{self.name}: q in [-{top}, {top}] x scale (max|x| / {top}, {where})"
        if self.kind == "ternary":
            return f"{self.name}: {{-a, 0, a}}, a fitted {where}"
        return f"{self.name}: {{-a, a}}, a = mean|x| {where}"

    def smallest_normal(self) -> float:
        return 2.0 ** (2 - 2 ** (self.exponent_bits - 1))


@dataclass(frozen=True)
class Quantized:
    """Rounded values (float64, same shape), how many were clamped, and the scale used."""

    values: np.ndarray
    saturated: int
    scale: np.ndarray | float


def _checked_bits(name: str, bits: int, low: int) -> int:
    if not low <= bits <= CONTAINER_BITS:
        raise ValueError(f"{name}: bit width {bits} must be in {low}..{CONTAINER_BITS}")
    return bits


def parse_format(name: str) -> NumberFormat:
    """The format called ``name`` (see the module docstring); ValueError for anything else.

    >>> parse_format("fixed3.12").describe()
    'fixed3.12: [-8, 7.99976], step 2^-12 = 0.000244141'
    """
    if not isinstance(name, str):
        raise ValueError(f"a number format is named by a string, got {name!r}")
    text = name.strip().lower()
    if text in FLOAT_FORMATS:
        exponent, fraction = FLOAT_FORMATS[text]
        return NumberFormat(text, "float", 1 + exponent + fraction, exponent, fraction)
    base, suffix, rest = text.partition("-channel")
    per_channel = bool(suffix)
    if rest:
        raise ValueError(f"unknown number format {name!r}: choose {FORMAT_NAMES}")
    if base in ("ternary", "binary"):
        return NumberFormat(text, base, 2 if base == "ternary" else 1, per_channel=per_channel)
    match = re.fullmatch(r"int(-?\d+)", base)
    if match:
        bits = _checked_bits(text, int(match.group(1)), 2)
        return NumberFormat(text, "integer", bits, per_channel=per_channel)
    match = re.fullmatch(r"fixed(-?\d+)\.(-?\d+)", text)
    if match:
        integer_bits, fraction_bits = int(match.group(1)), int(match.group(2))
        if integer_bits < 0 or fraction_bits < 0:
            raise ValueError(f"{text}: integer and fraction bits cannot be negative")
        bits = _checked_bits(text, 1 + integer_bits + fraction_bits, 2)
        return NumberFormat(text, "fixed", bits, fraction_bits=fraction_bits,
                            integer_bits=integer_bits)
    raise ValueError(f"unknown number format {name!r}: choose {FORMAT_NAMES}")


def check_rounding(rounding: str) -> str:
    if rounding not in ROUNDINGS:
        raise ValueError(f"unknown rounding {rounding!r}: choose one of {', '.join(ROUNDINGS)}")
    return rounding


def round_units(units: np.ndarray, rounding: str, rng: np.random.Generator | None) -> np.ndarray:
    """Round values expressed in units of the step to integers.

    nearest: ties go to the even neighbour (np.rint, IEEE's default). stochastic:
    floor(u + U), U uniform in [0, 1): up with probability equal to the fractional part.
    """
    if check_rounding(rounding) == "nearest":
        return np.rint(units)
    if rng is None:
        raise ValueError("stochastic rounding needs a random generator (pass rng=...)")
    return np.floor(units + rng.random(units.shape))


def _channel_reduce(magnitude: np.ndarray, per_channel: bool, channel_axis: int,
                    reduce: str) -> np.ndarray | float:
    """max or mean of |x| per tensor, or per channel along ``channel_axis`` (kept for broadcast)."""
    function = np.max if reduce == "max" else np.mean
    if not per_channel or magnitude.ndim <= 1:  # a vector (a bias) gets one scale
        return float(function(magnitude)) if magnitude.size else 0.0
    axes = tuple(axis for axis in range(magnitude.ndim) if axis != channel_axis % magnitude.ndim)
    return function(magnitude, axis=axes, keepdims=True)


def _ternary_scale(magnitude: np.ndarray, per_channel: bool, channel_axis: int
                   ) -> np.ndarray | float:
    threshold = TERNARY_THRESHOLD * np.asarray(
        _channel_reduce(magnitude, per_channel, channel_axis, "mean"))
    large = magnitude > threshold
    total = np.where(large, magnitude, 0.0)
    if per_channel and magnitude.ndim > 1:
        axes = tuple(a for a in range(magnitude.ndim) if a != channel_axis % magnitude.ndim)
        return total.sum(axis=axes, keepdims=True) / np.maximum(
            large.sum(axis=axes, keepdims=True), 1)
    return float(total.sum() / max(int(large.sum()), 1))


def quantize(values: np.ndarray, fmt: NumberFormat | str, rounding: str = "nearest",
             rng: np.random.Generator | None = None, channel_axis: int = 0,
             scale: float | np.ndarray | None = None) -> Quantized:
    """``values`` rounded into ``fmt``. Scaled formats fit their scale to the data unless
    ``scale`` is given (one scale per channel along ``channel_axis`` for -channel formats).

    >>> quantize(np.array([0.3, 2.6, -9.0]), "fixed2.1").values.tolist()  # step 0.5, -4 to 3.5
    [0.5, 2.5, -4.0]
    """
    fmt = parse_format(fmt) if isinstance(fmt, str) else fmt
    x = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{fmt.name}: the values contain NaN or infinity")
    if fmt.kind == "float":
        return _quantize_float(x, fmt, rounding, rng)
    if fmt.kind == "fixed":
        step = 2.0 ** -fmt.fraction_bits
        units = round_units(x / step, rounding, rng)
        low, high = -(2 ** (fmt.integer_bits + fmt.fraction_bits)), 2 ** (
            fmt.integer_bits + fmt.fraction_bits) - 1
        saturated = int(np.count_nonzero((units < low) | (units > high)))
        return Quantized(np.clip(units, low, high) * step, saturated, step)
    magnitude = np.abs(x)
    if scale is None:
        if fmt.kind == "integer":
            scale = np.asarray(_channel_reduce(magnitude, fmt.per_channel, channel_axis, "max"))
            scale = scale / fmt.largest()
        elif fmt.kind == "ternary":
            scale = np.asarray(_ternary_scale(magnitude, fmt.per_channel, channel_axis))
        else:
            scale = np.asarray(_channel_reduce(magnitude, fmt.per_channel, channel_axis, "mean"))
    scale = np.where(np.asarray(scale, dtype=np.float64) > 0, scale, 1.0)  # all-zero -> 1
    units = x / scale
    top = fmt.largest()
    # The largest value divided by its own scale may land a rounding error above ``top``.
    saturated = int(np.count_nonzero(np.abs(units) > top * (1 + 1e-9)))
    units = np.clip(units, -top, top)
    if fmt.kind == "binary":
        if check_rounding(rounding) == "nearest":
            signs = np.where(units >= 0, 1.0, -1.0)
        else:
            if rng is None:
                raise ValueError("stochastic rounding needs a random generator (pass rng=...)")
            signs = np.where(rng.random(units.shape) < (units + 1.0) / 2.0, 1.0, -1.0)
        return Quantized(signs * scale, saturated, scale)
    if fmt.kind == "ternary" and check_rounding(rounding) == "nearest":
        threshold = TERNARY_THRESHOLD * np.asarray(
            _channel_reduce(magnitude, fmt.per_channel, channel_axis, "mean"))
        return Quantized(np.where(magnitude > threshold, np.sign(x), 0.0) * scale, saturated,
                         scale)
    rounded = np.clip(round_units(units, rounding, rng), -top, top)
    return Quantized(rounded * scale, saturated, scale)


def _quantize_float(x: np.ndarray, fmt: NumberFormat, rounding: str,
                    rng: np.random.Generator | None) -> Quantized:
    """Round to a float with ``fmt.exponent_bits`` and ``fmt.fraction_bits``: within the binade
    [2^e, 2^(e+1)) the step is 2^(e - m); below the smallest normal it stays that of the lowest
    binade (subnormals). Done in float64, where every such step and product is exact."""
    magnitude = np.abs(x)
    lowest_exponent = 2 - 2 ** (fmt.exponent_bits - 1)
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(np.where(magnitude > 0, magnitude, 1.0)))
    exponent = np.maximum(exponent, lowest_exponent)
    step = np.exp2(exponent - fmt.fraction_bits)
    rounded = round_units(x / step, rounding, rng) * step
    largest = fmt.largest()
    saturated = int(np.count_nonzero(np.abs(rounded) > largest))
    return Quantized(np.clip(rounded, -largest, largest), saturated, 1.0)


def storage_bits(fmt: NumberFormat, count: int, channels: int = 1) -> int:
    """Bits to store ``count`` values in ``fmt`` plus a float32 scale per tensor or channel."""
    scales = (channels if fmt.per_channel else 1) if fmt.scaled else 0
    return fmt.bits * count + 32 * scales

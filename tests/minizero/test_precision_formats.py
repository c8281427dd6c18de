"""Number formats against hand-computed cases and against IEEE casts; the other precision tools."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from minizero.precision import mca
from minizero.precision.formats import parse_format, quantize, storage_bits
from minizero.precision.mixed import memory_bits, search_bit_widths
from minizero.precision.qat import round_parameters_, rounded_weights, straight_through


def values_of(values: list[float], name: str, rounding: str = "nearest", **kwargs) -> list:
    return quantize(np.array(values), name, rounding, **kwargs).values.tolist()


def test_fixed_point_ties_go_to_even_and_range_saturates() -> None:
    # fixed2.1: step 0.5, range [-4, 3.5]. 0.25 and 0.75 are ties between grid points.
    assert values_of([0.25, 0.75, 1.25, -0.25, -0.75], "fixed2.1") == [0.0, 1.0, 1.0, -0.0, -1.0]
    result = quantize(np.array([3.5, 3.74, 3.76, 100.0, -4.0, -4.3, -100.0]), "fixed2.1")
    assert result.values.tolist() == [3.5, 3.5, 3.5, 3.5, -4.0, -4.0, -4.0]
    assert result.saturated == 4  # 3.76 -> 4.0 > 3.5; -4.3 -> -4.5 < -4; 100; -100


def test_fixed_point_describes_its_range_and_step() -> None:
    fmt = parse_format("fixed3.12")
    assert fmt.bits == 16 and fmt.largest() == 8 - 2 ** -12
    assert "step 2^-12" in fmt.describe()


def test_float16_and_bfloat16_equal_the_hardware_casts() -> None:
    rng = np.random.default_rng(0)
    # float32 inputs spanning normals, subnormals and (for float16) overflow
    x = (rng.normal(size=20000) * np.exp2(rng.uniform(-30, 30, 20000))).astype(np.float32)
    x = x.astype(np.float64)
    in_range = np.abs(x) < 65504
    half = quantize(x[in_range], "float16").values
    assert np.array_equal(half, x[in_range].astype(np.float16).astype(np.float64))
    brain = quantize(x, "bfloat16").values
    assert np.array_equal(brain, torch.from_numpy(x).to(torch.bfloat16).double().numpy())
    assert np.array_equal(quantize(x, "float32").values, x)  # float32 values are unchanged


def test_float16_overflow_saturates_and_is_counted() -> None:
    result = quantize(np.array([65504.0, 65519.0, 65520.0, 1e6, -1e9]), "float16")
    # 65519 rounds down to 65504; 65520 is the tie that IEEE sends to infinity: here clamped
    assert result.values.tolist() == [65504.0, 65504.0, 65504.0, 65504.0, -65504.0]
    assert result.saturated == 3


def test_float_ties_to_even_at_one() -> None:
    # bfloat16 has 7 fraction bits: between 1 and 1 + 2^-7 the tie 1 + 2^-8 goes to 1 (even)
    tie, above = 1 + 2 ** -8, 1 + 3 * 2 ** -8
    assert values_of([tie, above], "bfloat16") == [1.0, 1 + 2 * 2 ** -7]


def test_integer_per_tensor_and_per_channel() -> None:
    weights = np.array([[0.1, -0.5, 1.0], [2.0, 0.0, -3.0]])
    # int4: q in [-7, 7], scale 3 / 7
    assert np.allclose(quantize(weights, "int4").values, np.array([[0, -1, 2], [5, 0, -7]]) * 3 / 7)
    per_row = quantize(weights, "int4-channel").values  # scales 1/7 and 3/7
    assert np.allclose(per_row, [[1 / 7, -4 / 7, 1.0], [2 + 1 / 7, 0.0, -3.0]])
    assert quantize(weights, "int8").saturated == 0  # the largest value maps to 127 exactly


def test_integer_with_a_fixed_scale_saturates_instead_of_wrapping() -> None:
    result = quantize(np.array([1.0, 127.0, 128.0, 300.0, -300.0]), "int8", scale=1.0)
    assert result.values.tolist() == [1.0, 127.0, 127.0, 127.0, -127.0]
    assert result.saturated == 3


def test_ternary_and_binary() -> None:
    weights = np.array([0.1, -0.5, 1.0, 2.0, 0.0, -3.0])  # mean |w| 1.1, threshold 0.77
    ternary = quantize(weights, "ternary")  # a = mean of 1, 2, 3 = 2
    assert ternary.values.tolist() == [0.0, 0.0, 2.0, 2.0, 0.0, -2.0]
    binary = quantize(weights, "binary")  # a = mean |w| = 1.1, sign with 0 -> +
    assert np.allclose(binary.values, [1.1, -1.1, 1.1, 1.1, 1.1, -1.1])
    assert storage_bits(parse_format("binary"), 6) == 6 + 32


@pytest.mark.parametrize("name", ["fixed2.3", "bfloat16", "float16", "int4", "ternary",
                                  "binary"])
def test_stochastic_rounding_is_unbiased(name: str) -> None:
    # values inside the range, so no clamping: E[round(x)] = x within the Monte Carlo error
    x = np.array([0.3, -0.71, 0.05, 0.49, -0.2, 0.9])
    rng = np.random.default_rng(1)
    scale = 1.0 if parse_format(name).scaled else None
    draws = np.stack([quantize(x, name, "stochastic", rng, scale=scale).values
                      for _ in range(4000)])
    step = np.abs(np.diff(np.unique(draws))).max(initial=1.0)
    assert np.all(np.abs(draws.mean(axis=0) - x) < 4 * step / np.sqrt(4000))
    nearest = quantize(x, name, scale=scale).values
    assert np.abs(nearest - x).max() <= step  # and nearest is within one step


def test_stochastic_rounding_is_reproducible_with_a_seed() -> None:
    x = np.linspace(-1, 1, 101)
    first = quantize(x, "fixed1.3", "stochastic", np.random.default_rng(7)).values
    again = quantize(x, "fixed1.3", "stochastic", np.random.default_rng(7)).values
    assert np.array_equal(first, again)


@pytest.mark.parametrize("name, message", [
    ("int0", "bit width 0"), ("int-3", "bit width -3"), ("int33", "bit width 33"),
    ("fixed30.5", "bit width 36"), ("fixed-1.4", "cannot be negative"),
    ("float8", "unknown number format"), ("int8-channelx", "unknown number format"),
])
def test_bad_formats_are_one_line_errors(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        parse_format(name)
    assert "\n" not in str(error.value)


def test_bad_rounding_and_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown rounding"):
        quantize(np.ones(3), "int8", "down")
    with pytest.raises(ValueError, match="random generator"):
        quantize(np.ones(3), "int8", "stochastic")
    with pytest.raises(ValueError, match="NaN"):
        quantize(np.array([1.0, np.nan]), "float16")


def test_a_split_that_cannot_hold_the_weights_is_refused() -> None:
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.5, 3.0]]))
    with pytest.raises(ValueError, match="fixed0.7 cannot hold weight: 1 of 2 values saturate"):
        round_parameters_(model, "fixed0.7", allow_saturation=False)
    report = round_parameters_(model, "fixed0.7")  # allowed: clamped and reported
    assert report[0].saturated == 1 and model.weight[0, 1].item() == 1 - 2 ** -7


def test_rounded_weights_restore_the_float_masters() -> None:
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    before = model.weight.detach().clone()
    with rounded_weights(model, "binary"):
        assert len(torch.unique(model.weight.abs())) == 1
    assert torch.equal(model.weight, before)


def test_mixed_precision_search_fits_the_budget_and_keeps_the_sensitive_layer() -> None:
    sizes = {"big": 1000, "sensitive": 100}
    # score drops fast when "sensitive" narrows, slowly for "big"
    def score(bits: dict[str, int]) -> float:
        return -(8 - bits["big"]) * 0.001 - (8 - bits["sensitive"]) * 1.0

    budget = memory_bits(sizes, {"big": 3, "sensitive": 8})
    path = search_bit_widths(sizes, score, budget)
    assert path[-1].memory_bits <= budget and path[-1].bits == {"big": 3, "sensitive": 8}
    with pytest.raises(ValueError, match="below the narrowest"):
        search_bit_widths(sizes, score, 10)


def test_monte_carlo_arithmetic_significant_bits_follow_the_virtual_precision() -> None:
    rng = np.random.default_rng(0)
    x = np.full(2000, 3.0)
    samples = np.stack([mca.perturb(x, 20, rng) for _ in range(200)])
    bits = mca.significant_bits(samples)
    # one perturbation of relative size 2^-20 x 4/3 x U(-1/2, 1/2): about 20.7 bits
    assert 19.5 < np.median(bits) < 21.5
    weight = rng.normal(size=(64, 8))
    inputs = rng.normal(size=(4, 64))
    exact = inputs @ weight
    assert np.allclose(mca.matmul(inputs, weight, 52, rng), exact, atol=1e-12)
    with pytest.raises(ValueError, match="virtual precision"):
        mca.check_precision(0)


def test_perturbation_is_half_an_ulp_at_the_virtual_precision() -> None:
    # 3 lies in [2^1, 2^2): e = 2, noise 2^(2 - 10) x U[-1/2, 1/2), |noise| < 2^-9.
    rng = np.random.default_rng(1)
    noise = mca.perturb(np.full(20_000, 3.0), 10, rng) - 3.0
    assert np.abs(noise).max() <= 2.0**-9
    assert np.abs(noise).max() > 0.99 * 2.0**-9
    assert mca.perturb(np.zeros(3), 10, rng).tolist() == [0.0, 0.0, 0.0]


def test_the_greedy_bit_search_narrows_what_costs_least_per_bit_saved() -> None:
    # Narrowing "big" 8 -> 4 saves 400 bits for 0.04 of score (1e-4 a bit); "small" saves 40
    # bits for 0.01 (2.5e-4 a bit): "big" goes first although its drop is larger.
    sizes = {"big": 100, "small": 10}

    def score(bits: dict[str, int]) -> float:
        return 1.0 - 0.04 * (bits["big"] == 4) - 0.01 * (bits["small"] == 4)

    path = search_bit_widths(sizes, score, memory_bits(sizes, {"big": 4, "small": 8}),
                             choices=(8, 4))
    assert [step.bits for step in path] == [{"big": 8, "small": 8}, {"big": 4, "small": 8}]


def test_straight_through_rounds_forward_and_passes_the_gradient_back() -> None:
    x = torch.tensor([[0.3, -1.26, 2.6]], requires_grad=True)
    y = straight_through(x, parse_format("fixed2.1"), "nearest", None)
    assert y.tolist() == [[0.5, -1.5, 2.5]]
    (y * torch.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 2.0, 3.0]]  # as if rounding were the identity

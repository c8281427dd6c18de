# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 8: what every bit costs
#
# A network is trained in float32, but nothing forces it to run there. This chapter stores our
# two kinds of networks in fewer bits and measures the damage against exact oracles: the
# Hexapawn solver grades every move of a policy network, and the float NNUE is the reference of
# its integer twin. We meet number formats and their rounding, quantization-aware training,
# 16-bit fixed-point training with stochastic rounding, approximate multipliers, Monte Carlo
# arithmetic, and a search for the positions where the int8 NNUE strays furthest.
#
# Run as a script (`python tutorials/08_precision.py`); `MINIZERO_TUTORIAL_SMALL=1` is the quick
# version the test suite runs. Figures go to `runs/tutorials/` (or `$MINIZERO_TUTORIAL_OUT`).
# The same studies, larger, are `hexapawn precision`, `nnue precision` and
# `make bench BENCH=precision`.

# %%
from pathlib import Path

import chess
import numpy as np
import torch

from hexapawn import precision as hexapawn_precision
from hexapawn.precision_report import tables as hexapawn_tables
from minizero.precision.formats import parse_format, quantize
from minizero.tutorial import output_dir, show_board, show_file, show_table, small_mode
from nnue import precision_study
from nnue.model import dequantize
from nnue.precision import encode, format_scores, integer_scores, random_positions
from nnue.quantize import load_net
from nnue.reference import IntegerNet

SMALL = small_mode()
OUT = output_dir()
SUFFIX = "-small" if SMALL else ""
torch.set_num_threads(1)

# %% [markdown]
# ## 1. A number format is a grid plus a rounding rule
#
# Each format has a largest magnitude and a step. Floating point keeps the *relative* step
# fixed (2^-m within each power of two); fixed point keeps the *absolute* step fixed; the
# integer formats fit one scale to the data, per tensor or per output channel. Values beyond the
# range are clamped and counted, never wrapped.

# %%
for name in ("float32", "bfloat16", "float16", "fixed3.12", "fixed3.4", "int8", "int4-channel",
             "ternary", "binary"):
    print(parse_format(name).describe())
x = np.array([0.1, 0.25, 0.75, 1.3, -2.6, 9.0])
for name in ("bfloat16", "fixed2.2", "int4", "ternary", "binary"):
    result = quantize(x, name)
    print(f"{name:9s} {np.round(result.values, 4).tolist()}  saturated {result.saturated}")

# %% [markdown]
# Round to nearest sends 0.1 to 0 on a grid of step 0.25, every time: a small value, or a small
# weight update, vanishes. Stochastic rounding goes up with probability equal to the fraction
# covered (here 0.4), so the *average* is exact.

# %%
rng = np.random.default_rng(0)
draws = np.array([quantize(np.array([0.1]), "fixed2.2", "stochastic", rng).values[0]
                  for _ in range(20_000)])
print(f"nearest: {quantize(np.array([0.1]), 'fixed2.2').values[0]}, stochastic mean over "
      f"{len(draws):,} draws: {draws.mean():.4f}")
assert quantize(np.array([0.1]), "fixed2.2").values[0] == 0.0
assert abs(draws.mean() - 0.1) < 0.01

# %% [markdown]
# ## 2. Hexapawn: how few bits keep perfect play?
#
# A network is trained from the solver until its raw policy picks an optimal move in every
# position of 3x3 Hexapawn, then rounded into each format (post-training), fine-tuned with
# rounded weights and straight-through gradients (quantization-aware), trained from scratch
# with its weights *stored* in 16-bit fixed point, given a bit width per tensor under a memory
# budget, and run with Monte Carlo arithmetic.

# %%
small_settings = hexapawn_precision.HexapawnPrecisionConfig(
    train_steps=1500, qat_steps=60, draws=3, fixed_steps=300, fixed_every=50, mca_samples=4,
    formats=("float32", "bfloat16", "fixed3.4", "int8-channel", "int4-channel", "int3-channel",
             "int2-channel", "ternary-channel", "binary-channel"),
    qat_formats=("int3-channel", "ternary-channel", "binary-channel"), mixed_budget=0.5,
    mca_precisions=(24, 8, 4, 2))
settings = small_settings if SMALL else hexapawn_precision.HexapawnPrecisionConfig()
results = hexapawn_precision.run((3, 3), OUT / f"08_hexapawn_3x3{SUFFIX}", settings,
                                 resume=True, quiet=True)
show_table(hexapawn_tables(results, "3x3"))


# %%
def accuracy(study: str, name: str, rounding: str = "nearest") -> float:
    return next(row["accuracy"] for row in results[study]["rows"] if row["format"] == name
                and row["rounding"] == rounding and row.get("scope", "weights") == "weights")


assert results["float_accuracy"] == 1.0  # the float network plays perfectly
assert accuracy("ptq", "float32") == 1.0  # float32 through the harness is the network itself
assert accuracy("ptq", "int8-channel") == 1.0  # 8 bits per weight are plenty
assert accuracy("ptq", "binary-channel") < 1.0  # 1 bit after training is not
assert accuracy("qat", "binary-channel") >= accuracy("ptq", "binary-channel")  # QAT recovers
print("fewest bits per weight keeping 100%:", results["fewest_bits"])

# %% [markdown]
# The figures: accuracy against bits per weight, and the fixed-point training curves (left:
# accuracy, right: loss). With round-to-nearest an update below half a step is lost every time;
# stochastic rounding keeps it on average, so its curve follows float32 more closely.
# (They are written to `runs/tutorials/08_hexapawn_3x3/`; a notebook shows them here.)

# %%
for figure_name in ("accuracy_vs_bits.png", "fixed_training.png"):
    show_file(OUT / f"08_hexapawn_3x3{SUFFIX}" / figure_name)
curves = results["fixed_training"]["curves"]
for label, curve in curves.items():
    print(f"{label:10s} final loss {curve[-1]['loss']:.3f}, accuracy {curve[-1]['accuracy']:.1%}")

# %% [markdown]
# ## 3. NNUE: formats and approximate multipliers against the float net
#
# The shipped net, its float twin (the same weights as floats), and the integer path written
# with an explicit multiplier: exact, it *is* the package's `.nnue` evaluator bit for bit;
# `truncatedK` drops the K low bits of each product, `mitchell` multiplies by adding logarithms.

# %%
net_path = Path(hexapawn_precision.__file__).resolve().parent.parent / "nnue" / "nets" / (
    "piece-square-256.nnue")
net = load_net(net_path)
model, integer_net = dequantize(net), IntegerNet(net)
boards = random_positions(100 if SMALL else 500, np.random.default_rng(0))
pieces, side_to_move = encode(boards)
reference = model.evaluate_cp(pieces, side_to_move)
float32, _ = format_scores(model, pieces, side_to_move, "float32")
int8 = integer_scores(integer_net, pieces, side_to_move)
assert np.array_equal(float32, reference)  # the harness in float32 is the network
assert np.array_equal(int8, integer_net.evaluate_batch(pieces, side_to_move))  # and in int8
print(f"int8 .nnue path vs float: mean |error| {np.abs(int8 - reference).mean():.2f} cp")

# %%
nnue_settings = precision_study.NnuePrecisionConfig(
    positions=200 if SMALL else 2000, move_positions=30 if SMALL else 200,
    budget=200 if SMALL else 2000, mca_positions=8 if SMALL else 64,
    mca_samples=4 if SMALL else 16, mca_precisions=(24, 16, 12, 10, 8) if SMALL else (
        24, 20, 16, 14, 13, 12, 11, 10, 8))
nnue_results = precision_study.run(net_path, OUT / f"08_nnue{SUFFIX}", nnue_settings,
                                   resume=True, quiet=True)
show_table(precision_study.tables(nnue_results))

# %%
multipliers = {row["multiplier"]: row for row in nnue_results["multipliers"]["rows"]}
assert multipliers["exact"]["mean_abs"] < 3  # the shipped net's quantization costs ~1.5 cp
assert multipliers["mitchell"]["mean_abs"] > multipliers["exact"]["mean_abs"]
formats = {(row["format"], row["rounding"]): row for row in nnue_results["formats"]["rows"]}
assert formats[("float32", "nearest")]["max_abs"] == 0.0
assert formats[("float16", "nearest")]["mean_abs"] < formats[("int4", "nearest")]["mean_abs"]

# %% [markdown]
# ## 4. Monte Carlo arithmetic: how many bits does the net actually use?
#
# Every add and multiply of the float forward pass gets a random error of relative size
# 2^-t; many runs later, the scatter of the outputs says how many bits of each result the
# computation determines. As t drops, the significant bits drop with it, and the spread of the
# output in centipawns grows; the t at which the spread matches the int8 path's error says how
# many bits the integer net effectively keeps.

# %%
mca = nnue_results["mca"]
bits = [row["output_bits_median"] for row in mca["rows"]]
assert bits == sorted(bits, reverse=True)  # fewer virtual bits, fewer significant bits
print("fewest virtual bits with the p99 output spread within 1 cp:",
      mca["fewest_bits_within_1cp"], "; int8 error matches t =",
      mca["virtual_precision_matching_int8"])

# %% [markdown]
# ## 5. Where does the int8 net stray furthest from the float one?
#
# Hill climbing over legal positions (mutants: a random move, a piece moved, removed or added, a
# king relocated) against random sampling, at the same number of evaluated positions. Every
# position reported is checked with relations that must hold exactly: the colour-flipped
# position scores the same, and incremental accumulators equal a full refresh.

# %%
divergence = nnue_results["divergence"]
for method, result in divergence.items():
    worst = result["worst"][0]
    print(f"{method:16s} largest gap {result['largest_gap_cp']:.1f} cp at")
    show_board(chess.Board(worst["fen"]), size=240)
    for row in result["worst"]:
        assert row["colour_flip_integer_equal"] and row["colour_flip_float_equal"]
        assert row["incremental_equals_refresh"]
climbed = divergence["hill_climbing"]["largest_gap_cp"]
sampled = divergence["random_sampling"]["largest_gap_cp"]
print("hill climbing found", "a larger" if climbed > sampled else "no larger",
      f"gap than random sampling ({climbed:.1f} vs {sampled:.1f} cp)")

# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 6: NNUE, an efficiently updatable network, from features to int8
#
# A classical engine evaluates millions of positions, each differing from the previous one by a
# single move. NNUE (Nasu, 2018; Stockfish 12 in 2020) makes a neural evaluation cheap enough for
# that: its first layer sees a sparse "piece on square" input, so after a move only a few weight
# rows are added and subtracted; the rest of the network is tiny and runs in integer arithmetic.
#
# This tutorial walks the whole pipeline of `nnue/`: features, data, training, the accumulator
# and its incremental update, quantization and what it costs. Run it with
# `python tutorials/06_nnue.py` (set `MINIZERO_TUTORIAL_SMALL=1` for the quick version the test
# suite runs). Figures go to `runs/tutorials/` (or `MINIZERO_TUTORIAL_OUT`), as `06_*.png`.

# %%
import json
import random
import tempfile
import time
from pathlib import Path

import chess
import matplotlib.pyplot as plt
import numpy as np

import nnue
from minizero.peers import find_stockfish
from minizero.tutorial import output_dir, save_figure, small_mode
from nnue.data import GenerateConfig, Positions, encode_board, generate, load_positions
from nnue.evaluator import NnueEvaluator
from nnue.features import HALF_KP, PIECE_SQUARE, active_features, move_deltas
from nnue.kernel import KernelNet
from nnue.model import NnueConfig, quantize, win_probability
from nnue.quantize import load_net
from nnue.reference import IntegerNet
from nnue.train import TrainConfig, load_checkpoint, train

SMALL = small_mode()
OUT = output_dir()
WORK = Path(tempfile.mkdtemp(prefix="nnue-tutorial-"))

# %% [markdown]
# ## 1. Features: who stands where, seen from each side
#
# `piece-square` has 768 inputs (own/their x 6 piece types x 64 squares); `halfkp` (Stockfish
# 12) has 41,024: own king square x non-king piece x square. Each *perspective* sees the board
# from its own side: Black's view mirrors the ranks, so both players' pawns start "on rank 2".

# %%
board = chess.Board()
for name, feature_set in (("piece-square", PIECE_SQUARE), ("halfkp", HALF_KP)):
    white = sorted(active_features(board, chess.WHITE, feature_set))
    black = sorted(active_features(board, chess.BLACK, feature_set))
    print(f"{name:13s} {feature_set.num_features:6d} inputs, {len(white)} active; "
          f"both perspectives see the same start position: {white == black}")

# %% [markdown]
# A move changes a handful of features. Here is what each kind of move does to each
# perspective (under halfkp, a king move changes *every* feature of its own perspective, which
# is then recomputed: a "refresh").

# %%
examples = [
    ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "g1f3", "quiet"),
    ("rnbqkbnr/ppp1pppp/8/3p4/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2", "e4d5", "capture"),
    ("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3", "e5f6", "en passant"),
    ("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", "e1g1", "castling"),
    ("3r4/4P3/8/8/8/8/k7/4K3 w - - 0 1", "e7d8q", "promotion with capture"),
]
for fen, uci, kind in examples:
    position = chess.Board(fen)
    for name, feature_set in (("piece-square", PIECE_SQUARE), ("halfkp", HALF_KP)):
        deltas = move_deltas(position, chess.Move.from_uci(uci), feature_set)
        summary = ", ".join(
            f"{'White' if side else 'Black'}: " + ("refresh" if d.refresh else
                                                   f"+{len(d.added)} -{len(d.removed)}")
            for side, d in deltas.items())
        print(f"{kind:23s} {uci:6s} {name:13s} {summary}")

# %% [markdown]
# ## 2. Data: positions an engine meets, labelled by Stockfish
#
# `nnue data` plays Stockfish games at a low depth from random openings, keeps quiet positions
# (not in check, best move not a capture or promotion) and stores the Stockfish score and the
# game's result for each. Without Stockfish installed, this tutorial falls back on a crude
# teacher (material balance) so that it still runs; the pipeline is the same.

# %%
try:
    stockfish = find_stockfish()
except FileNotFoundError as error:
    stockfish = None
    print(f"{error}\nUsing material balance as the teacher instead.")

data_dir = WORK / "data"
count = 3000 if SMALL else 30_000
if stockfish:
    start = time.perf_counter()
    generate(GenerateConfig(positions=count, depth=4 if SMALL else 6, shard_size=count // 4),
             stockfish, data_dir, quiet=True)
    positions = load_positions([data_dir])
    print(f"{len(positions)} labelled positions in {time.perf_counter() - start:.1f} s")
else:
    values = {chess.PAWN: 100, chess.KNIGHT: 300, chess.BISHOP: 300, chess.ROOK: 500,
              chess.QUEEN: 900, chess.KING: 0}
    rng = random.Random(0)
    rows = []
    while len(rows) < count:
        game = chess.Board()
        for _ in range(rng.randint(10, 80)):
            if game.is_game_over():
                break
            game.push(rng.choice(list(game.legal_moves)))
        if game.is_check() or game.is_game_over():
            continue
        material = sum(values[p.piece_type] * (1 if p.color == game.turn else -1)
                       for p in game.piece_map().values())
        rows.append((encode_board(game), int(game.turn), material, int(np.sign(material))))
    positions = Positions(np.stack([r[0] for r in rows]), np.array([r[1] for r in rows], np.uint8),
                          np.array([r[2] for r in rows], np.int16),
                          np.array([r[3] for r in rows], np.int8), np.arange(len(rows)))

plt.figure(figsize=(5, 3))
plt.hist(np.clip(positions.score, -1500, 1500), bins=60)
plt.xlabel("teacher score (cp, side to move)")
plt.ylabel("positions")
plt.tight_layout()
save_figure(plt.gcf(), "06_scores.png")

# %% [markdown]
# ## 3. Training in win-probability space
#
# The loss compares sigmoid(net / 410) with a blend of sigmoid(teacher / 410) and the game
# result (lambda = 0.9 by default). Training is *quantization-aware*: the forward pass uses the
# weights rounded to the integer grid the `.nnue` file will hold (straight-through gradients), so
# the integer net computes the float net's function. We also train the same net without it, to
# see what plain rounding after training would cost.

# %%
l1 = 32 if SMALL else 128
epochs = 5 if SMALL else 8
settings = TrainConfig(epochs=epochs, batch_size=256 if SMALL else 4096,
                       learning_rate=1e-2 if SMALL else 2e-3, validation_fraction=0.2)
runs, validation_r2 = {}, {}
for aware in (True, False):
    run = WORK / f"run-{'qat' if aware else 'plain'}"
    train([], run, NnueConfig("piece-square", l1, 32, 32, quantization_aware=aware), settings,
          quiet=True, positions=positions)
    runs[aware] = run
    epochs_seen = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    first, last = epochs_seen[0], epochs_seen[-1]
    validation_r2[aware] = last["validation_r2_wdl"]
    print(f"{'quantization-aware' if aware else 'plain float':18s} training loss "
          f"{first['train_loss']:.5f} -> {last['train_loss']:.5f}; held-out games: loss "
          f"{last['validation_loss']:.5f}, R² vs teacher {last['validation_r2_wdl']:.3f}")
    assert last["train_loss"] < first["train_loss"], "training must lower the training loss"

# %% [markdown]
# How well does such a net generalise to games it never saw? That takes data: a few thousand
# positions come from a few dozen games, far too few for a net with tens of thousands of
# weights, so the quick version's held-out R² is poor (near zero, or below: worse than
# predicting the average). The full version uses ten times more positions. The shipped net,
# `nnue/nets/piece-square-256.nnue`, was trained on 1.2 million (README, NNUE section), and we
# grade it on the positions generated above, from games it never saw:

# %%
shipped = IntegerNet(load_net(Path(nnue.__file__).parent / "nets" / "piece-square-256.nnue"))
teacher_probability = win_probability(positions.score.astype(np.float64))
shipped_probability = win_probability(shipped.evaluate_batch(positions.pieces,
                                                             positions.side_to_move))
shipped_r2 = 1 - (np.sum((teacher_probability - shipped_probability) ** 2)
                  / np.sum((teacher_probability - teacher_probability.mean()) ** 2))
print(f"shipped net vs teacher on {len(positions)} fresh positions: R² = {shipped_r2:.3f}")
if stockfish:  # the claim of the README (held-out R² 0.927, bar 0.7), on new games
    assert shipped_r2 > 0.7, f"the shipped net should predict Stockfish: R² {shipped_r2:.3f}"
    assert shipped_r2 > max(validation_r2.values()), "1.2 M positions beat a few thousand"

# %% [markdown]
# ## 4. The accumulator and its incremental update
#
# The evaluator keeps the first layer's output (int16, one vector per perspective) on a stack,
# one entry per ply, and follows the search's board: `push(board, move)` just before the search
# plays a move, `pop()` just after it takes it back, `evaluate(board)` at a node the search
# scores. Only then are the accumulators brought up to date, by adding and subtracting the
# changed weight rows, and the small dense layers run, both in a compiled integer kernel
# (`nnue/kernel.py`, numba). The incremental result must equal a recomputation from scratch
# *exactly*, and the kernel the readable numpy reference (`nnue/reference.py`): `check=True`
# compares both at every evaluated node and raises on any difference.

# %%
model, _ = load_checkpoint(runs[True] / "checkpoint.pt")
kernel_net = KernelNet(quantize(model))
net = IntegerNet(kernel_net.net)  # the numpy reference of the same integers
evaluator = NnueEvaluator(kernel_net, check=True)
rng = random.Random(1)
board = chess.Board()
evaluator.reset(board)
trace = []
for _ in range(60):
    if board.is_game_over():
        break
    move = rng.choice(list(board.legal_moves))
    evaluator.push(board, move)
    board.push(move)
    score = evaluator.evaluate(board)  # checked against a refresh and the numpy reference
    trace.append(score * (1 if board.turn == chess.WHITE else -1))  # White's view
print("incremental == refresh and kernel == numpy reference after every move")

line = list(board.move_stack)
timings = {}
for name, replay_evaluator in (("kernel", NnueEvaluator(kernel_net)),
                               ("numpy reference", NnueEvaluator(kernel_net, compiled=False))):
    start = time.perf_counter()
    for _ in range(20):
        replay = chess.Board()
        replay_evaluator.reset(replay)
        for move in line:
            replay_evaluator.push(replay, move)
            replay.push(move)
            replay_evaluator.evaluate(replay)
    timings[name] = (time.perf_counter() - start) / (20 * len(line)) * 1e6
start = time.perf_counter()
for _ in range(20):
    replay = chess.Board()
    for move in line:
        replay.push(move)
        net.evaluate_board(replay)
timings["numpy full refresh"] = (time.perf_counter() - start) / (20 * len(line)) * 1e6
print("push + evaluate per move: " + ", ".join(f"{name} {us:.1f} µs"
                                               for name, us in timings.items()))
assert timings["kernel"] < timings["numpy full refresh"], "the incremental update must be cheaper"

plt.figure(figsize=(6, 3))
plt.plot(trace)
plt.xlabel("ply of a random game")
plt.ylabel("integer eval (cp, White's view)")
plt.tight_layout()
save_figure(plt.gcf(), "06_game_trace.png")

# %% [markdown]
# ## 5. Quantization and what it costs
#
# int16 feature transformer (scale 127), int8 hidden weights (scale 64), int32 biases, the
# output 16 x centipawns: all constants live in `nnue/quantize.py`. Below, integer vs float
# centipawns for both trainings.

# %%
figure, axes = plt.subplots(1, 2, figsize=(9, 3.5))
mean_error = {}
for axis, aware in zip(axes, (True, False), strict=True):
    float_model, _ = load_checkpoint(runs[aware] / "checkpoint.pt")
    integer = KernelNet(quantize(float_model)).evaluate_batch(positions.pieces,
                                                              positions.side_to_move)
    floating = float_model.evaluate_cp(positions.pieces, positions.side_to_move)
    error = np.abs(integer - floating)
    mean_error[aware] = error.mean()
    label = "quantization-aware" if aware else "plain float, rounded after"
    print(f"{label:28s} mean |int - float| {error.mean():.2f} cp, "
          f"99th percentile {np.percentile(error, 99):.2f} cp, max {error.max():.1f} cp")
    axis.scatter(floating, integer, s=2, alpha=0.3)
    axis.set_title(label)
    axis.set_xlabel("float cp")
    axis.set_ylabel("integer cp")
figure.tight_layout()
save_figure(figure, "06_int_vs_float.png")
assert mean_error[True] < mean_error[False], "quantization-aware training must cost less"
assert mean_error[True] < 3, "the bar of the README: mean |int - float| <= 3 cp"

# %% [markdown]
# And against the teacher, in win-probability space (R² of sigmoid(cp / 410)):

# %%
teacher = win_probability(positions.score.astype(np.float64))
predicted = win_probability(kernel_net.evaluate_batch(positions.pieces, positions.side_to_move))
r2 = 1 - np.sum((teacher - predicted) ** 2) / np.sum((teacher - teacher.mean()) ** 2)
print(f"integer net vs teacher on all {len(positions)} positions: R² = {r2:.3f}")

# %% [markdown]
# ## 6. A symmetry that must hold exactly
#
# Mirror the ranks, swap the colours and the side to move: the side to move sees exactly the
# same features, so the integer score must be identical, not merely close.

# %%
flips = 0
for index in range(0, len(positions), max(1, len(positions) // 200)):
    board = chess.Board(None)
    for square in np.flatnonzero(positions.pieces[index]):
        code = int(positions.pieces[index][square])
        board.set_piece_at(int(square), chess.Piece((code - 1) % 6 + 1, code <= 6))
    board.turn = bool(positions.side_to_move[index])
    assert net.evaluate_board(board) == net.evaluate_board(board.mirror())
    flips += 1
print(f"colour-flipped score identical on {flips} positions")

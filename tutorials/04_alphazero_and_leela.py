# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 4: from AlphaGo to AlphaZero and Leela, on chess
#
# Three papers took game programs from hand-made knowledge to learning from self-play alone;
# Leela Chess Zero, an open reimplementation, then changed a few parts of the network. This
# tutorial retells that path and shows each piece on a real chess position with the package's
# own code: the input planes, the 4672-move policy map, the network with Leela's
# squeeze-and-excitation and win/draw/loss head, and a short PUCT search with the shipped net.
#
# Run it as a script (`python tutorials/04_alphazero_and_leela.py`) or as a notebook through
# jupytext; `MINIZERO_TUTORIAL_SMALL=1` is the quick version the test suite runs (both modes do
# the same work here: nothing is trained). Figures go to `runs/tutorials/`
# (or `MINIZERO_TUTORIAL_OUT`).

# %%
import os
import subprocess
import sys
import time

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import chess
import matplotlib.pyplot as plt
import numpy as np
import torch

from minizero.chessgame import encoding
from minizero.chessgame.puct_engine import SHIPPED_NET
from minizero.nn import PolicyValueNet
from minizero.nn.network import load_network
from minizero.tutorial import output_dir, save_figure, show_board, small_mode

SMALL = small_mode()
OUT = output_dir()
BEGAN = time.perf_counter()
torch.set_num_threads(1)

# %% [markdown]
# ## 1. AlphaGo (Silver et al., Nature 2016)
#
# AlphaGo used two kinds of network and a Monte Carlo tree search. A *policy network* was first
# trained by supervised learning to predict the moves of strong human players, then improved by
# reinforcement learning in games against earlier versions of itself. A separate *value network*
# was trained to predict the winner of positions taken from those self-play games. In the
# search, each new leaf was judged twice, by the value network and by a *rollout*, a fast game
# played to the end by a small, cheap policy, and the two were averaged. The policy network
# supplied the prior probabilities that steered the search towards promising moves.
#
# ## 2. AlphaGo Zero (Silver et al., Nature 2017)
#
# AlphaGo Zero removed the human games, the hand-made input features beyond the stones and the
# history, and the rollouts. One residual network has two heads, a policy `p` and a value `v`,
# and the search evaluates a leaf with `v` alone. Training is a loop: the current network plays
# itself, choosing each move by search; each position is stored with the search's visit counts
# (a better policy than the raw `p`) and the game's final result; the network is trained to
# predict both. The search picks children by PUCT, the value found so far plus a bonus that is
# large for moves with a high prior and few visits:
#
# `a* = argmax_a  Q(s, a) + c * P(s, a) * sqrt(N(s)) / (1 + N(s, a))`.
#
# ## 3. AlphaZero (Silver et al., Science 2018)
#
# AlphaZero ran the same algorithm on chess, shogi and Go with no game-specific knowledge beyond
# the rules, the input encoding and the move encoding. It dropped what was Go-specific (board
# symmetries for data augmentation, and the evaluation games that gated a new network: it
# always trained the latest one), and it predicts the expected score rather than a win
# probability, since chess has draws. Its chess input is 119 planes of 8x8 (the pieces and
# repetition counts of the last 8 positions, plus colour, move count, castling rights and the
# fifty-move counter) and its policy has 8 x 8 x 73 = 4672 outputs: for every from-square,
# 56 queen-like moves, 8 knight moves and 9 underpromotions. minizero follows that encoding,
# with 2 positions of history by default and an all-ones plane (which shows the convolutions
# the board's edge) in place of the total move count; `encoding.py` documents every plane:

# %%
print("input planes:", encoding.plane_count(encoding.DEFAULT_HISTORY),
      f"(14 x {encoding.DEFAULT_HISTORY} + 7); with AlphaZero's 8 positions:",
      encoding.plane_count(8))
print("policy size:", encoding.ACTION_SIZE, "= 64 squares x", encoding.POLICY_PLANES, "planes")
assert encoding.ACTION_SIZE == 64 * 73 == 4672
assert encoding.plane_count(8) == 119  # our all-ones plane stands where its move count was

# %% [markdown]
# ## 4. A real position through the encoding
#
# The Ruy Lopez after 1.e4 e5 2.Nf3 Nc6 3.Bb5, Black to move. The network sees the board from
# the side to move: for Black the ranks are mirrored, so Black's pieces are "own" pieces on the
# bottom rows, moving up. Below, every input plane of the position (T = 2: this position and the
# one before 3.Bb5).

# %%
board = chess.Board()
for san in ("e4", "e5", "Nf3", "Nc6", "Bb5"):
    board.push_san(san)
show_board(board)
planes = encoding.encode_board(board)
history = encoding.DEFAULT_HISTORY
PLANES_PER_STEP = 14  # own P N B R Q K, opponent's P N B R Q K, repeated once, repeated twice
names = []
for _ in range(history):
    names += [f"{side} {piece}" for side in ("own", "opp") for piece in "PNBRQK"]
    names += ["repeated 1x", "repeated 2x"]
names += ["colour (1 = White)", "own O-O", "own O-O-O", "opp O-O", "opp O-O-O",
          "fifty-move / 100", "ones"]
assert len(names) == planes.shape[0] == history * PLANES_PER_STEP + 7 == 35


def draw_planes(indices: list[int], title: str, name: str) -> None:
    """One figure of planes, 7 a row, each an 8x8 board (rank 1 of the mover's view at the
    bottom), large enough to read at page width."""
    rows = -(-len(indices) // 7)
    figure, axes = plt.subplots(rows, 7, figsize=(10, 1.75 * rows + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, indices):
        ax.axis("on")
        ax.imshow(planes[index][::-1], cmap="Greys", vmin=0, vmax=1)
        ax.set_title(names[index], fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    save_figure(figure, name)
    plt.close(figure)


for step, when, name in ((0, "now", "04_planes_now.png"),
                         (1, "one ply ago (before 3.Bb5)", "04_planes_one_ply_ago.png")):
    first = step * PLANES_PER_STEP
    # row 1: own pieces and "repeated 1x"; row 2: the opponent's pieces and "repeated 2x"
    order = [*range(first, first + 6), first + 12, *range(first + 6, first + 12), first + 13]
    draw_planes(order, f"Planes of the position {when}, from Black's side", name)
draw_planes(list(range(history * PLANES_PER_STEP, planes.shape[0])),
            "Planes that describe the game, not the pieces", "04_planes_constant.png")

# %% [markdown]
# Black's view, in numbers: Black's own pawns fill the network's second rank, White's bishop on
# b5 sits on the network's fourth rank (rank 5 mirrored), and the colour plane is all zeros.

# %%
own_pawns, opp_bishops, colour = planes[0], planes[6 + 2], planes[14 * history]
assert own_pawns[1].sum() == 7 and own_pawns[3, chess.E4 % 8] == 1  # e5 mirrored to e4
assert opp_bishops[3, chess.B5 % 8] == 1  # White's Bb5, mirrored to the b4 square
assert colour.max() == 0

# %% [markdown]
# **The colour flip.** Mirroring the board and swapping the colours
# (`chess.Board.mirror()`) gives White the very same position to play. Its planes must equal
# Black's, apart from the colour plane, and every move must get the same policy index. We
# encode without history here, since `mirror()` keeps no move stack.

# %%
black_planes = encoding.encode_board(board, history=1)
white_twin = board.mirror()
white_planes = encoding.encode_board(white_twin, history=1)
colour_plane = 14
same = np.delete(black_planes, colour_plane, axis=0) == np.delete(white_planes, colour_plane, 0)
assert same.all() and black_planes[colour_plane].max() == 0 == 1 - white_planes[colour_plane].max()
for move in board.legal_moves:
    twin_move = chess.Move(chess.square_mirror(move.from_square),
                           chess.square_mirror(move.to_square), move.promotion)
    assert encoding.move_to_index(move, chess.BLACK) == encoding.move_to_index(twin_move,
                                                                               chess.WHITE)
print("Black's planes = the mirrored White's, except the colour plane; move indices agree too")

# %% [markdown]
# **The policy map.** Every legal move gets one index `73 * from + plane` (squares in the
# mover's view), and decoding the index on the same board gives the move back. The table shows
# where each of Black's moves lands: ...a6 is one square "north" in Black's view, ...Rb8 one
# square "east", and each knight move has a plane of its own. (Castling, not legal here, is
# the king's queen-like move of two squares.)

# %%
def describe(plane: int) -> str:
    if plane < 56:
        direction = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")[plane // 7]
        return f"queen-like {direction} x{plane % 7 + 1}"
    if plane < 64:
        return f"knight #{plane - 56}"
    return f"underpromotion #{plane - 64}"


indices = encoding.legal_indices(board)
print(f"{len(indices)} legal moves:")
for index in indices:
    move = encoding.index_to_move(index, board)
    assert move in board.legal_moves and encoding.move_to_index(move, board.turn) == index
    source, plane = divmod(index, encoding.POLICY_PLANES)
    print(f"  {board.san(move):6} index {index:4} = 73 x {source:2} "
          f"({chess.square_name(source)} in Black's view) + {plane:2}  {describe(plane)}")
assert len(indices) == board.legal_moves.count() == len(set(indices))
mask = encoding.legal_mask(board)
assert mask.sum() == len(indices) and mask[indices].all()

# %% [markdown]
# ## 5. The network, and what Leela changed
#
# Leela Chess Zero reimplemented AlphaZero in the open and kept changing it (its documentation
# lists the network formats). Two of its changes are in `minizero.nn` and in the shipped net:
#
# * **Squeeze-and-excitation with scale and bias.** Each residual block averages every channel
#   over the board, passes that vector through a small two-layer net, and gets two numbers per
#   channel: a scale `sigmoid(gamma)` and a bias `beta`, applied to every square. A block can so
#   react to the whole position (an open king, a queenless board) rather than to 3x3 patches.
# * **The WDL value head.** Instead of one `tanh` number, the head gives three logits, the
#   probabilities of a win, a draw and a loss for the side to move. Their expectation
#   `P(win) - P(loss)` is the score the search uses, and the draw probability is kept apart,
#   which one number cannot tell: a 0.0 can be a dead draw or a wild position.
#
# One more choice is AlphaZero's own, from its chess network: the **convolutional policy head**.
# The move map is 73 planes over the 64 from-squares, so the head can be a convolution with 73
# output planes, read square by square: logit `73 s + p` is plane `p` at square `s`, and every
# weight serves all 64 squares. The alternative (`policy_head="fc"`, AlphaZero's Go head) reads
# all 4,672 logits from two squeezed planes through one dense layer; on the same data and steps
# it agreed with Stockfish on 13.9% of held-out positions, against 24.0% for the conv head
# (README, "AlphaZero chess").
#
# The shipped net, `minizero/chessgame/nets/zero-small.pt`, is small: 8 residual blocks of 64
# channels and the conv policy head, trained by supervision on positions labelled by Stockfish,
# with the policy's softmax taken over the legal moves only (README, "AlphaZero chess").

# %%
if not SHIPPED_NET.exists():
    raise SystemExit(f"the shipped network {SHIPPED_NET} is missing from this checkout")
network = load_network(str(SHIPPED_NET))
config = network.config
parameters = sum(p.numel() for p in network.parameters())
print(config)
print(f"{parameters:,} parameters")
print(network.tower[0].se)
assert isinstance(network, PolicyValueNet) and config.value_head == "wdl" and config.se
assert config.policy_head == "conv"
assert config.input_shape == (35, 8, 8) and config.action_size == 4672

with torch.no_grad():
    x = torch.from_numpy(planes[None])
    features = network.stem(x)
    block = network.tower[0]
    pooled = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(features))))).mean(dim=(2, 3))
    gamma, beta = block.se.excite(torch.relu(block.se.squeeze(pooled))).chunk(2, dim=1)
    logits, wdl_logits = network(x, torch.from_numpy(mask[None]))
scale = torch.sigmoid(gamma)[0].numpy()
print(f"block 1's SE on this position: scales {scale.min():.2f}..{scale.max():.2f}, "
      f"biases {beta.min():.2f}..{beta.max():.2f} over {config.channels} channels")
assert ((scale > 0) & (scale < 1)).all()

wdl = torch.softmax(wdl_logits, dim=1)[0].numpy()
expected = float(PolicyValueNet.expected_value(wdl_logits)[0])
print(f"value head for Black: win {wdl[0]:.3f}  draw {wdl[1]:.3f}  loss {wdl[2]:.3f}  "
      f"-> expected score {expected:+.3f}")
assert abs(wdl.sum() - 1) < 1e-5 and abs(expected - (wdl[0] - wdl[2])) < 1e-5

prior = torch.softmax(logits, dim=1)[0].numpy()
assert abs(prior.sum() - 1) < 1e-5 and prior[~mask].sum() == 0  # illegal moves masked out
top = sorted(indices, key=lambda i: -prior[i])[:10]
figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4), width_ratios=(3, 1))
left.bar([board.san(encoding.index_to_move(i, board)) for i in top], prior[top])
left.set_ylabel("prior P(s, a)")
left.set_title("Policy head: the 10 likeliest of Black's legal moves")
right.bar(["win", "draw", "loss"], wdl, color=["tab:green", "tab:grey", "tab:red"])
right.set_title("WDL value head (Black)")
right.set_ylim(0, 1)
figure.tight_layout()
save_figure(figure, "04_policy_and_wdl.png")
plt.close(figure)
print("top priors:", {board.san(encoding.index_to_move(i, board)): round(float(prior[i]), 3)
                      for i in top[:5]})

# %% [markdown]
# ## 6. The search: `zero-uci`, `go nodes 64`
#
# The PUCT engine (`minizero/chessgame/puct_engine.py`) puts the network under the generic
# PUCT search and behind the UCI server. We start it as a GUI would, with this very Python,
# and ask for exactly 64 simulations (deterministic: no root noise). The `info` line reports the
# simulations as `nodes`, the principal variation along the most visited children, and a
# centipawn score mapped from the expected score `Q` by `400 atanh(Q)`.

# %%
engine = subprocess.Popen([sys.executable, "-m", "minizero.chessgame.puct_engine"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
assert engine.stdin is not None and engine.stdout is not None
moves = " ".join(move.uci() for move in board.move_stack)
for command in ("uci", "isready", f"position startpos moves {moves}", "go nodes 64"):
    engine.stdin.write(command + "\n")
lines = []
for line in engine.stdout:
    lines.append(line.strip())
    if line.startswith("bestmove"):
        break
engine.stdin.write("quit\n")
engine.stdin.close()
engine.wait(timeout=30)
infos = [line for line in lines if line.startswith("info") and " pv " in line]
print(infos[-1])
print(lines[-1])
best = chess.Move.from_uci(lines[-1].split()[1])
assert best in board.legal_moves, f"illegal best move {best}"
assert " nodes 64 " in infos[-1]
print(f"best move {board.san(best)}")

# %% [markdown]
# ## 7. What the small shipped net can and cannot do
#
# These figures are the README's ("AlphaZero chess", measured on the shared 2-core machine with
# `make bench BENCH=zero_chess`), not re-measured here:
#
# * It plays legal chess through the full UCI protocol, with clock, `stop`, node and depth
#   limits, and tree reuse, and its encoding round-trips every legal move (as above).
# * Its policy agrees with Stockfish's depth-8 move on 38.7% of held-out positions; the aim was
#   40%. (Stockfish itself, asked again at depth 6 without the game's hash, agrees 42.4% of the
#   time: the labels are noisy.) Its value head is off by 0.14 on average against Stockfish's
#   score mapped to [-1, 1].
# * Its raw policy, one network call a move, beat a random mover in 190 games of 200 and drew
#   the other 10, five by stalemate and five by repetition; the aim was to win all. Most of
#   its training positions come from games that Stockfish played out to mate, and 180,000
#   from games where Stockfish played a random mover.
# * Against sunfish it scored 58.0% in 200 games at 10+0.1 (99 wins, 34 draws, 67 losses; Elo
#   +56, interval +12 to +102), with the engine running the network in bfloat16 on a CPU with
#   AMX. Search helps it play: against Stockfish at `Skill Level 0` it scored 0.38 of the
#   points in 8 games at 1 node a move and 0.88 at 1,024 (8 games a setting are few; earlier
#   nets scored 0.00 to 0.50 at 1 node and 0.62 to 1.00 at 1,024).
# * It is small for a network: 681,870 weights, about 360 evaluations per second one at a time
#   and 960 in batches of 16 on one core of the bench machine in float32, 1,400 in bfloat16.
#   AlphaZero trained far larger nets on tens of millions of self-play games; this one saw about
#   3.7 million Stockfish positions: a 4-block net trained on 2.4 million, then grown to 8
#   blocks and trained on 1.3 million more.
# * A network knows only inputs like those it was trained on. Its training positions all come
#   with their history; given a bare FEN with the history planes left empty it called ordinary
#   positions lost (its value off by 0.96 on average over 150 positions) and chose another move
#   in most of them. The encoding therefore fills unknown history with the earliest known
#   position, as Leela does (value off by 0.04, the same move in 93%).
#
# So the shipped net shows the machinery working end to end, not AlphaZero's strength; that
# takes data and compute on a scale this project does not have.

# %%
print(f"tutorial ran in {time.perf_counter() - BEGAN:.1f} s")

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 5: Hexapawn Zero
#
# AlphaZero's recipe on a game small enough to check every answer: a policy-value network, a
# tree search guided by it (PUCT), games against itself, and training on those games. The exact
# solver (tutorial 3) grades the result, and a network trained directly on the solver's answers
# shows what the same architecture can learn with a perfect teacher.
#
# Run as a script (`python tutorials/05_hexapawn_zero.py`); `MINIZERO_TUTORIAL_SMALL=1` is the
# quick version the test suite runs. Values are always from the side to move.

# %%
import shutil

import numpy as np
import torch

from hexapawn.experiment import Grader, compare, default_configs, results_table
from hexapawn.game import Hexapawn
from hexapawn.solve import solve
from minizero.nn import PolicyValueNet
from minizero.search.puct import PUCT, PUCTConfig, network_evaluator
from minizero.selfplay import play_game
from minizero.tutorial import output_dir, show_file, small_mode

SMALL = small_mode()
OUT = output_dir()
torch.manual_seed(0)
torch.set_num_threads(1)

# %% [markdown]
# ## The network
#
# The board goes in as two 3x3 planes (the mover's pawns, the opponent's), seen from the side to
# move. A convolutional stem and one residual block with squeeze-and-excitation produce features;
# the policy head scores all 27 actions (9 squares x 3 directions) and the value head says who
# wins. Illegal moves are masked before the softmax.

# %%
game = Hexapawn(3, 3)
configs = default_configs(game, workers=1)
network = PolicyValueNet(configs["network"])
print(network)
print(f"{sum(p.numel() for p in network.parameters()):,} parameters")
start = game.initial_state()
legal = np.zeros((1, game.action_size), dtype=bool)
legal[0, game.legal_actions(start)] = True
policy, value = network.predict(game.encode(start)[None], legal)
print("untrained policy over the legal moves:",
      {game.action_to_string(start, a): round(float(policy[0, a]), 3)
       for a in game.legal_actions(start)}, "value", round(float(value[0]), 3))

# %% [markdown]
# ## PUCT
#
# Each simulation walks down the tree by `Q + c * P * sqrt(N) / (1 + n)`: the value found so far
# plus an exploration bonus shaped by the network's prior `P`. Leaves are evaluated in batches
# (one network call for 8 leaves, spread apart by virtual loss). Here is the search from the start
# with the untrained network:

# %%
search = PUCT(game, network_evaluator(game, network), PUCTConfig(simulations=64))
result = search.search(start)
for action in game.legal_actions(start):
    print(f"{game.action_to_string(start, action)}: {result.visit_counts[action]} visits")
print(f"root value {result.value:+.2f}, {result.evaluations} leaves in "
      f"{result.network_calls} network calls")

# %% [markdown]
# ## One self-play game, traced
#
# Self-play opens with a few random moves (so that positions after mistakes are seen at all),
# then plays by the search with root noise; each position is stored with the visit distribution
# (the policy target) and the final result from its side to move (the value target). Below, the
# stored targets of one game, without the mirror images:

# %%
samples = play_game(game, network_evaluator(game, network), configs["puct"],
                    np.random.default_rng(1), symmetries=False, opening_plies=2)
for planes, target, outcome in zip(samples.planes, samples.policy, samples.value):
    mine, theirs = planes[0][::-1], planes[1][::-1]  # print the mover's home row at the bottom
    rows = [" ".join("M" if m else "o" if t else "." for m, t in zip(mr, tr))
            for mr, tr in zip(mine, theirs)]
    top = {int(a): round(float(target[a]), 2) for a in np.flatnonzero(target)}
    print(" | ".join(rows), f"  visits {top}  outcome for the mover {outcome:+.0f}")

# %% [markdown]
# ## The comparison
#
# `compare` trains a supervised network on the solver's labels and a self-play network from the
# same initial weights, grading both after every epoch or generation; it stops each at perfect
# play (100% move accuracy for both colours, every game won from the winning side).

# %%
out = OUT / "05_compare_3x3"
if out.exists():
    shutil.rmtree(out)
summary = compare(3, 3, out, seed=0, workers=1 if SMALL else None, progress=False)
print(results_table(summary))
print("learning curves:", summary["plot"])
assert summary["plot"], "the learning curves need matplotlib"
show_file(summary["plot"])

# %% [markdown]
# Both reach perfect play. The supervised network needs fewer positions, since every label is
# exact; self-play has to discover the values itself, from games whose quality rises with the
# network's. What makes self-play get *all* the positions right, including those that only
# arise after a mistake, is the random opening: without it (and with temperature alone), the
# value targets of those positions come from sloppy play and the policy stays wrong there.

#
# The claims, as code: both methods reach perfect play, the supervised one from fewer training
# positions, and both trained networks then win every game from the winning side (Black, on
# 3x3) against the perfect player. The untrained network, graded the same way, is far from it.

# %%
supervised, selfplay = summary["supervised"], summary["selfplay"]
assert supervised["seconds_to_perfect"] is not None, "supervised never reached perfect play"
assert selfplay["seconds_to_perfect"] is not None, "self-play never reached perfect play"
assert supervised["positions_to_perfect"] < selfplay["positions_to_perfect"]
for method in (supervised, selfplay):
    assert method["final"]["raw_vs_solver_black"] == 1.0
solution = solve(3, 3)
grader = Grader(solution, games=4)
untrained = grader.accuracy(network)
print("untrained:", {k: round(v, 3) for k, v in untrained.items()})
assert untrained["accuracy"] < 0.9

# %% [markdown]
# Play against what self-play learned (Black wins 3x3, so you will lose as White):
#
# ```
# hexapawn play --opponent net:runs/tutorials/05_compare_3x3/selfplay/checkpoints/latest.pt
# ```

# %%
print("play it:  hexapawn play --size 3x3 --opponent "
      f"net:{out / 'selfplay' / 'checkpoints' / 'latest.pt'}")

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 3: minimax, alpha-beta and MCTS on Hexapawn
#
# Three ways to choose a move in a two-player game, each graded by the exact solution of the
# game. Run it as a script (`python tutorials/03_search.py`) or open it as a notebook with
# jupytext. Set `MINIZERO_TUTORIAL_SMALL=1` for the quick version the test suite runs.
#
# Every value here is from the **side to move**: +1 means "I win", -1 "I lose". That one
# convention lets a single function search for both players (negamax).

# %%
import os
import time

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt
import numpy as np

from hexapawn.game import Hexapawn
from hexapawn.solve import solve
from minizero.search import AlphaBetaConfig, MCTSConfig, alphabeta, mcts, minimax
from minizero.tutorial import output_dir, save_figure, small_mode

SMALL = small_mode()
OUT = output_dir()

# %% [markdown]
# ## The game and its exact solution
#
# On 3x3 each side has three pawns. The solver enumerates every reachable position and labels
# each with its value, its distance to the end, and its optimal moves. It is our oracle.

# %%
game = Hexapawn(3, 3)
start = game.initial_state()
print(game.render(start))
solution = solve(3, 3)
print(solution.summary())

# %% [markdown]
# ## Minimax
#
# Minimax visits every node: the value of a position is the best of the negated values of its
# children. It is slow but obviously right.

# %%
sizes = [(3, 3)] if SMALL else [(3, 3), (4, 4)]
searches = {
    "minimax": None,
    "alpha-beta": AlphaBetaConfig(iterative=False, use_table=False),
    "alpha-beta + table": AlphaBetaConfig(iterative=False),
}
rows = []
for width, height in sizes:
    board = Hexapawn(width, height)
    position = board.initial_state()
    for name, config in searches.items():
        began = time.perf_counter()
        if config is None:
            result = minimax(board, position)
        else:
            result = alphabeta(board, position, config)
        rows.append((f"{width}x{height}", name, result.value, result.nodes,
                     time.perf_counter() - began))
for row in rows:
    print("{:4s} {:20s} value {:+.0f} {:>10,} nodes {:7.3f} s".format(*row))
for size in {row[0] for row in rows}:  # the claim below, as code: same value, fewer nodes
    values = [row[2] for row in rows if row[0] == size]
    nodes = [row[3] for row in rows if row[0] == size]
    assert len(set(values)) == 1, f"{size}: the searches disagree on the value"
    assert nodes[0] > nodes[1] > nodes[2], f"{size}: pruning must visit fewer nodes"

# %% [markdown]
# ## Alpha-beta
#
# Alpha-beta returns the same value but skips every subtree that cannot change it. Adding a
# transposition table means each position reached by different move orders is searched once.
# The table above shows the node counts side by side; on 4x4 alpha-beta visits about 70 times
# fewer nodes than minimax, and with the table about 800 times fewer (the node counts printed
# above are the measurement).
#
# Let us check the claim "same value" on every reachable 3x3 position:

# %%
agree = sum(
    alphabeta(game, p).value == minimax(game, p).value == solution.value(p)
    for p in solution.positions()
)
print(f"alpha-beta == minimax == solver on {agree} of {len(solution)} positions")
assert agree == len(solution)

# %% [markdown]
# ## Monte Carlo tree search
#
# MCTS knows nothing about the game but its rules. It plays random games (rollouts) and grows a
# tree towards the moves that win most often, balancing exploitation and exploration with the
# UCT formula. How many iterations does it need? We take every 3x3 position that the side to move
# wins but where some move would lose, and watch two things as iterations grow: how often the most
# visited move is a winning one, and what share of the visits go to winning moves.

# %%
cases = []
for position in solution.positions():
    actions = game.legal_actions(position)
    if not actions or solution.value(position) < 0:
        continue
    winning = [a for a in actions if solution.value(game.apply(position, a)) < 0]
    if len(winning) < len(actions):
        cases.append((position, winning))
print(f"{len(cases)} positions with a clearly best move")

budgets = [2, 4, 8, 16, 32, 64] if SMALL else [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
seeds = range(3 if SMALL else 10)
accuracy, visit_share = [], []
for budget in budgets:
    correct, share = [], []
    for position, winning in cases:
        for seed in seeds:
            result = mcts(game, position, MCTSConfig(iterations=budget, seed=seed))
            correct.append(result.action in winning)
            share.append(result.visit_counts[winning].sum() / result.visit_counts.sum())
    accuracy.append(np.mean(correct))
    visit_share.append(np.mean(share))
    print(f"{budget:5d} iterations: best move winning {accuracy[-1]:6.1%}, "
          f"visits on winning moves {visit_share[-1]:6.1%}")

# %% [markdown]
# The claims of this section, as code: with the largest budget every search picks a winning
# move, and more iterations put more of the visits on winning moves.

# %%
assert accuracy[-1] == 1.0
assert visit_share[-1] > visit_share[0] and accuracy[-1] > accuracy[0]

figure, axis = plt.subplots(figsize=(6, 4))
axis.plot(budgets, accuracy, marker="o", label="most visited move wins")
axis.plot(budgets, visit_share, marker="s", label="share of visits on winning moves")
axis.set_xscale("log", base=2)
axis.set_xlabel("MCTS iterations")
axis.set_ylabel("fraction")
axis.set_ylim(0, 1.05)
axis.set_title("UCT on 3x3 Hexapawn converges to the solver's moves")
axis.legend()
figure.tight_layout()
save_figure(figure, "03_mcts_convergence.png")
print(f"plot written to {OUT / '03_mcts_convergence.png'}")

# %% [markdown]
# The most visited move becomes reliable long before the visit distribution concentrates:
# UCT keeps exploring the other moves at a rate that only shrinks like log(N)/N. That leftover
# exploration is why AlphaZero replaces random rollouts with a network's value and guides the
# exploration with a network's policy (tutorial 5).

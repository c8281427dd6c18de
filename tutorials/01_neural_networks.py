# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 1: neural networks from the perceptron to backpropagation
#
# Everything a policy-value network does rests on three ideas: a unit that weighs its inputs,
# layers of such units with a non-linearity between them, and gradient descent with gradients
# computed by the chain rule (backpropagation). Here each one is written out in numpy, and the
# gradients are checked against torch's automatic differentiation, the tool the rest of the
# package trains with.
#
# Run it as a script (`python tutorials/01_neural_networks.py`) or open it as a notebook with
# jupytext. `MINIZERO_TUTORIAL_SMALL=1` is the quick version the test suite runs; figures go to
# `runs/tutorials/` (or `MINIZERO_TUTORIAL_OUT`).

# %%
import os
import time

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt
import numpy as np
import torch

from minizero.tutorial import output_dir, save_figure, small_mode

SMALL = small_mode()
OUT = output_dir()
BEGAN = time.perf_counter()
torch.manual_seed(0)
torch.set_num_threads(1)

# %% [markdown]
# ## 1. The perceptron
#
# Rosenblatt's perceptron (1958) computes `step(w . x + b)`: it draws one straight line through
# the input space and answers 1 on one side. Its learning rule nudges the line towards every
# misclassified point: `w += lr * (target - output) * x`. If a line separating the classes
# exists, the rule finds one in finitely many steps.

# %%
inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
truth_tables = {"AND": np.array([0, 0, 0, 1]), "OR": np.array([0, 1, 1, 1]),
                "XOR": np.array([0, 1, 1, 0])}


def train_perceptron(x: np.ndarray, target: np.ndarray, epochs: int = 50,
                     learning_rate: float = 0.1) -> tuple[np.ndarray, float, float]:
    """The perceptron rule; returns weights, bias and the best accuracy seen."""
    weights, bias, best = np.zeros(2), 0.0, 0.0
    for _ in range(epochs):
        for point, label in zip(x, target):
            output = float(point @ weights + bias > 0)
            weights = weights + learning_rate * (label - output) * point
            bias += learning_rate * (label - output)
        best = max(best, float(np.mean((x @ weights + bias > 0) == target)))
    return weights, bias, best


perceptrons = {}
for name, target in truth_tables.items():
    perceptrons[name] = train_perceptron(inputs, target)
    print(f"{name}: best accuracy {perceptrons[name][2]:.0%}")

# %% [markdown]
# AND and OR are learned perfectly. XOR never is: no line puts (0,1) and (1,0) on one side and
# (0,0) and (1,1) on the other, so at most three of the four points can be right (Minsky and
# Papert's objection, 1969). The claim, as code:

# %%
assert perceptrons["AND"][2] == 1.0 and perceptrons["OR"][2] == 1.0
assert perceptrons["XOR"][2] <= 0.75

figure, axes = plt.subplots(1, 3, figsize=(10, 3.2))
grid = np.linspace(-0.5, 1.5, 200)
mesh_x, mesh_y = np.meshgrid(grid, grid)
for axis, (name, (weights, bias, best)) in zip(axes, perceptrons.items()):
    region = (mesh_x * weights[0] + mesh_y * weights[1] + bias > 0).astype(float)
    axis.contourf(mesh_x, mesh_y, region, levels=[-0.5, 0.5, 1.5], colors=["#dde", "#fdd"])
    target = truth_tables[name]
    axis.scatter(inputs[:, 0], inputs[:, 1], c=target, cmap="coolwarm", s=120, edgecolors="k")
    axis.set_title(f"{name}: best accuracy {best:.0%}")
    axis.set_xticks([0, 1])
    axis.set_yticks([0, 1])
figure.suptitle("A perceptron draws one line: enough for AND and OR, not for XOR")
figure.tight_layout()
save_figure(figure, "01_perceptron.png")

# %% [markdown]
# ## 2. A hidden layer, and backpropagation by hand
#
# Put a layer of units with a smooth non-linearity (tanh) between input and output and the
# network can bend its decision boundary. The model, for a batch `x` of shape (B, 2):
#
# ```
# hidden = tanh(x @ W1 + b1)          # (B, H)
# logit  = hidden @ W2 + b2           # (B, 1)
# p      = sigmoid(logit)             # probability of class 1
# loss   = mean(-y log p - (1 - y) log(1 - p))   # binary cross-entropy
# ```
#
# Backpropagation applies the chain rule from the loss back to every weight. Each step below is
# the derivative of one line above; the well-known simplification is that sigmoid followed by
# cross-entropy has the gradient `p - y` with respect to the logit.

# %%
def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def forward(params: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    hidden = np.tanh(x @ params["W1"] + params["b1"])  # (B, H)
    logit = hidden @ params["W2"] + params["b2"]  # (B, 1)
    return {"hidden": hidden, "p": sigmoid(logit)}


def bce_loss(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)))


def backward(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
             cache: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    batch = len(x)
    d_logit = (cache["p"] - y) / batch  # (B, 1): sigmoid + cross-entropy, averaged
    d_hidden = d_logit @ params["W2"].T  # (B, H)
    d_pre = d_hidden * (1 - cache["hidden"] ** 2)  # tanh' = 1 - tanh^2
    return {"W2": cache["hidden"].T @ d_logit, "b2": d_logit.sum(axis=0),
            "W1": x.T @ d_pre, "b1": d_pre.sum(axis=0)}


rng = np.random.default_rng(0)
hidden_units = 8
params = {"W1": rng.normal(0, 1, (2, hidden_units)), "b1": np.zeros(hidden_units),
          "W2": rng.normal(0, 1, (hidden_units, 1)), "b2": np.zeros(1)}
labels = truth_tables["XOR"].reshape(-1, 1).astype(np.float64)

# %% [markdown]
# The oracle: torch computes the same loss with autograd, in float64, from the same weights.
# Every gradient must agree to rounding error.

# %%
cache = forward(params, inputs)
ours = backward(params, inputs, labels, cache)
torch_params = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
torch_hidden = torch.tanh(torch.tensor(inputs) @ torch_params["W1"] + torch_params["b1"])
torch_logit = torch_hidden @ torch_params["W2"] + torch_params["b2"]
torch_loss = torch.nn.functional.binary_cross_entropy_with_logits(torch_logit,
                                                                  torch.tensor(labels))
torch_loss.backward()
print(f"loss: numpy {bce_loss(cache['p'], labels):.12f}, torch {torch_loss.item():.12f}")
worst_gradient_gap = 0.0
for name in params:
    gap = np.abs(ours[name] - torch_params[name].grad.numpy()).max()
    worst_gradient_gap = max(worst_gradient_gap, gap)
    print(f"d loss / d {name}: largest |numpy - torch| = {gap:.2e}")
assert abs(bce_loss(cache["p"], labels) - torch_loss.item()) < 1e-12
assert worst_gradient_gap < 1e-12

# %% [markdown]
# ## 3. Gradient descent learns XOR
#
# With the gradients right, learning is one line: `w -= learning_rate * gradient`, repeated.

# %%
def train_xor(params: dict[str, np.ndarray], steps: int = 2000, learning_rate: float = 1.0,
              record: bool = True) -> list[float]:
    losses = []
    for _ in range(steps):
        cache = forward(params, inputs)
        if record:
            losses.append(bce_loss(cache["p"], labels))
        for name, gradient in backward(params, inputs, labels, cache).items():
            params[name] -= learning_rate * gradient
    return losses


losses = train_xor(params)
predictions = forward(params, inputs)["p"].ravel()
print("XOR outputs after training:", np.round(predictions, 3), f"loss {losses[-1]:.4f}")
assert np.array_equal(predictions > 0.5, truth_tables["XOR"] == 1), "the MLP must solve XOR"
assert losses[-1] < 0.05

# %% [markdown]
# Gradient descent only finds *a* minimum nearby. With very few hidden units, some starting
# weights lead into a flat region where one input pair stays at p = 0.5; more units give more
# ways down. Twenty random starts for each width (ten in the quick version):

# %%
starts = 10 if SMALL else 20
def solved_from(seed: int, width: int) -> bool:
    start = np.random.default_rng(seed)
    trial = {"W1": start.normal(0, 1, (2, width)), "b1": np.zeros(width),
             "W2": start.normal(0, 1, (width, 1)), "b2": np.zeros(1)}
    train_xor(trial, record=False)
    return bool(np.array_equal(forward(trial, inputs)["p"].ravel() > 0.5,
                               truth_tables["XOR"] == 1))


solved = {width: sum(solved_from(seed, width) for seed in range(starts)) for width in (2, 8)}
for width, count in solved.items():
    print(f"{width} hidden units: XOR solved from {count} of {starts} random starts")
assert solved[8] == starts and solved[2] < starts

figure, axes = plt.subplots(1, 2, figsize=(9, 3.5))
axes[0].plot(losses)
axes[0].set_yscale("log")
axes[0].set_xlabel("gradient step")
axes[0].set_ylabel("cross-entropy")
axes[0].set_title("training loss")
grid_points = np.stack([mesh_x.ravel(), mesh_y.ravel()], axis=1)
surface = forward(params, grid_points)["p"].reshape(mesh_x.shape)
contour = axes[1].contourf(mesh_x, mesh_y, surface, levels=20, cmap="coolwarm")
axes[1].scatter(inputs[:, 0], inputs[:, 1], c=truth_tables["XOR"], cmap="coolwarm", s=120,
                edgecolors="k")
axes[1].set_title("the hidden layer bends the boundary")
figure.colorbar(contour, ax=axes[1], label="p(class 1)")
figure.tight_layout()
save_figure(figure, "01_xor_mlp.png")

# %% [markdown]
# ## 4. Losses for classification and for regression
#
# A policy head is a classifier over moves: softmax turns logits into probabilities and the loss
# is the cross-entropy against the target distribution (the search's visit counts, in
# AlphaZero). Its gradient with respect to the logits is again `probabilities - target`. A
# scalar value head is a regressor: mean squared error against the game result, gradient
# `2 (prediction - target) / n`. Both checked against torch:

# %%
logits = rng.normal(0, 1, (5, 7))  # 5 positions, 7 moves
target = rng.dirichlet(np.ones(7), size=5)  # visit distributions: rows sum to 1
shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
probabilities = shifted / shifted.sum(axis=1, keepdims=True)
cross_entropy = float(np.mean(-(target * np.log(probabilities)).sum(axis=1)))
d_logits = (probabilities - target) / len(logits)
torch_logits = torch.tensor(logits, requires_grad=True)
torch_ce = -(torch.tensor(target) * torch.log_softmax(torch_logits, dim=1)).sum(dim=1).mean()
torch_ce.backward()
ce_gap = np.abs(d_logits - torch_logits.grad.numpy()).max()
print(f"cross-entropy {cross_entropy:.6f} (torch {torch_ce.item():.6f}), "
      f"gradient gap {ce_gap:.1e}")

predicted_value, game_result = rng.uniform(-1, 1, 6), rng.choice([-1.0, 0.0, 1.0], 6)
mse = float(np.mean((predicted_value - game_result) ** 2))
d_value = 2 * (predicted_value - game_result) / len(predicted_value)
torch_value = torch.tensor(predicted_value, requires_grad=True)
torch_mse = torch.nn.functional.mse_loss(torch_value, torch.tensor(game_result))
torch_mse.backward()
mse_gap = np.abs(d_value - torch_value.grad.numpy()).max()
print(f"squared error {mse:.6f} (torch {torch_mse.item():.6f}), gradient gap {mse_gap:.1e}")
assert abs(cross_entropy - torch_ce.item()) < 1e-12 and ce_gap < 1e-12
assert abs(mse - torch_mse.item()) < 1e-12 and mse_gap < 1e-12

# %% [markdown]
# ## 5. Under- and overfitting, seen on held-out data
#
# A model is judged on data it did not train on. We draw 30 noisy samples of a smooth curve,
# train on 20 and hold 10 out, and fit polynomials of growing degree (a model whose capacity we
# can dial). Too little capacity misses the curve on both sets (underfitting); too much follows
# the noise: the training error keeps falling while the held-out error rises (overfitting).

# %%
def curve(x: np.ndarray) -> np.ndarray:
    return np.sin(2.5 * x)


data_rng = np.random.default_rng(3)
x_all = data_rng.uniform(-1, 1, 30)
y_all = curve(x_all) + data_rng.normal(0, 0.25, 30)
x_train, y_train, x_held, y_held = x_all[:20], y_all[:20], x_all[20:], y_all[20:]
degrees = list(range(1, 13))
train_error, held_error, fits = [], [], {}
for degree in degrees:
    fit = np.polynomial.Polynomial.fit(x_train, y_train, degree)
    fits[degree] = fit
    train_error.append(float(np.mean((fit(x_train) - y_train) ** 2)))
    held_error.append(float(np.mean((fit(x_held) - y_held) ** 2)))
best_degree = degrees[int(np.argmin(held_error))]
for degree in (1, best_degree, degrees[-1]):
    print(f"degree {degree:2d}: training error {train_error[degree - 1]:.4f}, "
          f"held-out error {held_error[degree - 1]:.4f}")
assert held_error[0] > 2 * min(held_error), "degree 1 underfits"
assert held_error[-1] > 2 * min(held_error), "degree 12 overfits"
assert train_error[-1] < train_error[best_degree - 1] < train_error[0]

# %% [markdown]
# The same happens to a neural network trained for too long on too little data. A wide MLP
# (torch now, since the hand-written version is checked) fits the 20 training points ever more
# closely; the held-out loss reaches its minimum early and then climbs. Stopping at that
# minimum, "early stopping", is the simplest regulariser; weight decay (the L2 term of the
# package's trainer) is another.

# %%
mlp = torch.nn.Sequential(torch.nn.Linear(1, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64),
                          torch.nn.Tanh(), torch.nn.Linear(64, 1)).double()
optimizer = torch.optim.Adam(mlp.parameters(), lr=1e-2)
train_x, train_y = torch.tensor(x_train)[:, None], torch.tensor(y_train)[:, None]
held_x, held_y = torch.tensor(x_held)[:, None], torch.tensor(y_held)[:, None]
epochs = 1500 if SMALL else 4000
mlp_train, mlp_held = [], []
for _ in range(epochs):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(mlp(train_x), train_y)
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        mlp_train.append(loss.item())
        mlp_held.append(torch.nn.functional.mse_loss(mlp(held_x), held_y).item())
stop = int(np.argmin(mlp_held))
print(f"MLP: held-out error lowest at epoch {stop} ({mlp_held[stop]:.4f}); at the end "
      f"training {mlp_train[-1]:.4f}, held-out {mlp_held[-1]:.4f}")
assert mlp_train[-1] < mlp_train[stop], "training error keeps falling"
assert mlp_held[-1] > 1.5 * mlp_held[stop], "held-out error rises again: overfitting"

figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
axes[0].plot(degrees, train_error, marker="o", label="training")
axes[0].plot(degrees, held_error, marker="s", label="held out")
axes[0].set_yscale("log")
axes[0].set_xlabel("polynomial degree")
axes[0].set_ylabel("mean squared error")
axes[0].set_title("capacity: under- then overfitting")
axes[0].legend()
dense = np.linspace(-1, 1, 300)
axes[1].plot(dense, curve(dense), "k--", label="true curve")
for degree in (1, best_degree, degrees[-1]):
    axes[1].plot(dense, np.clip(fits[degree](dense), -2, 2), label=f"degree {degree}")
axes[1].scatter(x_train, y_train, c="k", s=15, label="training")
axes[1].scatter(x_held, y_held, c="r", marker="x", label="held out")
axes[1].set_ylim(-2, 2)
axes[1].legend(fontsize=7)
axes[1].set_title("three fits")
axes[2].plot(mlp_train, label="training")
axes[2].plot(mlp_held, label="held out")
axes[2].axvline(stop, color="grey", linestyle=":", label="early stop")
axes[2].set_yscale("log")
axes[2].set_xlabel("epoch")
axes[2].set_title("a wide MLP trained too long")
axes[2].legend()
figure.tight_layout()
save_figure(figure, "01_fitting.png")

# %% [markdown]
# That is the whole toolkit of the later chapters: units, non-linearities, losses whose
# gradients are `prediction - target`, the chain rule, and held-out data to tell learning from
# memorising. Tutorial 2 builds the layers a board game needs: convolutions, batch
# normalisation, residual blocks and squeeze-and-excitation.

# %%
print(f"figures in {OUT}; tutorial ran in {time.perf_counter() - BEGAN:.1f} s")

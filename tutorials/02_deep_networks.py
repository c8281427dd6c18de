# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 2: the layers of a board-game network
#
# AlphaZero's network is a stack of four kinds of layer: convolutions that look at each square's
# neighbourhood, batch normalisation that keeps every channel's scale in check, residual blocks
# that let a deep stack train, and (in Leela Chess Zero) squeeze-and-excitation that lets a block
# react to the whole board at once. Each is computed here by hand in numpy on a small example and
# checked, number for number, against the layers of `minizero.nn` that every later chapter uses.
#
# Run it as a script (`python tutorials/02_deep_networks.py`) or as a notebook through jupytext;
# `MINIZERO_TUTORIAL_SMALL=1` is the quick version the test suite runs. Figures go to
# `runs/tutorials/` (or `MINIZERO_TUTORIAL_OUT`).

# %%
import os
import time

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt
import numpy as np
import torch

from hexapawn.game import Hexapawn
from minizero.nn import NetworkConfig, PolicyValueNet, ResidualBlock, SqueezeExcitation
from minizero.tutorial import output_dir, save_figure, small_mode

SMALL = small_mode()
OUT = output_dir()
BEGAN = time.perf_counter()
torch.manual_seed(0)
torch.set_num_threads(1)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A board as planes, and a convolution by hand
#
# A Hexapawn position enters the network as two planes of shape (H, W): the mover's pawns and
# the opponent's, seen from the mover's side (row 0 is the mover's home row). A 3x3 convolution
# with padding 1 computes, for every square, a weighted sum over its 3x3 neighbourhood and all
# input planes: `out[o, r, c] = bias[o] + sum_{i, dr, dc} w[o, i, dr, dc] * x[i, r+dr-1, c+dc-1]`
# (squares off the board count as 0). Torch's `Conv2d` computes exactly this (a
# cross-correlation: the kernel is not flipped).

# %%
def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """(B, I, H, W) x (O, I, 3, 3) -> (B, O, H, W), padding 1, stride 1, written as loops."""
    batch, _, height, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((batch, weight.shape[0], height, width), dtype=np.float64)
    for row in range(height):
        for col in range(width):
            window = padded[:, :, row:row + 3, col:col + 3]  # (B, I, 3, 3)
            out[:, :, row, col] = np.einsum("bikl,oikl->bo", window, weight)
    return out if bias is None else out + bias[None, :, None, None]


game = Hexapawn(4, 4)
position = game.parse("p1pp/1P2/2P1/P2P w")
print(game.render(position))
planes = game.encode(position)[None].astype(np.float64)  # (1, 2, 4, 4)

# %% [markdown]
# A kernel we can read: a pawn attacks the two squares diagonally in front of it, so "is this
# square attacked by one of my pawns?" looks one row back, one column to each side. On the
# mover's plane that is the kernel below (row 0 of the kernel is the row behind the square).
# Multiplied by the opponent's plane it marks every capture the mover can make, which the rules
# of the game confirm.

# %%
attack_kernel = np.zeros((1, 2, 3, 3))
attack_kernel[0, 0] = [[1, 0, 1], [0, 0, 0], [0, 0, 0]]
attacked = conv2d(planes, attack_kernel)[0, 0]  # (H, W): how many of my pawns attack it
capturable = (attacked > 0) & (planes[0, 1] == 1)
captures_by_rule = set()
for action in game.legal_actions(position):
    relative_from, direction = divmod(action, 3)
    if direction != 1:  # 0 and 2 are the diagonal captures
        row, col = divmod(relative_from, game.width)
        captures_by_rule.add((row + 1, col + direction - 1))
captures_by_kernel = {(int(r), int(c)) for r, c in zip(*np.nonzero(capturable))}
print("capture targets, by the kernel:", sorted(captures_by_kernel),
      " by the rules:", sorted(captures_by_rule))
assert captures_by_kernel == captures_by_rule

# %% [markdown]
# A network learns its kernels instead. The stem of `PolicyValueNet` is such a convolution;
# our loop must give exactly its output on a batch of random positions.

# %%
network = PolicyValueNet(NetworkConfig(game.input_shape, game.action_size, blocks=2,
                                       channels=8)).double()
stem_conv = network.stem[0]
positions = [game.initial_state()]
while len(positions) < 16:
    state = positions[-1]
    actions = game.legal_actions(state)
    state = game.apply(state, int(rng.choice(actions))) if actions else game.initial_state()
    positions.append(state if game.legal_actions(state) else game.initial_state())
batch = np.stack([game.encode(p) for p in positions]).astype(np.float64)  # (16, 2, 4, 4)
ours = conv2d(batch, stem_conv.weight.detach().numpy())
theirs = stem_conv(torch.from_numpy(batch)).detach().numpy()
conv_gap = np.abs(ours - theirs).max()
print(f"stem convolution: largest |numpy - torch| = {conv_gap:.1e} over {ours.size} outputs")
assert conv_gap < 1e-12

figure, axes = plt.subplots(1, 4, figsize=(11, 3))
for axis, image, title in zip(
        axes, (planes[0, 0], planes[0, 1], attacked, capturable.astype(float)),
        ("my pawns", "their pawns", "attack kernel output", "captures")):
    axis.imshow(image, origin="lower", cmap="viridis", vmin=0, vmax=max(1, image.max()))
    axis.set_title(title)
    axis.set_xticks(range(game.width), list("abcd"))
    axis.set_yticks(range(game.height), [str(r + 1) for r in range(game.height)])
figure.suptitle("A hand-made 3x3 kernel finds every capture (rows from the mover's side)")
figure.tight_layout()
save_figure(figure, "02_convolution.png")

# %% [markdown]
# Each 3x3 layer widens what a square "sees" by one square in every direction: after k layers,
# a (2k+1) x (2k+1) window. That is why board networks are deep: on 8x8, four layers are needed
# before a corner can influence the opposite corner, and AlphaZero used 39 convolutions.
#
# ## 2. Batch normalisation
#
# During training a `BatchNorm2d` layer normalises each channel over the batch and the board
# (mean 0, variance 1, with the biased variance), then applies a learned scale `gamma` and shift
# `beta`. It also keeps running averages (momentum 0.1; the running variance uses the unbiased
# estimate) that replace the batch statistics at inference, when a batch may hold one position.

# %%
block = ResidualBlock(8, se=True).double()
with torch.no_grad():
    for norm in (block.bn1, block.bn2):  # non-trivial scale and shift, so the check means more
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
features = 2.0 + 3.0 * rng.normal(size=(16, 8, 4, 4))  # (B, C, H, W), badly scaled on purpose


def batch_norm_train(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                     eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised output and the batch mean and unbiased variance that update the averages."""
    mean = x.mean(axis=(0, 2, 3))  # (C,)
    variance = x.var(axis=(0, 2, 3))  # biased, as in the forward pass
    normalised = (x - mean[None, :, None, None]) / np.sqrt(variance[None, :, None, None] + eps)
    count = x.size / x.shape[1]
    return (gamma[None, :, None, None] * normalised + beta[None, :, None, None], mean,
            variance * count / (count - 1))


norm = block.bn1
gamma, beta = norm.weight.detach().numpy(), norm.bias.detach().numpy()
running_mean = norm.running_mean.numpy().copy()
running_var = norm.running_var.numpy().copy()
ours, batch_mean, batch_var = batch_norm_train(features, gamma, beta)
norm.train()
theirs = norm(torch.from_numpy(features)).detach().numpy()
expected_mean = 0.9 * running_mean + 0.1 * batch_mean
expected_var = 0.9 * running_var + 0.1 * batch_var
bn_gap = max(np.abs(ours - theirs).max(), np.abs(expected_mean - norm.running_mean.numpy()).max(),
             np.abs(expected_var - norm.running_var.numpy()).max())
norm.eval()
inference = norm(torch.from_numpy(features)).detach().numpy()
ours_inference = (gamma[None, :, None, None] * (features - expected_mean[None, :, None, None])
                  / np.sqrt(expected_var[None, :, None, None] + norm.eps)
                  + beta[None, :, None, None])
bn_gap = max(bn_gap, np.abs(ours_inference - inference).max())
print(f"batch norm (training output, running averages, inference output): "
      f"largest gap {bn_gap:.1e}")
assert bn_gap < 1e-12
normalised_only = (ours - beta[None, :, None, None]) / gamma[None, :, None, None]
print("per-channel mean before", np.round(features.mean(axis=(0, 2, 3))[:3], 2),
      "after", np.round(normalised_only.mean(axis=(0, 2, 3))[:3], 6))
assert np.allclose(normalised_only.mean(axis=(0, 2, 3)), 0, atol=1e-12)
assert np.allclose(normalised_only.var(axis=(0, 2, 3)), 1, atol=1e-4)

figure, axis = plt.subplots(figsize=(6, 3.2))
axis.hist(features[:, 0].ravel(), bins=30, alpha=0.6, label="channel 0 before")
axis.hist(normalised_only[:, 0].ravel(), bins=30, alpha=0.6, label="after normalising")
axis.set_xlabel("activation")
axis.legend()
axis.set_title("Batch norm re-centres and rescales every channel")
figure.tight_layout()
save_figure(figure, "02_batchnorm.png")

# %% [markdown]
# ## 3. Squeeze-and-excitation, with scale and bias
#
# A convolution only sees a neighbourhood. Squeeze-and-excitation (Hu et al., 2018) pools each
# channel over the whole board to one number (squeeze), sends that vector through a small
# two-layer network (excitation), and uses the result per channel. Leela Chess Zero's variant,
# the one in `minizero.nn`, produces two numbers per channel: a scale `sigmoid(gamma)` and a
# bias `beta`, so the output is `sigmoid(gamma) * x + beta`.

# %%
se = SqueezeExcitation(8, reduction=4).double()


def squeeze_excitation(x: np.ndarray, layer: SqueezeExcitation) -> np.ndarray:
    squeeze_w = layer.squeeze.weight.detach().numpy()  # (C/r, C)
    squeeze_b = layer.squeeze.bias.detach().numpy()
    excite_w = layer.excite.weight.detach().numpy()  # (2C, C/r)
    excite_b = layer.excite.bias.detach().numpy()
    pooled = x.mean(axis=(2, 3))  # (B, C): one number per channel
    hidden = np.maximum(pooled @ squeeze_w.T + squeeze_b, 0)  # (B, C/r)
    excitation = hidden @ excite_w.T + excite_b  # (B, 2C)
    channels = x.shape[1]
    scale = 1 / (1 + np.exp(-excitation[:, :channels]))  # sigmoid(gamma)
    shift = excitation[:, channels:]  # beta
    return scale[:, :, None, None] * x + shift[:, :, None, None]


se_gap = np.abs(squeeze_excitation(features, se)
                - se(torch.from_numpy(features)).detach().numpy()).max()
print(f"squeeze-and-excitation: largest |numpy - torch| = {se_gap:.1e}")
assert se_gap < 1e-12

# %% [markdown]
# ## 4. The residual block
#
# `ResidualBlock` chains them: conv, batch norm, ReLU, conv, batch norm, squeeze-and-excitation,
# then adds the block's input back before the last ReLU (He et al., 2016). Written by hand from
# the pieces above, in inference mode (running averages) as a search uses it:

# %%
def residual_block(x: np.ndarray, layer: ResidualBlock) -> np.ndarray:
    def norm_eval(y: np.ndarray, bn: torch.nn.BatchNorm2d) -> np.ndarray:
        mean, var = bn.running_mean.numpy(), bn.running_var.numpy()
        weight, bias = bn.weight.detach().numpy(), bn.bias.detach().numpy()
        return ((y - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + bn.eps)
                * weight[None, :, None, None] + bias[None, :, None, None])

    out = np.maximum(norm_eval(conv2d(x, layer.conv1.weight.detach().numpy()), layer.bn1), 0)
    out = norm_eval(conv2d(out, layer.conv2.weight.detach().numpy()), layer.bn2)
    out = squeeze_excitation(out, layer.se)
    return np.maximum(out + x, 0)  # the skip connection


block.train()
with torch.no_grad():
    for _ in range(5):  # a few training batches give the running averages real values
        block(torch.from_numpy(2.0 + rng.normal(size=(16, 8, 4, 4))))
block.eval()
block_gap = np.abs(residual_block(features, block)
                   - block(torch.from_numpy(features)).detach().numpy()).max()
print(f"residual block: largest |numpy - torch| = {block_gap:.1e}")
assert block_gap < 1e-10

# %% [markdown]
# Why the skip connection? Backpropagation multiplies one factor per layer on the way down. In a
# plain stack those factors compound, so the gradient that reaches the first layers can be far
# larger or smaller than at the top. In a residual stack each block adds to an identity path,
# so the gradient has a direct route to every layer. Measured on freshly initialised towers of
# the same depth (the gradient of a simple loss with respect to each layer's input):

# %%
depth = 12 if SMALL else 24
channels = 16


class PlainLayer(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn = torch.nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


def input_gradients(layers: list[torch.nn.Module]) -> list[float]:
    activations = [torch.randn(32, channels, 8, 8, requires_grad=True)]
    for layer in layers:
        out = layer(activations[-1])
        out.retain_grad()
        activations.append(out)
    activations[-1].pow(2).mean().backward()
    return [float(a.grad.norm()) for a in activations[:-1]]


torch.manual_seed(1)
plain_norms = input_gradients([PlainLayer() for _ in range(2 * depth)])
torch.manual_seed(1)
residual_norms = input_gradients([ResidualBlock(channels, se=False) for _ in range(depth)])
plain_spread = max(plain_norms) / min(plain_norms)
residual_spread = max(residual_norms) / min(residual_norms)
print(f"{2 * depth} plain conv layers: gradient norms span a factor {plain_spread:,.0f}")
print(f"{depth} residual blocks ({2 * depth} conv layers): a factor {residual_spread:,.1f}")
assert residual_spread < plain_spread

figure, axis = plt.subplots(figsize=(6, 3.5))
axis.plot(range(len(plain_norms)), plain_norms, marker=".", label="plain conv-BN-ReLU")
axis.plot(range(0, 2 * depth, 2), residual_norms, marker="o", label="residual blocks")
axis.set_yscale("log")
axis.set_xlabel("convolution layer (input side = 0)")
axis.set_ylabel("gradient norm at the layer's input")
axis.set_title("Skip connections keep gradients even across depth")
axis.legend()
figure.tight_layout()
save_figure(figure, "02_gradients.png")

# %% [markdown]
# ## 5. The whole network, counted by hand
#
# `PolicyValueNet` is a stem convolution, the tower of residual blocks and two heads (see
# tutorial 5 for what they predict). Counting its parameters from the configuration is a good
# test of having understood every layer: convolutions have no bias (batch norm follows), each
# batch norm has a scale and a shift, squeeze-and-excitation has two linear layers.

# %%
config = network.config
planes_in, height, width = config.input_shape
squares = height * width
c, hidden = config.channels, max(1, config.channels // config.se_reduction)
stem = planes_in * c * 9 + 2 * c
per_block = 2 * (c * c * 9 + 2 * c) + (c * hidden + hidden) + (hidden * 2 * c + 2 * c)
policy = c * config.policy_channels + 2 * config.policy_channels + (
    config.policy_channels * squares * config.action_size + config.action_size)
value = c * config.value_channels + 2 * config.value_channels + (
    config.value_channels * squares * config.value_hidden + config.value_hidden) + (
    config.value_hidden + 1)
by_hand = stem + config.blocks * per_block + policy + value
by_torch = sum(p.numel() for p in network.parameters())
print(f"stem {stem}, {config.blocks} blocks x {per_block}, policy head {policy}, "
      f"value head {value}: {by_hand:,} by hand, {by_torch:,} by torch")
assert by_hand == by_torch

# %%
print(f"figures in {OUT}; tutorial ran in {time.perf_counter() - BEGAN:.1f} s")

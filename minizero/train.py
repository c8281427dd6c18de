"""The one trainer: supervised and self-play runs both fit a network to (planes, policy, value).

Loss = policy cross-entropy against the target distribution + value loss + L2 weight decay
(AlphaZero's l = (z - v)^2 - pi^T log p + c ||theta||^2). Where the samples come with each
position's legal-move mask (chess does), the policy's softmax runs over the legal moves only,
as in play: no capacity is spent pushing down the logits of moves that cannot be played.
The value loss is the squared error of the tanh head, or the cross-entropy of the win/draw/loss
head against (max(z, 0), 1 - |z|, max(-z, 0)). Minibatches are drawn with a generator seeded by
(seed, step), so a run resumed from its last checkpoint draws exactly the batches it would have
drawn.

Run it: ``minizero train --game hexapawn:3x3 --out runs/sup`` (supervised from the solver) or as
part of ``minizero selfplay``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as functional

from minizero.nn.network import PolicyValueNet, flush_denormal_weights
from minizero.replay import Samples

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine")
PRECISIONS = ("float32", "bfloat16")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of `Trainer`.

    batch_size: samples per step.
    learning_rate: peak learning rate.
    optimizer: "adam", "adamw", or "sgd" with ``momentum``.
    weight_decay: L2 coefficient c, added to the gradient ("adam", "sgd"); for "adamw" the
        decoupled decay: each step multiplies every weight by 1 - learning_rate * c.
        Adam divides each weight's gradient by its running size, so with "adam" a weight whose
        loss gradient is near zero follows the L2 term alone and shrinks by about the learning
        rate every step, whatever c is: residual blocks appended by ``--add-blocks`` start with
        a zero branch, so no loss gradient, and most of their weights reached exactly zero
        (README, "AlphaZero chess"). "adamw" decays them only by the factor above.
    schedule: "constant", or "cosine" decay to 5% over ``total_steps``.
    precision: "float32", or "bfloat16": the forward and backward passes' convolutions and
        matrix products run in bfloat16 (torch autocast) on channels-last activations, while
        the weights, the optimizer's state and the loss stay float32. About twice the steps a
        second on a CPU with AMX, an eighth on one without bfloat16 instructions, where it is
        emulated (README); float32 is the default everything is tested on.
    """

    batch_size: int = 64
    learning_rate: float = 2e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "constant"
    total_steps: int = 0
    precision: str = "float32"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if not 0 < self.learning_rate < math.inf:
            raise ValueError(f"learning_rate must be a positive finite number, "
                             f"got {self.learning_rate}")
        if not 0 <= self.weight_decay < math.inf:
            raise ValueError(f"weight_decay must be finite and >= 0, got {self.weight_decay}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.schedule == "cosine" and self.total_steps < 1:
            raise ValueError("the cosine schedule needs total_steps")


class Trainer:
    """Holds a network and its optimizer; `train_steps` runs minibatch updates."""

    def __init__(self, network: PolicyValueNet, config: TrainConfig, seed: int = 0) -> None:
        self.network = network
        self.config = config
        self.seed = seed
        self.step = 0
        torch.set_flush_denormal(True)  # this thread's arithmetic (see flush_denormal_weights)
        if config.precision == "bfloat16":  # the layout bfloat16 convolutions run fastest in
            network.to(memory_format=torch.channels_last)
        parameters = network.parameters()
        if config.optimizer in ("adam", "adamw"):
            adam = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
            self.optimizer: torch.optim.Optimizer = adam(
                parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(
                parameters, lr=config.learning_rate, momentum=config.momentum,
                weight_decay=config.weight_decay)

    def learning_rate(self, step: int) -> float:
        config = self.config
        if config.schedule == "cosine":
            progress = min(step / config.total_steps, 1.0)
            return config.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))
        return config.learning_rate

    def loss(self, planes: torch.Tensor, policy: torch.Tensor, value: torch.Tensor,
             legal: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss and its parts; ``legal`` (B, A) bool restricts the policy's softmax."""
        reduced = self.config.precision == "bfloat16"
        if reduced:
            planes = planes.contiguous(memory_format=torch.channels_last)
        with torch.autocast(planes.device.type, dtype=torch.bfloat16, enabled=reduced):
            logits, value_output = self.network(planes)  # (B, A), (B,) or (B, 3)
        logits, value_output = logits.float(), value_output.float()
        if legal is not None:  # finite, so that a zero target times the masked log-prob is 0
            logits = logits.masked_fill(~legal, -1e9)
        policy_loss = -(policy * functional.log_softmax(logits, dim=1)).sum(dim=1).mean()
        if value_output.dim() == 1:
            value_loss = functional.mse_loss(value_output, value)
        else:
            target = torch.stack([value.clamp(min=0), 1 - value.abs(), (-value).clamp(min=0)], 1)
            value_loss = -(target * functional.log_softmax(value_output, dim=1)).sum(1).mean()
        total = policy_loss + value_loss
        return total, {"loss": total.item(), "policy_loss": policy_loss.item(),
                       "value_loss": value_loss.item()}

    def train_steps(self, samples: Samples, steps: int) -> dict[str, float]:
        """Run ``steps`` minibatch updates on ``samples`` (anything with ``len`` and
        ``batch(indices)``, see `Samples.batch`, optionally returning a fourth tensor, the
        legal-move mask) on the network's device; mean losses."""
        if len(samples) == 0:
            raise ValueError("no samples to train on")
        self.network.train()
        device = next(self.network.parameters()).device
        totals: dict[str, float] = {}
        for _ in range(steps):
            rng = np.random.default_rng([self.seed, self.step])
            batch = rng.integers(0, len(samples), self.config.batch_size)
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate(self.step)
            loss, parts = self.loss(*(tensor.to(device) for tensor in samples.batch(batch)))
            if not math.isfinite(parts["loss"]):
                raise ValueError(f"training diverged at step {self.step} (loss {parts['loss']}); "
                                 "lower the learning rate or check the data")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            flush_denormal_weights(self.network)
            self.step += 1
            for name, amount in parts.items():
                totals[name] = totals.get(name, 0.0) + amount / steps
        if not all(bool(torch.isfinite(p).all()) for p in self.network.parameters()):
            raise ValueError(f"training diverged before step {self.step} (weights are not "
                             "finite); lower the learning rate or check the data")
        return totals

    def state(self) -> dict[str, Any]:
        """What a checkpoint needs to resume: weights, optimizer state, step."""
        return {"model": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
                "step": self.step}

    def restore(self, parts: dict[str, Any]) -> None:
        self.network.load_state_dict(parts["model"])
        self.optimizer.load_state_dict(parts["optimizer"])
        self.step = int(parts["step"])

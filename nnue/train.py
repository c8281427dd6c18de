"""Training an NNUE on Stockfish-labelled positions: regression in win-probability space.

Idea: the network should predict the teacher's verdict. We compare predictions and labels as
expected scores, sigmoid(cp / 410), not as raw centipawns, so that +800 vs +1200 (both won) costs
little and 0 vs +300 costs a lot; the target blends the teacher's score with the game's result by
``lambda_`` (``nnue.model.loss_function``). Adam with a cosine learning-rate decay; weights are
clipped after every step to what the integer format holds; whole games are held out for
validation (``nnue.data.validation_mask``).

A run directory holds ``config.json``, ``checkpoint.pt`` (weights, optimizer, position in the
epoch: ``torch.save`` of tensors and plain values, read back with ``weights_only=True``),
``metrics.jsonl`` (one line per epoch) and ``loss.png``. ``--resume`` continues from the last
checkpoint after any interruption: the shuffle of each epoch is a function of (seed, epoch), so a
resumed run replays exactly the batches it had not yet done.

Reference: nnue-pytorch ``train.py``/``model.py`` (loss in WDL space, lambda); Kingma & Ba, Adam
(2015). Command: ``nnue train --data data/sf --out runs/nnue --epochs 10``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from minizero.atomic import atomic_write
from minizero.checkpoint import load_checkpoint as read_checkpoint
from minizero.checkpoint import save_checkpoint as write_checkpoint
from minizero.rundir import append_metrics, open_run, read_metrics
from nnue.data import Positions, load_positions, validation_mask
from nnue.features import batch_features
from nnue.model import NnueConfig, NnueModel, loss_function, r_squared, win_probability


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (stored in the run's config.json)."""

    epochs: int = 10
    batch_size: int = 4096
    learning_rate: float = 2e-3  # Adam's step size at the start of the cosine schedule
    final_learning_rate_fraction: float = 0.05  # the schedule ends at 5% of learning_rate
    lambda_: float = 0.9  # target = 0.9 x teacher win probability + 0.1 x game result
    validation_fraction: float = 0.05  # share of games held out
    checkpoint_every: int = 200  # steps between checkpoints inside an epoch
    seed: int = 0
    init_net: str = ""  # a .nnue to start from: same shape, or piece-square into king-buckets

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0 < self.learning_rate < math.inf:
            raise ValueError(f"learning_rate must be a positive finite number, "
                             f"got {self.learning_rate}")
        for name in ("final_learning_rate_fraction", "lambda_"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1), "
                             f"got {self.validation_fraction}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")


def learning_rate_at(config: TrainConfig, step: int, total_steps: int) -> float:
    """Cosine decay from ``learning_rate`` to ``final_learning_rate_fraction`` of it."""
    progress = min(1.0, step / max(1, total_steps))
    floor = config.final_learning_rate_fraction
    return config.learning_rate * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def save_checkpoint(path: Path, model: NnueModel, optimizer: torch.optim.Optimizer | None,
                    state: dict[str, Any]) -> None:
    """Atomically write weights (+ optimizer and loop state) and the model config, in the
    package's weights-only checkpoint format (minizero.checkpoint)."""
    parts: dict[str, Any] = {"model": model.state_dict(), "state": state}
    if optimizer is not None:
        parts["optimizer"] = optimizer.state_dict()
    write_checkpoint(path, config={"nnue_model": dataclasses.asdict(model.config)}, **parts)


def load_checkpoint(path: Path) -> tuple[NnueModel, dict[str, Any]]:
    """(model, parts) of a checkpoint; a corrupt or foreign file -> one-line ValueError."""
    config, parts = read_checkpoint(path)
    if "nnue_model" not in config:
        raise ValueError(f"{path}: not a minizero NNUE checkpoint")
    try:
        model = NnueModel(NnueConfig(**config["nnue_model"]))
        model.load_state_dict(parts["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{path}: damaged checkpoint ({type(error).__name__})") from None
    return model, parts


def initialize_from(model: NnueModel, path: Path) -> None:
    """Start ``model`` from the integer net at ``path`` (its weights divided by the scales).

    The same feature set and sizes: every weight is copied. A piece-square net into a
    king-buckets model of the same sizes: the piece-square rows become the factor shared by all
    buckets and the buckets start at zero, so training starts from exactly the piece-square
    net's function and learns what the king's whereabouts add.
    """
    from nnue.model import dequantize
    from nnue.quantize import load_net

    net = load_net(path)
    source = dequantize(net)
    config = model.config
    if (net.l1, net.l2, net.l3) != (config.l1, config.l2, config.l3):
        raise ValueError(f"{path}: sizes {net.l1}-{net.l2}-{net.l3} differ from the model's "
                         f"{config.l1}-{config.l2}-{config.l3}")
    state = source.state_dict()
    if net.feature_set != config.feature_set:
        if not (net.feature_set == "piece-square" and model.factor is not None):
            raise ValueError(f"{path}: cannot start a {config.feature_set} model from a "
                             f"{net.feature_set} net")
        state["factor"] = state["feature_transformer.weight"][:-1].clone()
        state["feature_transformer.weight"] = torch.zeros_like(model.feature_transformer.weight)
    elif model.factor is not None:
        state["factor"] = torch.zeros_like(model.factor)
    model.load_state_dict(state)
    model.clip_weights()


def tensors(positions: Positions, model: NnueModel) -> tuple[torch.Tensor, ...]:
    """The model's inputs and the labels of a batch of positions."""
    stm, nstm = batch_features(positions.pieces, positions.side_to_move, model.features)
    return (torch.from_numpy(stm), torch.from_numpy(nstm),
            torch.from_numpy(positions.score.astype(np.float32)),
            torch.from_numpy(positions.result.astype(np.float32)))


@torch.no_grad()
def validate(model: NnueModel, positions: Positions, lambda_: float) -> dict[str, float]:
    """Loss, and R² / mean absolute error against the teacher in win-probability space."""
    if len(positions) == 0:
        return {}
    predicted_cp = model.evaluate_cp(positions.pieces, positions.side_to_move)
    teacher = win_probability(positions.score.astype(np.float64))
    predicted = win_probability(predicted_cp)
    target = lambda_ * teacher + (1 - lambda_) * (positions.result + 1.0) / 2.0
    return {
        "validation_loss": float(np.mean((predicted - target) ** 2)),
        # R² is undefined (None in the metrics) when every teacher score is the same
        "validation_r2_wdl": r2 if math.isfinite(r2 := r_squared(predicted, teacher)) else None,
        "validation_mae_wdl": float(np.mean(np.abs(predicted - teacher))),
    }


def plot_losses(metrics_path: Path, png_path: Path) -> None:
    """Training and validation loss per epoch as a PNG (skipped without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = read_metrics(metrics_path)
    if not rows:
        return
    figure, axis = plt.subplots(figsize=(6, 4))
    epochs = [row["epoch"] for row in rows]
    axis.plot(epochs, [row["train_loss"] for row in rows], marker="o", label="train")
    if "validation_loss" in rows[0]:
        axis.plot(epochs, [row["validation_loss"] for row in rows], marker="o", label="validation")
    axis.set_xlabel("epoch")
    axis.set_ylabel("MSE in win-probability space")
    axis.set_yscale("log")
    axis.legend()
    axis.set_title("NNUE training")
    figure.tight_layout()
    with atomic_write(png_path) as handle:
        figure.savefig(handle, format="png", dpi=100)
    plt.close(figure)


def train(data: list[Path], out: Path, model_config: NnueConfig = NnueConfig(),  # noqa: B008
          config: TrainConfig = TrainConfig(),  # noqa: B008
          resume: bool = False, quiet: bool = False,
          positions: Positions | None = None, stop_after_steps: int | None = None
          ) -> dict[str, Any]:
    """Train into run directory ``out``; returns the last epoch's metrics.

    ``positions`` may be given directly instead of reading ``data`` (tests, tutorials).
    ``stop_after_steps`` ends this call after that many steps with a checkpoint written, as an
    interruption would (``--resume`` continues).
    """
    from tqdm import tqdm

    out = Path(out)
    run_config = {"model": dataclasses.asdict(model_config), "train": dataclasses.asdict(config),
                  "data": [str(path) for path in data]}
    checkpoint_path = out / "checkpoint.pt"
    metrics_path = out / "metrics.jsonl"
    model_config.validate()
    # The data is read and checked before the run directory is made, so that bad data leaves
    # nothing behind that a corrected retry would have to --resume.
    if positions is None:
        positions = load_positions(data)
    held_out = validation_mask(positions.game_id, config.validation_fraction)
    training, validation = positions.subset(~held_out), positions.subset(held_out)
    if len(training) == 0:
        raise ValueError("no training positions")
    resumed = open_run(out, run_config, resume, "nnue-train")

    torch.manual_seed(config.seed)
    model = NnueModel(model_config)
    if config.init_net:
        initialize_from(model, Path(config.init_net))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "loss_sum": 0.0, "loss_count": 0,
             "seconds": 0.0}
    if resumed and checkpoint_path.exists():
        model, payload = load_checkpoint(checkpoint_path)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        optimizer.load_state_dict(payload["optimizer"])
        state = dict(payload["state"])

    steps_per_epoch = math.ceil(len(training) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    metrics: dict[str, Any] = {}
    first_step = state["global_step"]
    while state["epoch"] < config.epochs:
        epoch = state["epoch"]
        order = np.random.default_rng([config.seed, epoch]).permutation(len(training))
        bar = tqdm(total=steps_per_epoch, initial=state["step_in_epoch"],
                   disable=True if quiet else None,
                   desc=f"epoch {epoch + 1}/{config.epochs}", unit="step", leave=False)
        started = time.perf_counter()
        model.train()
        for step in range(state["step_in_epoch"], steps_per_epoch):
            batch = training.subset(order[step * config.batch_size:(step + 1) * config.batch_size])
            stm, nstm, score, result = tensors(batch, model)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate_at(config, state["global_step"], total_steps)
            loss = loss_function(model(stm, nstm), score, result, config.lambda_)
            if not math.isfinite(loss.item()):
                raise ValueError(f"training diverged at step {state['global_step']} (loss "
                                 f"{loss.item()}); lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            model.clip_weights()
            state.update(step_in_epoch=step + 1, global_step=state["global_step"] + 1,
                         loss_sum=state["loss_sum"] + loss.item() * len(batch),
                         loss_count=state["loss_count"] + len(batch))
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.5f}")
            steps_done_here = state["global_step"] - first_step
            interrupted = stop_after_steps is not None and steps_done_here >= stop_after_steps
            if interrupted or ((step + 1) % config.checkpoint_every == 0
                               and step + 1 < steps_per_epoch):
                state["seconds"] += time.perf_counter() - started
                started = time.perf_counter()
                save_checkpoint(checkpoint_path, model, optimizer, state)
            if interrupted:
                bar.close()
                return {"epoch": epoch, "global_step": state["global_step"], "stopped": True}
        bar.close()
        state["seconds"] += time.perf_counter() - started
        metrics = {
            "epoch": epoch, "global_step": state["global_step"],
            "train_loss": state["loss_sum"] / max(1, state["loss_count"]),
            "learning_rate": optimizer.param_groups[0]["lr"],
            "train_positions_per_second": state["loss_count"] / max(state["seconds"], 1e-9),
            **validate(model, validation, config.lambda_),
        }
        # The metrics line before the checkpoint: killed in between, the resumed run redoes
        # the epoch's last steps and finds its line already written (append_metrics skips it).
        append_metrics(metrics_path, metrics, key="epoch")
        state = {"epoch": epoch + 1, "step_in_epoch": 0, "global_step": state["global_step"],
                 "loss_sum": 0.0, "loss_count": 0, "seconds": 0.0}
        save_checkpoint(checkpoint_path, model, optimizer, state)
        plot_losses(metrics_path, out / "loss.png")
        if not quiet:
            shown = {key: round(value, 5) if isinstance(value, float) else value
                     for key, value in metrics.items()}
            tqdm.write(json.dumps(shown), file=sys.stderr)
    return metrics

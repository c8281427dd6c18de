"""Supervised training in a run directory: epochs over fixed samples, resumable after a crash.

The same `Trainer` as self-play, fed with a fixed data set (for Hexapawn: every position labelled
by the solver). The run directory holds config.json, checkpoints/latest.pt (saved every
``checkpoint_steps`` steps and at each epoch's end), checkpoints/epoch-EEEE.pt and metrics.jsonl.
A resumed run continues at the step it had reached and draws the same minibatches it would have.

Run it: ``hexapawn dataset --size 3x3 --out data.npz`` then
``minizero train --game hexapawn:3x3 --data data.npz --out runs/sup-3x3``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from minizero.checkpoint import load_checkpoint, save_checkpoint
from minizero.nn.network import NetworkConfig, PolicyValueNet
from minizero.replay import Samples
from minizero.rundir import append_metrics, open_run
from minizero.train import TrainConfig, Trainer


class SupervisedRun:
    """A supervised run in a directory (see the module docstring)."""

    def __init__(self, directory: str | Path, game_spec: str, network: NetworkConfig,
                 train: TrainConfig, data: list[str], seed: int = 0, resume: bool = False,
                 progress: bool = True, initial_weights: dict[str, torch.Tensor] | None = None,
                 checkpoint_steps: int = 200, device: torch.device | str = "cpu",
                 init: str | None = None, data_options: dict[str, Any] | None = None) -> None:
        self.directory = Path(directory)
        self.progress = progress
        self.checkpoint_steps = checkpoint_steps
        self.config = {"game": game_spec, "seed": seed, "data": data,
                       "network": dataclasses.asdict(network), "train": dataclasses.asdict(train)}
        if init is not None:  # where the weights started (recorded, not reloaded on resume)
            self.config["init"] = init
        if data_options is not None:  # how the data was read: a resume must read it alike
            self.config["data_options"] = data_options
        torch.manual_seed(seed)
        self.network = PolicyValueNet(network)
        if initial_weights is not None:
            self.network.load_state_dict(initial_weights)
        self.network.to(device)
        self.trainer = Trainer(self.network, train, seed)
        self.elapsed = 0.0
        if open_run(self.directory, self.config, resume, "train") and self.latest_path.exists():
            parts = load_checkpoint(self.latest_path)[1]
            self.trainer.restore(parts)
            self.elapsed = float(parts["elapsed"])

    @property
    def latest_path(self) -> Path:
        return self.directory / "checkpoints" / "latest.pt"

    def _save(self, path: Path, elapsed: float) -> None:
        save_checkpoint(path, config=self.config, **self.trainer.state(), elapsed=elapsed)

    def run(self, samples: Samples | Any, epochs: int, epoch_steps: int | None = None,
            evaluate: Callable[[PolicyValueNet, dict[str, Any]], dict[str, Any]] | None = None,
            stop: Callable[[dict[str, Any]], bool] | None = None,
            time_budget: float | None = None) -> list[dict[str, Any]]:
        """Train up to ``epochs`` epochs in total; an epoch is ``epoch_steps`` steps (default one
        pass over the samples). ``evaluate`` and ``stop`` as in `SelfPlayRun.run`; the time they
        take is not counted in the ``seconds`` of the metrics."""
        batch = self.trainer.config.batch_size
        epoch_steps = epoch_steps or max(1, -(-len(samples) // batch))
        records = []
        while self.trainer.step < epochs * epoch_steps:
            epoch = self.trainer.step // epoch_steps + 1
            target = epoch * epoch_steps
            began = time.perf_counter()
            bar = tqdm(total=target - self.trainer.step, desc=f"epoch {epoch}", unit="step",
                       disable=not self.progress, leave=False)
            losses: dict[str, float] = {}
            while self.trainer.step < target:
                steps = min(self.checkpoint_steps, target - self.trainer.step)
                losses = self.trainer.train_steps(samples, steps)
                bar.update(steps)
                if self.trainer.step < target:
                    self._save(self.latest_path, self.elapsed + time.perf_counter() - began)
            bar.close()
            elapsed = self.elapsed + time.perf_counter() - began
            # Epoch checkpoint, metrics line, then latest.pt: killed before latest.pt is saved,
            # a resumed run redoes the epoch's last steps (the same batches) and finds the
            # epoch's checkpoint and metrics line in place.
            self._save(self.directory / "checkpoints" / f"epoch-{epoch:04d}.pt", elapsed)
            record = {"epoch": epoch, "seconds": round(elapsed, 3),
                      "positions_seen": self.trainer.step * batch, **losses}
            if evaluate is not None:
                record.update(evaluate(self.network, record))
            append_metrics(self.directory / "metrics.jsonl", record)
            self.elapsed = elapsed
            self._save(self.latest_path, self.elapsed)
            records.append(record)
            if stop is not None and stop(record):
                break
            if time_budget is not None and self.elapsed > time_budget:
                break
        return records

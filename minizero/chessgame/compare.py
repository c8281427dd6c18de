"""Supervised vs self-play on chess at an equal wall-clock budget: ``minizero compare``.

Two networks of one shape start from the same freshly initialised weights (one seed). Each arm
then gets the same wall-clock budget, one after the other, each with all the cores:

* **supervised**: the budget is cut into ``checkpoints`` intervals; in each, the first
  ``label_fraction`` of the interval *labels* (Stockfish plays games at ``label_depth`` on every
  core and labels each position with its move and score, chessgame/data.py, time-boxed) and the
  rest *trains* (the one trainer, minizero/train.py) on every position labelled so far. The
  labelling time counts, so the arm pays for its teacher. (Interleaved rather than "label, then
  train", so that every checkpoint has trained on what was labelled before it. `SupervisedRun`
  runs epochs over fixed data; here the data grows and each phase ends on the clock, so the arm
  drives the same `Trainer` and checkpoint module itself.)
* **self-play**: the generic loop (minizero/selfplay.py) with resignation, a no-resign fraction
  and a game-length cap, one small generation at a time; its games and its training count.

Whenever an arm's clock passes a tenth (1 / ``checkpoints``) of the budget, its network is a
*snapshot*, graded on one held-out set that neither arm trains on: Stockfish-labelled positions
of other games (``--held-out DIR`` of chessdata shards, or labelled at the start of the run with
their own seed at ``held_out_depth``; not counted in either budget; positions equal to a held-out
one are dropped from the supervised arm's data). Grading (compare_report.py): top-1 agreement of
the raw policy with Stockfish's move, value error against ``tanh(cp / 400)`` of its score. At the
end the two final nets play each other and the uniformly random mover (PUCT at ``match_nodes``).

Honest clocks across kill -9: each arm keeps ``clock.json`` (seconds spent, and the wall time of
that record). A resumed arm charges, on top, the time from that record to the newest file the
killed session left in the arm's folder (a shard, a checkpoint): the work that survived is paid
for, work that died with the process is neither kept nor charged. Grading time is never charged.

Run layout (``--out RUN``): config.json, held-out/ (unless --held-out), supervised/ (clock.json,
data/, latest.pt, snapshot-KK.pt, snapshots.jsonl), selfplay/ (clock.json, run/ = a self-play
run directory, snapshots.jsonl), grades.jsonl, matches.jsonl, summary.json, summary.md,
learning_curves.png.

Run it: ``minizero compare --game chess --budget 2h --out runs/compare-chess``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from minizero.atomic import TEMPORARY_SUFFIX
from minizero.checkpoint import load_checkpoint, save_checkpoint
from minizero.chessgame import compare_report as report
from minizero.chessgame.data import ChessDataConfig, generate
from minizero.chessgame.game import ChessGame
from minizero.chessgame.training import PackedSamples, is_chess_data, load_chess_data
from minizero.inputs import shown
from minizero.nn.network import NetworkConfig, PolicyValueNet, resolve_device
from minizero.rundir import append_metrics, open_run, read_metrics, write_json
from minizero.search.puct import PUCTConfig
from minizero.selfplay import SelfPlayConfig, SelfPlayRun
from minizero.train import TrainConfig, Trainer

ARMS = ("supervised", "selfplay")
UNITS = {"s": 1, "m": 60, "h": 3600}
SAVE_EVERY = 5.0  # seconds of supervised training between checkpoints (a kill loses less)


def parse_budget(text: str) -> float:
    """``"90s"``, ``"20m"``, ``"2h"``, ``"1.5h"`` -> seconds; ValueError for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smh])\s*", str(text))
    if match is None:
        raise ValueError(f"budget {text!r}: give a number and a unit, e.g. 90s, 20m or 2h")
    seconds = float(match.group(1)) * UNITS[match.group(2)]
    if not 0 < seconds < math.inf:
        raise ValueError(f"budget {shown(text)!r} must be positive and finite")
    return seconds


@dataclass(frozen=True)
class CompareConfig:
    """Settings of `compare` (the same for both arms where they share a meaning).

    budget: wall-clock seconds *per arm*. checkpoints: snapshots per arm (graded, plotted).
    blocks, channels, policy_head: the one network shape both arms train ("fc" or "conv").
    label_depth, label_fraction: Stockfish depth of the supervised arm's labels, and the share
        of each interval it spends labelling. held_out_positions, held_out_depth: the held-out
        set (labelled here unless a directory is given; a given one is cut to this size).
    simulations, games_per_generation, train_steps, max_plies, resign_threshold,
        no_resign_fraction, opening_plies, temperature_moves, dirichlet_alpha: self-play.
    match_games, match_nodes, match_plies: games per pairing (even: each opening twice, colours
        swapped), PUCT simulations a move, and the cap after which a game is a draw.
    """

    budget: float
    checkpoints: int = 10
    blocks: int = 2
    channels: int = 32
    policy_head: str = "fc"
    seed: int = 0
    workers: int = max(1, os.cpu_count() or 1)
    batch_size: int = 128
    learning_rate: float = 2e-3
    label_depth: int = 6
    label_fraction: float = 0.25
    held_out_positions: int = 2000
    held_out_depth: int = 8
    simulations: int = 32
    games_per_generation: int = 8
    train_steps: int = 40
    max_plies: int = 200
    resign_threshold: float = -0.9
    no_resign_fraction: float = 0.2
    opening_plies: int = 4
    temperature_moves: int = 10
    dirichlet_alpha: float = 0.3
    match_games: int = 20
    match_nodes: int = 16
    match_plies: int = 200

    def __post_init__(self) -> None:
        """Every setting checked here, before any directory is made (the arms' own configs
        check the rest: network shape, self-play, PUCT, training)."""
        if not 0 < self.budget < math.inf:
            raise ValueError(f"budget must be positive and finite, got {self.budget}")
        for name in ("checkpoints", "channels", "workers", "batch_size", "label_depth",
                     "held_out_positions", "held_out_depth", "simulations",
                     "games_per_generation", "train_steps", "max_plies", "match_nodes",
                     "match_plies"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"seed must be at least 0, got {self.seed}")
        if self.match_games < 0 or self.match_games % 2:
            raise ValueError(f"match_games must be even (colour-swapped pairs), "
                             f"got {self.match_games}")
        if not 0 < self.label_fraction < 1:
            raise ValueError(f"label_fraction must be in (0, 1), got {self.label_fraction}")


class ArmClock:
    """Wall-clock seconds an arm has spent, kept across sessions (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "clock.json"
        directory.mkdir(parents=True, exist_ok=True)
        stored = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.base = float(stored.get("seconds", 0.0))
        saved_at = stored.get("saved_at")
        if saved_at is not None:  # a killed session: charge it up to its newest artefact
            newest = max((path.stat().st_mtime for path in directory.rglob("*")
                          if path.is_file() and path != self.path
                          and not path.name.endswith(TEMPORARY_SUFFIX)), default=0.0)
            self.base += max(0.0, newest - float(saved_at))
        self.started = time.perf_counter()
        self.paused_seconds = 0.0
        self.save()

    def seconds(self) -> float:
        return self.base + time.perf_counter() - self.started - self.paused_seconds

    def save(self) -> None:
        write_json(self.path, {"seconds": self.seconds(), "saved_at": time.time()})

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside is not charged (grading)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.paused_seconds += time.perf_counter() - began


def network_config(config: CompareConfig, game: ChessGame) -> NetworkConfig:
    return NetworkConfig(game.input_shape, game.action_size, blocks=config.blocks,
                         channels=config.channels, value_head="wdl",
                         policy_head=config.policy_head)


def train_config(config: CompareConfig) -> TrainConfig:
    return TrainConfig(batch_size=config.batch_size, learning_rate=config.learning_rate)


def spread(samples: PackedSamples, count: int) -> PackedSamples:
    """At most ``count`` positions, evenly spaced through the set (so through many games)."""
    if len(samples) <= count:
        return samples
    return samples.subset(np.linspace(0, len(samples) - 1, count).round().astype(np.int64))


class Comparison:
    """One comparison run in a directory: held-out set, both arms, grades, matches, report."""

    def __init__(self, out: str | Path, config: CompareConfig, stockfish: str,
                 held_out: str | Path | None = None, resume: bool = False,
                 game: ChessGame | None = None, progress: bool = True,
                 log: Callable[[str], None] = print, device: str = "cpu") -> None:
        self.out = Path(out)
        # Where both arms train: not part of the run's settings, so a run may resume on another
        # device. Self-play workers, grading and matches use CPU copies of the weights.
        self.device = resolve_device(device)
        self.config = config
        self.stockfish = stockfish
        self.game = game or ChessGame(max_plies=config.max_plies)
        self.progress = progress
        self.log = log
        self.held = None
        if held_out is not None:  # read (and so checked) before the run directory is made
            if not is_chess_data(held_out):
                raise ValueError(f"--held-out {held_out}: no chess shards (az-*.npz) there; "
                                 "make them with `minizero chessdata`")
            self.held = spread(load_chess_data([held_out], self.game.history)[0],
                               config.held_out_positions)
        self.held_out_dir = self.out / "held-out"
        self.network = network_config(config, self.game)
        # Built here so that bad settings stop the run before any labelling.
        self.puct = PUCTConfig(simulations=config.simulations,
                               dirichlet_alpha=config.dirichlet_alpha, add_noise=True,
                               temperature_moves=config.temperature_moves, batch_size=8)
        self.selfplay = SelfPlayConfig(
            games_per_generation=config.games_per_generation, games_per_shard=1,
            replay_window=20, train_steps=config.train_steps, workers=config.workers,
            symmetries=False, opening_plies=config.opening_plies,
            resign_threshold=config.resign_threshold,
            no_resign_fraction=config.no_resign_fraction)
        train_config(config)
        open_run(self.out, {"compare": dataclasses.asdict(config), "game": self.game.name,
                            "held_out": str(held_out) if held_out else None}, resume, "compare")
        torch.manual_seed(config.seed)
        self.initial = PolicyValueNet(self.network).state_dict()

    def game_spec(self) -> str:
        """The ``--game`` text of the self-play arm's run (recorded in its config.json)."""
        return f"chess:max_plies={self.game.max_plies}"

    def checkpoint_config(self) -> dict[str, Any]:
        return {"game": self.game.name, "network": dataclasses.asdict(self.network)}

    # ---------------------------------------------------------------- held-out set

    def load_held_out(self) -> Any:
        config = self.config
        if self.held is not None:
            return self.held
        self.log(f"labelling {config.held_out_positions} held-out positions "
                 f"(depth {config.held_out_depth}, not counted in either budget)")
        generate(ChessDataConfig(positions=config.held_out_positions, depth=config.held_out_depth,
                                 workers=config.workers, history=self.game.history,
                                 shard_size=500, seed=10_000 + config.seed),
                 self.stockfish, self.held_out_dir, quiet=not self.progress)
        return spread(load_chess_data([self.held_out_dir], self.game.history)[0],
                      config.held_out_positions)

    # ---------------------------------------------------------------- the supervised arm

    def run_supervised(self, held_keys: set[str], on_snapshot: Callable[[], None]) -> None:
        config, directory = self.config, self.out / "supervised"
        clock, trainer = self._supervised_trainer()
        data_dir = directory / "data"
        labelling = ChessDataConfig(positions=10**9, depth=config.label_depth,
                                    workers=config.workers, history=self.game.history,
                                    shard_size=200, seed=config.seed)
        interval = config.budget / config.checkpoints
        done = len(read_metrics(directory / "snapshots.jsonl"))
        bar = self._bar("supervised", clock)
        samples, loaded = None, -1
        for snapshot in range(done + 1, config.checkpoints + 1):
            # Until the first shard exists there is nothing to train on: label all interval.
            share = config.label_fraction if any(data_dir.glob("az-*.npz")) else 1.0
            label_until = (snapshot - 1 + share) * interval
            if clock.seconds() < label_until:
                generate(labelling, self.stockfish, data_dir, quiet=True,
                         deadline=time.time() + label_until - clock.seconds())
                clock.save()
            shard_count = len(list(data_dir.glob("az-*.npz")))
            if shard_count and shard_count != loaded:  # what is labelled, minus held-out
                samples, _ = load_chess_data([data_dir], self.game.history)
                samples = samples.subset(report.not_in(samples.fen, held_keys))
                loaded = shard_count
            self._train_to_snapshot(trainer, samples, clock, snapshot, interval, bar,
                                    on_snapshot)
        bar.close()

    def _supervised_trainer(self) -> tuple[ArmClock, Trainer]:
        """The supervised arm's clock and trainer, from the shared initial weights or from
        where a killed run left them."""
        directory = self.out / "supervised"
        torch.manual_seed(self.config.seed)
        network = PolicyValueNet(self.network).to(self.device)
        network.load_state_dict(self.initial)
        trainer = Trainer(network, train_config(self.config), self.config.seed)
        if (directory / "latest.pt").exists():
            trainer.restore(load_checkpoint(directory / "latest.pt")[1])
        return ArmClock(directory), trainer

    def _train_to_snapshot(self, trainer: Trainer, samples: Any, clock: ArmClock,
                           snapshot: int, interval: float, bar: Any,
                           on_snapshot: Callable[[], None]) -> None:
        """The supervised arm's training on ``samples`` (chess or table positions, or None)
        until snapshot ``snapshot``'s time, checkpointed every SAVE_EVERY seconds; then the
        snapshot: its weights, its metrics line, and its grading by ``on_snapshot`` on a
        paused clock."""
        directory = self.out / "supervised"
        latest = directory / "latest.pt"
        saved = time.perf_counter()
        while clock.seconds() < snapshot * interval and samples is not None and len(samples):
            trainer.train_steps(samples, 1)
            if time.perf_counter() - saved > SAVE_EVERY:
                save_checkpoint(latest, config=self.checkpoint_config(), **trainer.state())
                clock.save()
                saved = time.perf_counter()
            bar.update(round(clock.seconds() - bar.n, 1))
        save_checkpoint(latest, config=self.checkpoint_config(), **trainer.state())
        path = directory / f"snapshot-{snapshot:02d}.pt"
        save_checkpoint(path, config=self.checkpoint_config(), model=trainer.network.state_dict())
        append_metrics(directory / "snapshots.jsonl", {
            "snapshot": snapshot, "seconds": round(clock.seconds(), 2),
            "checkpoint": str(path.relative_to(self.out)), "steps": trainer.step,
            "positions": 0 if samples is None else len(samples),
            "load_average": round(os.getloadavg()[0], 2)}, key="snapshot")
        clock.save()
        bar.update(round(clock.seconds() - bar.n, 1))
        with clock.paused():
            on_snapshot()

    # ---------------------------------------------------------------- the self-play arm

    def run_selfplay(self, on_snapshot: Callable[[], None]) -> None:
        config, directory = self.config, self.out / "selfplay"
        clock = ArmClock(directory)
        run_dir = directory / "run"
        run = SelfPlayRun(run_dir, self.game, self.game_spec(),
                          self.network, self.puct, self.selfplay, train_config(config),
                          seed=config.seed,
                          resume=(run_dir / "config.json").exists(), progress=False,
                          initial_weights=self.initial, device=self.device)
        interval = config.budget / config.checkpoints
        done = len(read_metrics(directory / "snapshots.jsonl"))
        bar = self._bar("self-play", clock)
        while done < config.checkpoints:
            spent = clock.seconds()
            due = config.checkpoints if spent >= config.budget else int(spent // interval)
            if due > done:
                stats = [run.game_stats(g) for g in range(1, run.generation + 1)]
                append_metrics(directory / "snapshots.jsonl", {
                    "snapshot": due, "seconds": round(spent, 2),
                    "checkpoint": f"selfplay/run/checkpoints/gen-{run.generation:04d}.pt",
                    "generation": run.generation, "steps": run.trainer.step,
                    **{name: sum(s.get(name, 0) for s in stats) for name in
                       ("games", "plies", "resigned", "no_resign_checks", "false_resignations")},
                    "load_average": round(os.getloadavg()[0], 2)},
                    key="snapshot")
                clock.save()
                done = due
                with clock.paused():
                    on_snapshot()
                continue
            run.run(run.generation + 1)
            clock.save()
            bar.update(round(clock.seconds() - bar.n, 1))
        bar.close()

    def _bar(self, name: str, clock: ArmClock) -> tqdm:
        bar = tqdm(total=round(self.config.budget, 1), desc=name, unit="s",
                   disable=not self.progress, leave=False, bar_format="{l_bar}{bar}| "
                   "{n:.0f}/{total:.0f} s of budget")
        bar.update(round(min(clock.seconds(), self.config.budget), 1))
        return bar

    # ---------------------------------------------------------------- the whole comparison

    def run(self) -> dict[str, Any]:
        """Both arms, grading as they go, then the matches; returns the summary."""
        config = self.config
        # Training runs on one thread: with the cores shared (labelling or self-play workers
        # that have just stopped, other jobs), 20 steps of a small net took 0.3 s on one thread
        # and 16 s on two here. Labelling and self-play use every core through their workers.
        torch.set_num_threads(1)
        held = self.load_held_out()
        self.log(f"held-out set: {len(held)} positions; budget {config.budget:.0f} s per arm")
        initial_path = self.out / "initial.pt"
        if not initial_path.exists():
            save_checkpoint(initial_path, config=self.checkpoint_config(), model=self.initial)

        def grade() -> None:
            report.grade_snapshots(self.out, held, ARMS, self.log)

        grade()
        self.run_supervised(report.position_keys(held.fen), grade)
        self.run_selfplay(grade)
        report.play_matches(self.out, self.game, config, self.progress)
        summary = report.summarize(self.out, config, len(held))
        write_json(self.out / "summary.json", summary)
        report.write_markdown(self.out / "summary.md", summary)
        report.plot_curves(self.out / "learning_curves.png", summary)
        return summary

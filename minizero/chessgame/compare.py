"""Supervised vs self-play on chess at an equal wall-clock budget: ``minizero compare``.

The chess hooks of the shared comparison (minizero/compare.py: both arms from the same weights,
the budget split into ``checkpoints`` intervals, snapshots, the arm clocks, resume after kill -9):

* **labeller** (`StockfishLabeller`): in the first ``label_fraction`` of each interval Stockfish
  plays games at ``label_depth`` on every core and labels each position with its move and score
  (chessgame/data.py, time-boxed); the rest of the interval trains on every position labelled so
  far. The labelling time counts, so the arm pays for its teacher.
* **grader** (`HeldOutGrader`, compare_report.py): every snapshot on one held-out set that
  neither arm trains on: Stockfish-labelled positions of other games (``--held-out DIR`` of
  chessdata shards, or labelled at the start of the run with their own seed at
  ``held_out_depth``; not counted in either budget; positions equal to a held-out one are
  dropped from the supervised arm's data). Top-1 agreement of the raw policy with Stockfish's
  move, value error against ``tanh(cp / 400)`` of its score.

The self-play arm is the generic loop (minizero/selfplay.py) with resignation, a no-resign
fraction and a game-length cap, one small generation at a time; its games and its training
count. At the end the two final nets play each other and the uniformly random mover (PUCT at
``match_nodes``).

Run layout (``--out RUN``): the shared one (config.json, initial.pt, supervised/, selfplay/,
grades.jsonl) with held-out/ (unless --held-out), matches.jsonl, summary.json, summary.md,
learning_curves.png.

Run it: ``minizero compare --game chess --budget 2h --out runs/compare-chess``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from minizero.chessgame import compare_report as report
from minizero.chessgame.data import ChessDataConfig, generate
from minizero.chessgame.game import ChessGame
from minizero.chessgame.training import PackedSamples, is_chess_data, load_chess_data
from minizero.cluster import LOCAL, ClusterSpec
from minizero.compare import Budget, Comparison, Grader, Labeller, Schedule
from minizero.compare_curves import arm_curves
from minizero.nn.network import NetworkConfig
from minizero.rundir import write_json
from minizero.search.puct import PUCTConfig
from minizero.selfplay import SelfPlayConfig
from minizero.train import TrainConfig


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
        """The chess settings checked here, before any directory is made (the arms' own configs
        check the rest: budget and schedule, network shape, self-play, PUCT, training)."""
        for name in ("channels", "workers", "batch_size", "label_depth",
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
        budget = Budget(seconds=self.budget)
        Schedule(budget, budget, self.checkpoints, self.label_fraction)


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


def arms_settings(config: CompareConfig, game: ChessGame) -> dict[str, Any]:
    """The network, search, self-play, training and schedule settings of both arms (built
    before the run directory, so that bad settings stop the run before any labelling)."""
    budget = Budget(seconds=config.budget)
    return {
        "network": network_config(config, game),
        "puct": PUCTConfig(simulations=config.simulations, dirichlet_alpha=config.dirichlet_alpha,
                           add_noise=True, temperature_moves=config.temperature_moves,
                           batch_size=8),
        "selfplay": SelfPlayConfig(
            games_per_generation=config.games_per_generation, games_per_shard=1,
            replay_window=20, train_steps=config.train_steps, workers=config.workers,
            symmetries=False, opening_plies=config.opening_plies,
            resign_threshold=config.resign_threshold,
            no_resign_fraction=config.no_resign_fraction),
        "train": train_config(config),
        "schedule": Schedule(budget, budget, config.checkpoints, config.label_fraction)}


class StockfishLabeller(Labeller):
    """Stockfish's games at ``label_depth`` on every core, each position labelled with its move
    and score (chessgame/data.py); positions whose key is in ``exclude`` (the held-out set's)
    are dropped."""

    def __init__(self, config: CompareConfig, game: ChessGame, stockfish: str) -> None:
        self.settings = ChessDataConfig(positions=10**9, depth=config.label_depth,
                                        workers=config.workers, history=game.history,
                                        shard_size=200, seed=config.seed)
        self.stockfish = stockfish
        self.exclude: set[str] = set()
        self.samples: PackedSamples | None = None
        self.loaded = -1  # shards read into `samples`

    def label(self, directory: Path, seconds: float) -> bool:
        generate(self.settings, self.stockfish, directory, quiet=True,
                 deadline=time.time() + seconds)
        return True

    def load(self, directory: Path) -> PackedSamples | None:
        shards = len(list(directory.glob("az-*.npz")))
        if shards and shards != self.loaded:
            samples, _ = load_chess_data([directory], self.settings.history)
            self.samples = samples.subset(report.not_in(samples.fen, self.exclude))
            self.loaded = shards
        return self.samples


class HeldOutGrader(Grader):
    """Top-1 agreement with Stockfish's move and value error on the held-out set (the function
    ``held_out`` gives it, labelled at its first use)."""

    def __init__(self, held_out: Callable[[], PackedSamples]) -> None:
        self.held_out = held_out

    def grade(self, network: torch.nn.Module, final: bool) -> dict[str, Any]:
        return report.grade_held_out(network, self.held_out())

    def describe(self, marks: dict[str, Any]) -> str:
        return f"top-1 {marks['top1']:6.1%}, value MAE {marks['value_mae']:.3f}"


class ChessComparison(Comparison):
    """One chess comparison run in a directory: held-out set, both arms, grades, matches,
    report (see the module docstring)."""

    def __init__(self, out: str | Path, config: CompareConfig, stockfish: str,
                 held_out: str | Path | None = None, resume: bool = False,
                 game: ChessGame | None = None, progress: bool = True,
                 log: Callable[[str], None] = print, device: str = "cpu",
                 cluster: ClusterSpec = LOCAL) -> None:
        self.config = config
        game = game or ChessGame(max_plies=config.max_plies)
        self.held: PackedSamples | None = None
        if held_out is not None:  # read (and so checked) before the run directory is made
            if not is_chess_data(held_out):
                raise ValueError(f"--held-out {held_out}: no chess shards (az-*.npz) there; "
                                 "make them with `minizero chessdata`")
            self.held = spread(load_chess_data([held_out], game.history)[0],
                               config.held_out_positions)
        self.held_out_dir = Path(out) / "held-out"
        self.stockfish = stockfish
        super().__init__(out, game, f"chess:max_plies={game.max_plies}",
                         {"compare": dataclasses.asdict(config), "game": game.name,
                          "held_out": str(held_out) if held_out else None},
                         **arms_settings(config, game),
                         labeller=StockfishLabeller(config, game, stockfish),
                         grader=HeldOutGrader(self.load_held_out), seed=config.seed,
                         resume=resume, progress=progress, log=log, device=device,
                         cluster=cluster)

    def load_held_out(self) -> PackedSamples:
        config = self.config
        if self.held is None:
            self.log(f"labelling {config.held_out_positions} held-out positions "
                     f"(depth {config.held_out_depth}, not counted in either budget)")
            generate(ChessDataConfig(positions=config.held_out_positions,
                                     depth=config.held_out_depth, workers=config.workers,
                                     history=self.game.history, shard_size=500,
                                     seed=10_000 + config.seed),
                     self.stockfish, self.held_out_dir, quiet=not self.progress)
            self.held = spread(load_chess_data([self.held_out_dir], self.game.history)[0],
                               config.held_out_positions)
        return self.held

    def run(self) -> dict[str, Any]:
        """Both arms, grading as they go, then the matches; returns the summary."""
        torch.set_num_threads(1)  # see Comparison.run_arms
        held = self.load_held_out()
        assert isinstance(self.labeller, StockfishLabeller)
        self.labeller.exclude = report.position_keys(held.fen)
        self.log(f"held-out set: {len(held)} positions; budget {self.config.budget:.0f} s "
                 "per arm")
        self.run_arms()
        arms = arm_curves(self.out)
        report.play_matches(self.out, self.game, self.config, self.progress)
        summary = report.summarize(self.out, arms, self.config, len(held))
        write_json(self.out / "summary.json", summary)
        report.write_markdown(self.out / "summary.md", summary)
        report.plot_curves(self.out / "learning_curves.png", summary)
        return summary

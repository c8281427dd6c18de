"""Self-play: the AlphaZero loop of playing against yourself and learning from the games.

One generation: worker processes play ``games_per_generation`` games with PUCT guided by the
current network (root noise on, moves drawn in proportion to visits for ``temperature_moves``
plies); each position is stored with its input planes, the search's visit distribution and the
final outcome *from that position's side to move* (plus the game's symmetries); then the trainer
fits the network to the replay buffer of the last ``replay_window`` generations.

Everything lives in a run directory and survives a crash at any moment (kill -9 included):

    config.json                   every component's config; a resume must match it
    replay/gen-GGGG-part-PP.npz   finished batches of games (a finished batch is never replayed)
    replay/gen-GGGG-part-PP.json  their counts and the weights version that played them
    checkpoints/latest.pt         weights + optimizer + counters, saved during training too
    checkpoints/gen-GGGG.pt       the network at the end of each generation
    metrics.jsonl                 one JSON object per generation

Two loops fill the generations. Locally, and on Ray without ``--async``, they go in turn: a
generation's games are all played with its weights, then the network trains (simple and
deterministic: a Ray run writes the same shards as a local one, and the tests compare those).
With ``--cluster ray --async`` Ray actors keep playing while the network trains, each shard
tagged with the weights version that played it (``minizero/selfplay_actors.py``: faster on a
cluster, not reproducible bit for bit). Both keep a shard in the replay window while the
version that played it is among the learner's last ``replay_window`` ones (``ReplayBuffer``), and
the metrics record the mean ``staleness`` of the games trained on.

Reference: Silver et al., Science 362 (2018). Run it: ``minizero selfplay --game hexapawn:3x3``.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from minizero.checkpoint import load_checkpoint, save_checkpoint
from minizero.cluster import LOCAL, ClusterSpec, Units
from minizero.game import Game
from minizero.lifeline import start_worker
from minizero.nn.network import NetworkConfig, PolicyValueNet
from minizero.replay import ReplayBuffer, Samples
from minizero.rundir import append_metrics, open_run
from minizero.search.puct import PUCT, LeafEvaluator, PUCTConfig, network_evaluator
from minizero.train import TrainConfig, Trainer


@dataclass(frozen=True)
class SelfPlayConfig:
    """Settings of the self-play loop.

    games_per_generation: games played with each network before it is trained further.
    games_per_shard: games per replay shard (the unit that a crash cannot lose).
    replay_window: generations of games the trainer samples from.
    train_steps: minibatch updates per generation.
    workers: processes playing games (1: in this process).
    symmetries: store every position's symmetric images too (data augmentation).
    opening_plies: each game starts with k uniformly random moves, k drawn from 0..this, and
        records positions from there on. Positions that only arise after a mistake then appear
        in the data with outcomes of good play after them (temperature alone would blur those
        outcomes with its own random moves).
    resign_threshold: the side to move resigns when its root value falls below this (None:
        never); saves the long tail of decided chess games.
    no_resign_fraction: games played to the end anyway, to measure how often resigning would
        have been wrong (``false_resignations`` in the metrics; AlphaGo Zero kept it < 5%).
    discount: a position's value target is the outcome times discount ** (plies from it to
        the game's end); 1 (AlphaZero) makes a win now and a win in fifty moves the same, so
        nothing in the targets asks for progress. Below 1 a faster win scores higher: what a
        won chess ending needs before the fifty-move rule (see docs/results/endgames.md).
    """

    games_per_generation: int = 64
    games_per_shard: int = 16
    replay_window: int = 8
    train_steps: int = 100
    workers: int = max(1, os.cpu_count() or 1)
    symmetries: bool = True
    opening_plies: int = 0
    resign_threshold: float | None = None
    no_resign_fraction: float = 0.2
    discount: float = 1.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "int" and value < (0 if field.name == "opening_plies" else 1):
                raise ValueError(f"{field.name} must be positive, got {value}")
        if self.resign_threshold is not None and not -1 < self.resign_threshold < 0:
            raise ValueError(f"resign_threshold must be in (-1, 0), got {self.resign_threshold}")
        if not 0 <= self.no_resign_fraction <= 1:
            raise ValueError(f"no_resign_fraction must be in [0, 1], got "
                             f"{self.no_resign_fraction}")
        if not 0 < self.discount <= 1:
            raise ValueError(f"discount must be in (0, 1], got {self.discount}")


def play_game(game: Game, evaluate: LeafEvaluator, config: PUCTConfig,
              rng: np.random.Generator, symmetries: bool = True,
              opening_plies: int = 0, resign_threshold: float | None = None,
              may_resign: bool = True, stats: dict[str, int] | None = None,
              discount: float = 1.0) -> Samples:
    """One self-play game; every position with its visit distribution and final outcome.

    The game opens with k random moves (k uniform in 0..opening_plies) that are not recorded;
    it is replayed from the start if those moves end it. With ``resign_threshold`` the side to
    move resigns (the game is scored as its loss) when its root value falls below it, unless
    ``may_resign`` is False: then the game goes on and ``stats`` counts whether the first would-be
    resignation was wrong (that side did not lose). ``stats`` also counts games and plies.
    """
    search = PUCT(game, evaluate, config, rng)
    # A game whose episodes start from drawn positions (chess endgames) draws them with rng.
    random_start = getattr(game, "random_start", None)
    while True:
        state = game.initial_state() if random_start is None else random_start(rng)
        for _ in range(int(rng.integers(0, opening_plies + 1))):
            if game.terminal_value(state) is not None:
                break
            actions = game.legal_actions(state)
            state = game.apply(state, actions[int(rng.integers(len(actions)))])
        if game.terminal_value(state) is None:
            break
    search.reset(state)
    planes, policies, players = [], [], []
    ply = 0
    resigner: int | None = None  # the first side whose value fell below the threshold
    resigned = False
    while game.terminal_value(state) is None:
        result = search.search()
        policy = result.policy(1.0)
        planes.append(game.encode(state))
        policies.append(policy.astype(np.float32))
        players.append(game.to_play(state))
        if (resign_threshold is not None and resigner is None
                and result.value < resign_threshold):
            resigner = game.to_play(state)
            if may_resign:
                resigned = True
                break
        if ply < config.temperature_moves:
            action = int(rng.choice(len(policy), p=policy))  # explore: in proportion to visits
        else:
            action = int(np.argmax(result.visit_counts))
        state = game.apply(state, action)
        search.advance(action)  # tree reuse
        ply += 1
    final = -1.0 if resigned else game.terminal_value(state)
    last_player = game.to_play(state)
    if stats is not None:
        stats["games"] = stats.get("games", 0) + 1
        stats["plies"] = stats.get("plies", 0) + ply
        stats["resigned"] = stats.get("resigned", 0) + int(resigned)
        if resigner is not None and not may_resign:
            resigner_value = final if resigner == last_player else -final
            stats["no_resign_checks"] = stats.get("no_resign_checks", 0) + 1
            stats["false_resignations"] = (stats.get("false_resignations", 0)
                                           + int(resigner_value >= 0))
    values = np.array([final if player == last_player else -final for player in players],
                      dtype=np.float32)
    values *= np.float32(discount) ** np.arange(len(values) - 1, -1, -1, dtype=np.float32)
    samples = Samples(np.stack(planes), np.stack(policies), values)
    if not symmetries:
        return samples
    images = game.symmetries(samples.planes, samples.policy)
    return Samples(np.concatenate([p for p, _ in images]),
                   np.concatenate([q for _, q in images]),
                   np.concatenate([samples.value] * len(images)))


def load_network(network_config: dict[str, Any], weights: dict[str, np.ndarray]
                 ) -> PolicyValueNet:
    """A network from its config and weights as numpy arrays (what workers are sent)."""
    network = PolicyValueNet(NetworkConfig(**network_config))
    network.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()})
    return network


def play_games(game: Game, evaluate: LeafEvaluator, puct_config: PUCTConfig, seed: Any,
               games: int, selfplay: SelfPlayConfig) -> tuple[Samples, dict[str, int]]:
    """A batch of ``games`` self-play games seeded by ``seed``: their samples and counts."""
    rng = np.random.default_rng(seed)
    stats: dict[str, int] = {}
    samples = Samples.concatenate([
        play_game(game, evaluate, puct_config, rng, selfplay.symmetries, selfplay.opening_plies,
                  selfplay.resign_threshold, rng.random() >= selfplay.no_resign_fraction, stats,
                  selfplay.discount)
        for _ in range(games)])
    return samples, stats


def _play_part(task: tuple) -> tuple[Samples, dict[str, int]]:
    """Worker: play a batch of games with the given weights (one torch thread per process)."""
    game, network_config, weights, puct_config, seed, games, selfplay = task
    torch.set_num_threads(1)
    evaluate = network_evaluator(game, load_network(network_config, weights))
    return play_games(game, evaluate, puct_config, seed, games, selfplay)


def _play_part_unit(weights: dict[str, np.ndarray], task: tuple
                    ) -> tuple[Samples, dict[str, int]]:
    """``_play_part`` as a unit of work (``minizero.cluster``): the weights come apart."""
    return _play_part(task[:2] + (weights,) + task[2:])


class SelfPlayRun:
    """A self-play run in a directory: start it, resume it, run generations."""

    def __init__(self, directory: str | Path, game: Game, game_spec: str,
                 network: NetworkConfig, puct: PUCTConfig, selfplay: SelfPlayConfig,
                 train: TrainConfig, seed: int = 0, resume: bool = False,
                 progress: bool = True, initial_weights: dict[str, torch.Tensor] | None = None,
                 device: torch.device | str = "cpu", cluster: ClusterSpec = LOCAL,
                 actors: bool = False) -> None:
        if actors and cluster.backend == "local":
            raise ValueError("--async needs a Ray cluster: --cluster ray")
        self.directory = Path(directory)
        self.cluster = cluster  # where games are played: local processes or a Ray cluster
        self.actors = actors  # games from actors that play on while the learner trains
        self.game = game
        self.puct = puct
        self.selfplay = selfplay
        self.seed = seed
        self.progress = progress
        recorded = dataclasses.asdict(selfplay)
        if selfplay.discount == 1:  # runs made before the setting existed still resume
            del recorded["discount"]
        self.config = {
            "game": game_spec, "seed": seed, "network": dataclasses.asdict(network),
            "puct": dataclasses.asdict(puct), "selfplay": recorded,
            "train": dataclasses.asdict(train),
        }
        torch.manual_seed(seed)
        self.network = PolicyValueNet(network)
        if initial_weights is not None:
            self.network.load_state_dict(initial_weights)
        self.network.to(device)  # training only: self-play workers get CPU copies of weights
        self.trainer = Trainer(self.network, train, seed)
        self.replay = ReplayBuffer(self.directory / "replay", selfplay.replay_window)
        self.generation = 0  # generations completed
        self.elapsed = 0.0  # wall-clock seconds spent in earlier sessions of this run
        self._open(resume)

    # ---------------------------------------------------------------- run directory

    @property
    def latest_path(self) -> Path:
        return self.directory / "checkpoints" / "latest.pt"

    def _open(self, resume: bool) -> None:
        resumed = open_run(self.directory, self.config, resume, "selfplay")
        if resumed and self.latest_path.exists():
            parts = load_checkpoint(self.latest_path)[1]
            self.trainer.restore(parts)
            self.generation = int(parts["generation"])
            self.elapsed = float(parts["elapsed"])
            return
        # A new run (or one killed before its first checkpoint): the seeded initial weights.
        save_checkpoint(self._generation_path(0), config=self.config,
                        **self.trainer.state(), generation=0)
        self._save_latest(0.0)

    def _generation_path(self, generation: int) -> Path:
        return self.directory / "checkpoints" / f"gen-{generation:04d}.pt"

    def _save_latest(self, elapsed: float) -> None:
        save_checkpoint(self.latest_path, config=self.config, **self.trainer.state(),
                        generation=self.generation, elapsed=elapsed)

    # ---------------------------------------------------------------- one generation

    def weights(self) -> dict[str, np.ndarray]:
        """The learner's weights as numpy arrays on the CPU (what players are sent)."""
        return {name: tensor.detach().cpu().numpy().copy()
                for name, tensor in self.network.state_dict().items()}

    def play_generation(self, generation: int, pool: Any = None) -> None:
        """Play the missing shards of ``generation`` with the current network."""
        config = self.selfplay
        shards = -(-config.games_per_generation // config.games_per_shard)
        done = set(self.replay.parts(generation))
        todo = [part for part in range(shards) if part not in done]
        if not todo:
            return
        weights = self.weights()
        tasks = []
        for part in todo:
            games = min(config.games_per_shard,
                        config.games_per_generation - part * config.games_per_shard)
            seed = [self.seed, generation, part]
            tasks.append((self.game, self.config["network"], weights, self.puct, seed, games,
                          config))
        if self.cluster.backend != "local":
            results = self._play_on_cluster(todo, tasks)
        elif pool is not None:
            results = zip(todo, pool.imap(_play_part, tasks))
        else:
            results = zip(todo, map(_play_part, tasks))
        bar = tqdm(total=len(tasks), desc=f"gen {generation} self-play", unit="shard",
                   disable=not self.progress, leave=False)
        for part, (samples, stats) in results:
            self.replay.write(generation, part, samples, {**stats, "version": generation - 1})
            bar.update(1)
        bar.close()

    def _play_on_cluster(self, parts: list[int], tasks: list[tuple]
                         ) -> Iterator[tuple[int, tuple[Samples, dict[str, int]]]]:
        """Each shard of games a unit on the Ray cluster, the generation's weights sent once
        through its object store; shards come back as they finish. Generation by generation,
        as locally: a worker plays with the weights of the generation it was given, so every
        game in a shard is as fresh as the local loop's (no stale-weight bookkeeping)."""
        with Units(self.cluster, self.selfplay.workers) as units:
            weights = units.share(tasks[0][2])
            for part, task in zip(parts, tasks):
                units.submit(part, _play_part_unit, weights, task[:2] + task[3:])
            while units.running:
                yield units.next_done()

    def game_stats(self, generation: int) -> dict[str, int]:
        """Games, plies, resignations and false resignations of a generation's shards."""
        totals: dict[str, int] = {}
        for part in self.replay.parts(generation):
            for name, count in self.replay.stats(generation, part).items():
                if name != "version":
                    totals[name] = totals.get(name, 0) + int(count)
        return totals

    def train_generation(self, generation: int, session_start: float,
                         chunk: int = 50) -> dict[str, float]:
        """Train to the step count of ``generation``, checkpointing every ``chunk`` steps (the
        last chunk is checkpointed by `run`, after the generation's own checkpoint and metrics
        line, so that a kill in between cannot skip them)."""
        target = generation * self.selfplay.train_steps
        samples = self.replay.load(generation)
        losses: dict[str, float] = {}
        bar = tqdm(total=target - self.trainer.step, desc=f"gen {generation} training",
                   unit="step", disable=not self.progress, leave=False)
        while self.trainer.step < target:
            steps = min(chunk, target - self.trainer.step)
            losses = self.trainer.train_steps(samples, steps)
            if self.trainer.step < target:
                self._save_latest(self.elapsed + time.perf_counter() - session_start)
            bar.update(steps)
        bar.close()
        losses["samples"] = len(samples)
        return losses

    def _filled_in_turn(self, last: int, pool: Any
                        ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Generation by generation: play each one's games with the current weights, then hand
        it over to be trained (the learner's version goes up before the next is played)."""
        while self.generation < last:
            self.play_generation(self.generation + 1, pool)
            yield self.generation + 1, {}

    def run(self, generations: int,
            evaluate: Callable[[PolicyValueNet, dict[str, Any]], dict[str, Any]] | None = None,
            stop: Callable[[dict[str, Any]], bool] | None = None,
            time_budget: float | None = None) -> list[dict[str, Any]]:
        """Run up to ``generations`` generations in total (counting earlier sessions).

        After each, ``evaluate(network, record)`` adds measurements to the metrics line and
        ``stop(metrics)`` may end the run early; ``time_budget`` caps total wall-clock seconds.
        """
        session_start = time.perf_counter()
        records = []
        measuring = 0.0  # seconds spent in evaluate(), not counted as training time
        # fork: workers start at once and do not re-run the user's __main__ (spawn would, and
        # would import torch again in each). The parent has touched no GPU, so forking is safe.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        workers = self.selfplay.workers
        pool = context.Pool(workers, initializer=start_worker, initargs=(os.getpid(),)) \
            if workers > 1 and self.cluster.backend == "local" else None
        if self.actors:
            from minizero.selfplay_actors import filled_by_actors

            filled = filled_by_actors(self, generations)
        else:
            filled = self._filled_in_turn(generations, pool)
        try:
            started = time.perf_counter()
            for generation, extra in filled:
                played = time.perf_counter()
                losses = self.train_generation(generation, session_start + measuring)
                trained = time.perf_counter()
                elapsed = self.elapsed + trained - session_start - measuring
                # Generation checkpoint, metrics line, then latest.pt: killed before latest.pt
                # is saved, a resumed run redoes this generation's last steps (the same
                # batches) and finds its checkpoint and metrics line in place.
                save_checkpoint(self._generation_path(generation), config=self.config,
                                **self.trainer.state(), generation=generation)
                record = {"generation": generation, "seconds": round(elapsed, 2),
                          "selfplay_seconds": round(played - started, 2),
                          "train_seconds": round(trained - played, 2),
                          "steps": self.trainer.step, **losses,
                          "staleness": round(self.replay.staleness(generation), 3), **extra,
                          **self.game_stats(generation)}
                if evaluate is not None:
                    record.update(evaluate(self.network, record))
                    measuring += time.perf_counter() - trained
                append_metrics(self.directory / "metrics.jsonl", record)
                self.generation = generation
                self._save_latest(elapsed)
                records.append(record)
                if stop is not None and stop(record):
                    break
                if time_budget is not None and elapsed > time_budget:
                    break
                started = time.perf_counter()
        finally:
            filled.close()  # actors stop: the games they were playing are not needed
            if pool is not None:
                pool.terminate()
                pool.join()
        return records


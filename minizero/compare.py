"""Supervised vs self-play for any game: two arms from one set of weights, graded alike.

Two networks of one shape start from the same seeded initial weights. The **supervised** arm
learns from a teacher's labels (a per-game `Labeller`: the Hexapawn solver, Stockfish, a
tablebase), paying for the labelling on its clock; the **self-play** arm learns from its own
games (minizero/selfplay.py, the games optionally on a cluster). Each arm has a budget
(`Budget`): wall-clock seconds or rounds (an epoch of the supervised arm, a generation of the
self-play arm). Its network is a *snapshot* either after every round or, with ``checkpoints``,
each time its clock passes a further 1 / ``checkpoints`` of a clock budget; in the second case
each interval of the supervised arm first labels for ``label_fraction`` of it, then trains.
Every snapshot, and the shared initial net, is graded by a per-game `Grader` (a dict of named
marks: "what correct means" for the game) on a paused clock, so grading is never charged.

Honest clocks across kill -9 (`ArmClock`): each arm keeps ``clock.json`` (seconds spent, and the
wall time of that record). A resumed arm charges, on top, the time from that record to the
newest file the killed session left in the arm's folder: the work that survived is paid for,
work that died with the process is neither kept nor charged. A resumed run redoes nothing it
had finished and grades each snapshot once.

Run layout: config.json, initial.pt, supervised/ (clock.json, data/, latest.pt,
snapshot-KK.pt, snapshots.jsonl), selfplay/ (clock.json, run/ = a self-play run directory,
snapshots.jsonl), grades.jsonl; the game's report adds summary.json and learning_curves.png
(compare_curves.py reads the curves back and draws both arms').

Users: ``hexapawn compare --size 3x3``, ``minizero compare --game chess --budget 15m --out RUN``
and ``minizero compare --game chess-endgame:KQvK --budget 15m --out RUN``.
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
from functools import partial
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from minizero.atomic import TEMPORARY_SUFFIX
from minizero.checkpoint import load_checkpoint, save_checkpoint
from minizero.cluster import LOCAL, ClusterSpec
from minizero.compare_curves import ARMS
from minizero.game import Game
from minizero.inputs import shown
from minizero.nn.network import NetworkConfig, PolicyValueNet, load_network, resolve_device
from minizero.rundir import append_metrics, open_run, read_metrics, write_json
from minizero.search.puct import PUCTConfig
from minizero.selfplay import SelfPlayConfig, SelfPlayRun
from minizero.train import TrainConfig, Trainer

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
class Budget:
    """What one arm may spend: wall-clock ``seconds`` or ``rounds`` (epochs of the supervised
    arm, generations of the self-play arm); exactly one of them."""

    seconds: float | None = None
    rounds: int | None = None

    def __post_init__(self) -> None:
        if (self.seconds is None) == (self.rounds is None):
            raise ValueError("a budget is either seconds or rounds, exactly one of them")
        if self.seconds is not None and not 0 < self.seconds < math.inf:  # NaN fails too
            raise ValueError(f"budget must be positive and finite seconds, got {self.seconds}")
        if self.rounds is not None and (not isinstance(self.rounds, int) or self.rounds < 1):
            raise ValueError(f"budget must be a positive number of rounds, got {self.rounds}")

    def spent(self, seconds: float, rounds: int) -> bool:
        """True once an arm at ``seconds`` on its clock with ``rounds`` done may stop."""
        return seconds >= self.seconds if self.seconds is not None else rounds >= self.rounds


@dataclass(frozen=True)
class Schedule:
    """Each arm's budget, and when its network is a snapshot (see the module docstring).

    checkpoints: snapshots evenly spaced through clock budgets; None: one after every round.
    label_fraction: the share of each such interval the supervised arm labels.
    min_epoch_steps: a supervised round (one snapshot a round) is one pass over the labelled
        data, at least this many training steps.
    """

    supervised: Budget
    selfplay: Budget
    checkpoints: int | None = None
    label_fraction: float = 0.25
    min_epoch_steps: int = 1

    def __post_init__(self) -> None:
        if self.checkpoints is not None:
            if self.checkpoints < 1:
                raise ValueError(f"checkpoints must be positive, got {self.checkpoints}")
            if self.supervised.seconds is None or self.selfplay.seconds is None:
                raise ValueError("checkpoints split clock budgets; give seconds, not rounds")
        if not 0 < self.label_fraction < 1:
            raise ValueError(f"label_fraction must be in (0, 1), got {self.label_fraction}")
        if self.min_epoch_steps < 1:
            raise ValueError(f"min_epoch_steps must be positive, got {self.min_epoch_steps}")


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


class Labeller:
    """The supervised arm's teacher: writes labelled positions into the arm's data folder."""

    def label(self, directory: Path, seconds: float) -> bool:
        """Label for about ``seconds`` more (at least one chunk of work: 0 asks for one);
        False when there was nothing more to label."""
        raise NotImplementedError

    def load(self, directory: Path) -> Any:
        """Everything labelled in ``directory`` so far, as the trainer takes it (``len`` and
        ``batch(indices)``, see `Samples`), or None when there is nothing yet."""
        raise NotImplementedError


class Grader:
    """What "correct" means for a game: named marks of a network (from the side to move)."""

    def grade(self, network: PolicyValueNet, final: bool) -> dict[str, Any]:
        """The marks of ``network``; ``final`` for an arm's last snapshot (costly marks)."""
        raise NotImplementedError

    def finished(self, marks: dict[str, Any]) -> bool:
        """True when an arm need train no more (one snapshot a round only)."""
        return False

    def describe(self, marks: dict[str, Any]) -> str:
        """The marks on one line of the log."""
        return ", ".join(f"{name} {value:.3f}" for name, value in marks.items()
                         if isinstance(value, float))


class Comparison:
    """One comparison run in a directory: both arms, their snapshots and their grades."""

    def __init__(self, out: str | Path, game: Game, game_spec: str, settings: dict[str, Any],
                 network: NetworkConfig, puct: PUCTConfig, selfplay: SelfPlayConfig,
                 train: TrainConfig, schedule: Schedule, labeller: Labeller, grader: Grader,
                 seed: int = 0, resume: bool = False, progress: bool = True,
                 log: Callable[[str], None] = print, device: str = "cpu",
                 cluster: ClusterSpec = LOCAL) -> None:
        """``settings`` go to config.json: a resumed run must bring the same ones. ``device``
        (where both arms train) and ``cluster`` (where self-play games run) are not settings:
        a run may resume elsewhere."""
        self.out = Path(out)
        self.device = resolve_device(device)
        self.game, self.game_spec = game, game_spec
        self.network, self.puct, self.selfplay, self.train = network, puct, selfplay, train
        self.schedule, self.labeller, self.grader = schedule, labeller, grader
        self.seed, self.progress, self.log, self.cluster = seed, progress, log, cluster
        open_run(self.out, settings, resume, "compare")
        torch.manual_seed(seed)
        self.initial = PolicyValueNet(network).state_dict()

    def checkpoint_config(self) -> dict[str, Any]:
        return {"game": self.game.name, "network": dataclasses.asdict(self.network)}

    def snapshots(self, arm: str) -> list[dict[str, Any]]:
        return read_metrics(self.out / arm / "snapshots.jsonl")

    def run_arms(self) -> None:
        """Both arms, grading as they go (`compare_curves.arm_curves` then reads the curves)."""
        # Training runs on one thread: with the cores shared (labelling or self-play workers
        # that have just stopped, other jobs), 20 steps of a small net took 0.3 s on one thread
        # and 16 s on two. Labelling and self-play use every core through their workers.
        torch.set_num_threads(1)
        if not (self.out / "initial.pt").exists():
            save_checkpoint(self.out / "initial.pt", config=self.checkpoint_config(),
                            model=self.initial)
        self.grade_snapshots()
        self.run_supervised()
        self.run_selfplay()

    # ---------------------------------------------------------------- grading

    def grade_snapshots(self) -> None:
        """Grade the initial net and every snapshot not graded yet; append to grades.jsonl."""
        path = self.out / "grades.jsonl"
        graded = {line["name"] for line in read_metrics(path)}
        todo = [{"snapshot": 0, "seconds": 0.0, "steps": 0, "checkpoint": "initial.pt",
                 "arm": "initial"}]
        for arm in ARMS:
            todo += [{**line, "arm": arm} for line in self.snapshots(arm)]
        for line in todo:
            name = f"{line['arm']}-{line['snapshot']:02d}"
            if name in graded:
                continue
            final = line.get("final", line["snapshot"] == self.schedule.checkpoints)
            torch.set_num_threads(1)
            marks = self.grader.grade(load_network(str(self.out / line["checkpoint"])), final)
            append_metrics(path, {"name": name, "arm": line["arm"], "snapshot": line["snapshot"],
                                  "seconds": line["seconds"], "steps": line.get("steps", 0),
                                  **marks, "load_average": round(os.getloadavg()[0], 2)},
                           key="name")
            self.log(f"{line['arm']:10s} snapshot {line['snapshot']:2d} at "
                     f"{line['seconds']:7.1f} s: {self.grader.describe(marks)}")

    def _snapshot(self, arm: str, clock: ArmClock, record: dict[str, Any],
                  save: Callable[[], None] | None = None) -> None:
        """Write an arm's snapshot (its files by ``save``, then its line) and grade it, all on a
        paused clock: a snapshot exists for grading, so neither is charged."""
        with clock.paused():
            if save is not None:
                save()
            append_metrics(self.out / arm / "snapshots.jsonl", {
                **record, "load_average": round(os.getloadavg()[0], 2)}, key="snapshot")
            clock.save()
            self.grade_snapshots()
        clock.save()

    def _arm_done(self, arm: str, lines: list[dict[str, Any]]) -> bool:
        if self.schedule.checkpoints is not None:
            return len(lines) >= self.schedule.checkpoints
        if not lines:
            return False
        if lines[-1].get("final"):
            return True
        grades = [line for line in read_metrics(self.out / "grades.jsonl") if line["arm"] == arm]
        return bool(grades) and self.grader.finished(grades[-1])

    def _bar(self, name: str, budget: Budget, clock: ArmClock, rounds: int) -> tqdm:
        total = budget.seconds if budget.seconds is not None else budget.rounds
        unit = "s" if budget.seconds is not None else "rounds"
        bar = tqdm(total=round(total, 1), desc=name, disable=not self.progress, leave=False,
                   bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} " + unit + " of budget")
        self._advance(bar, budget, clock, rounds)
        return bar

    @staticmethod
    def _advance(bar: tqdm, budget: Budget, clock: ArmClock, rounds: int) -> None:
        done = clock.seconds() if budget.seconds is not None else rounds
        bar.update(round(min(done, bar.total) - bar.n, 1))

    # ---------------------------------------------------------------- the supervised arm

    def run_supervised(self) -> None:
        schedule, directory = self.schedule, self.out / "supervised"
        budget, checkpoints = schedule.supervised, schedule.checkpoints
        torch.manual_seed(self.seed)
        network = PolicyValueNet(self.network).to(self.device)
        network.load_state_dict(self.initial)
        trainer = Trainer(network, self.train, self.seed)
        if (directory / "latest.pt").exists():
            trainer.restore(load_checkpoint(directory / "latest.pt")[1])
        clock = ArmClock(directory)
        data = directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = self.snapshots("supervised")
        samples = self.labeller.load(data)
        bar = self._bar("supervised", budget, clock, len(lines))
        while not self._arm_done("supervised", lines):
            snapshot = len(lines) + 1
            if checkpoints is not None:  # label a share of the interval, train to its end
                interval = budget.seconds / checkpoints
                share = schedule.label_fraction if samples is not None else 1.0
                label_until = (snapshot - 1 + share) * interval
                labelled = False
                while (clock.seconds() < label_until
                       and self.labeller.label(data, label_until - clock.seconds())):
                    labelled = True
                    clock.save()
                    self._advance(bar, budget, clock, len(lines))
                if labelled:
                    samples = self.labeller.load(data)
                until: dict[str, float] = {"seconds": snapshot * interval}
            else:  # a round: whatever more the labeller has, then one pass over the data
                if self.labeller.label(data, 0.0) or samples is None:
                    samples = self.labeller.load(data)
                if samples is None:
                    raise ValueError(f"{data}: the labeller labelled nothing")
                steps = max(schedule.min_epoch_steps, -(-len(samples) // self.train.batch_size))
                until = {"steps": (lines[-1]["steps"] if lines else 0) + steps}
            self._train(trainer, samples, clock, until, bar, budget, len(lines))
            path = directory / f"snapshot-{snapshot:02d}.pt"
            spent = clock.seconds()
            line = {"snapshot": snapshot, "seconds": round(spent, 2),
                    "checkpoint": str(path.relative_to(self.out)), "steps": trainer.step,
                    "positions": 0 if samples is None else len(samples),
                    "final": (snapshot == checkpoints if checkpoints is not None
                              else budget.spent(spent, snapshot))}
            self._snapshot("supervised", clock, line, partial(self._save_supervised, trainer, path))
            lines.append(line)
        bar.close()

    def _save_supervised(self, trainer: Trainer, path: Path) -> None:
        """latest.pt, then the snapshot's weights: a resumed arm goes on from the snapshot."""
        config = self.checkpoint_config()
        save_checkpoint(self.out / "supervised" / "latest.pt", config=config, **trainer.state())
        save_checkpoint(path, config=config, model=trainer.network.state_dict())

    def _train(self, trainer: Trainer, samples: Any, clock: ArmClock, until: dict[str, float],
               bar: tqdm, budget: Budget, rounds: int) -> None:
        """Train on ``samples`` (None: nothing yet) until the clock's ``seconds`` or the
        trainer's ``steps`` of ``until``, checkpointing latest.pt every SAVE_EVERY seconds (and
        at the snapshot that follows)."""
        latest = self.out / "supervised" / "latest.pt"
        saved = time.perf_counter()

        def reached() -> bool:
            if "seconds" in until:
                return clock.seconds() >= until["seconds"]
            return trainer.step >= until["steps"]

        while not reached() and samples is not None and len(samples):
            trainer.train_steps(samples, 1)
            if time.perf_counter() - saved > SAVE_EVERY:
                save_checkpoint(latest, config=self.checkpoint_config(), **trainer.state())
                clock.save()
                saved = time.perf_counter()
                self._advance(bar, budget, clock, rounds)
        self._advance(bar, budget, clock, rounds)

    # ---------------------------------------------------------------- the self-play arm

    def run_selfplay(self) -> None:
        schedule, directory = self.schedule, self.out / "selfplay"
        budget, checkpoints = schedule.selfplay, schedule.checkpoints
        clock = ArmClock(directory)
        run_dir = directory / "run"
        run = SelfPlayRun(run_dir, self.game, self.game_spec, self.network, self.puct,
                          self.selfplay, self.train, seed=self.seed,
                          resume=(run_dir / "config.json").exists(), progress=False,
                          initial_weights=self.initial, device=self.device,
                          cluster=self.cluster)
        lines = self.snapshots("selfplay")
        bar = self._bar("self-play", budget, clock, len(lines))

        def after(generation: int) -> None:
            """Record the snapshot due once ``generation`` generations are done, if any."""
            spent = clock.seconds()
            if checkpoints is not None:  # the snapshot due on the clock
                due = checkpoints if spent >= budget.seconds else int(
                    spent // (budget.seconds / checkpoints))
                new = due > (lines[-1]["snapshot"] if lines else 0)
                final = due == checkpoints
            else:  # one a generation
                due = len(lines) + 1
                new = generation > (lines[-1]["generation"] if lines else 0)
                final = budget.spent(spent, due)
            if new:
                stats = [run.game_stats(g) for g in range(1, generation + 1)]
                line = {"snapshot": due, "seconds": round(spent, 2),
                        "checkpoint": f"selfplay/run/checkpoints/gen-{generation:04d}.pt",
                        "generation": generation, "steps": run.trainer.step,
                        **{name: sum(s.get(name, 0) for s in stats) for name in
                           ("games", "plies", "resigned", "no_resign_checks",
                            "false_resignations")}, "final": final}
                self._snapshot("selfplay", clock, line)
                lines.append(line)
            clock.save()
            self._advance(bar, budget, clock, len(lines))

        after(run.generation)  # a killed session may have left a snapshot due
        if not self._arm_done("selfplay", lines):
            # One call, so one pool of worker processes for all generations; the snapshots are
            # taken after each generation, between its checkpoint and the run's latest.pt.
            run.run(10**9, evaluate=lambda network, record: after(record["generation"]) or {},
                    stop=lambda record: self._arm_done("selfplay", lines))
        bar.close()

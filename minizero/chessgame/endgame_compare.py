"""Supervised vs self-play on a chess endgame, graded exactly: ``minizero compare --game
chess-endgame:KQvK --budget 15m``.

The chess comparison (compare.py) with the tablebase in Stockfish's two places:

* **labeller** (the supervised arm): each interval first labels positions drawn uniformly from
  the table's entries (either side to move, a random symmetry each, on the learner's colours)
  with `endgame.label` (policy spread over the distance-optimal moves, value the exact result),
  then trains on every position labelled so far; the labelling time counts, as in chess.
* **grader**: every snapshot of both arms, and the shared initial net, on the exact grades of
  endgame_grade.py (win-keeping, distance-optimal, raw-policy conversion; PUCT conversion at
  ``puct_nodes`` for each arm's final net). Grading is outside both budgets.

The self-play arm is compare.py's unchanged (the generic loop; the learner plays both sides,
each game from a start drawn by the game). Both arms start from the same initial weights and
get the same wall clock; the run resumes after kill -9 as the chess comparison does.

Run layout (``--out RUN``): config.json, initial.pt, supervised/ (clock.json, data/labels-*.npz,
latest.pt, snapshot-KK.pt, snapshots.jsonl), selfplay/ (clock.json, run/, snapshots.jsonl),
grades.jsonl, summary.json, summary.md, learning_curves.png.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chess
import numpy as np
import torch

from minizero.atomic import atomic_write, write_text
from minizero.checkpoint import save_checkpoint
from minizero.chessgame import encoding
from minizero.chessgame.compare import (
    ARMS,
    CompareConfig,
    Comparison,
)
from minizero.chessgame.compare_report import LABELS, plot_arms, snapshots
from minizero.chessgame.endgame import EndgameGame, board_of, label
from minizero.chessgame.endgame_grade import (
    CONVERSION_STARTS,
    GradingSet,
    grade_network,
    grading_set,
)
from minizero.chessgame.game import ChessState
from minizero.chessgame.tablebase.signature import parse_signature
from minizero.nn.network import load_network
from minizero.rundir import append_metrics, read_metrics, write_json

LABEL_CHUNK = 1000  # positions labelled per shard (about half a second)
PUCT_NODES = 64
THRESHOLDS = (0.9, 0.99)


@dataclass
class TableSamples:
    """Table-labelled positions for the trainer: planes bit-packed, policy targets spread over
    each position's distance-optimal moves (row i's are actions[offsets[i]:offsets[i + 1]])."""

    bits: np.ndarray  # (N, 8 C) uint8
    clock: np.ndarray  # (N,) uint8
    offsets: np.ndarray  # (N + 1,) int64
    actions: np.ndarray  # (M,) int64
    value: np.ndarray  # (N,) float32 exact result from the side to move
    history: int

    def __len__(self) -> int:
        return len(self.value)

    def batch(self, indices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        policy = np.zeros((len(indices), encoding.ACTION_SIZE), np.float32)
        for row, index in enumerate(indices):
            best = self.actions[self.offsets[index]:self.offsets[index + 1]]
            policy[row, best] = 1.0 / len(best)
        planes = encoding.unpack_planes(self.bits[indices], self.clock[indices], self.history)
        return (torch.from_numpy(planes), torch.from_numpy(policy),
                torch.from_numpy(self.value[indices]))


def label_shard(game: EndgameGame, path: Path, rng: np.random.Generator,
                count: int = LABEL_CHUNK) -> None:
    """Label ``count`` random positions of the table (see the module docstring) into ``path``."""
    signature = parse_signature(game.signature)
    values = game.tablebase().table(signature)
    assert values is not None
    entries = np.flatnonzero(values != np.int16(-32768))
    tables = game.tablebase()
    planes, offsets, actions, results = [], [0], [], []
    while len(results) < count:
        board = board_of(signature, int(rng.choice(entries)), game.random_symmetry(rng))
        if game.learner == chess.BLACK:  # the table's White men go to the learner's colour
            board = board.mirror()
        targets = label(tables, board)
        if targets is None:  # mate or stalemate: nothing to learn there
            continue
        best, result = targets
        planes.append(game.encode(ChessState(board)))
        actions.extend(best)
        offsets.append(len(actions))
        results.append(result)
    bits, clock = encoding.pack_planes(np.stack(planes), game.history)
    with atomic_write(path) as handle:
        np.savez(handle, bits=bits, clock=clock, offsets=np.array(offsets, np.int64),
                 actions=np.array(actions, np.int64), value=np.array(results, np.float32))


def load_labels(directory: Path, history: int) -> TableSamples | None:
    """Every labelled shard of the supervised arm; ValueError naming a damaged one."""
    parts = []
    for path in sorted(directory.glob("labels-*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                parts.append({name: data[name] for name in
                              ("bits", "clock", "offsets", "actions", "value")})
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
            raise ValueError(f"{path}: not a label shard ({str(error)[:100]})") from None
    if not parts:
        return None
    offsets, base = [np.zeros(1, np.int64)], 0
    for part in parts:
        offsets.append(part["offsets"][1:] + base)
        base += int(part["offsets"][-1])
    return TableSamples(np.concatenate([p["bits"] for p in parts]),
                        np.concatenate([p["clock"] for p in parts]), np.concatenate(offsets),
                        np.concatenate([p["actions"] for p in parts]),
                        np.concatenate([p["value"] for p in parts]), history)


class EndgameComparison(Comparison):
    """One endgame comparison run in a directory (see the module docstring).

    starts, sample, puct_nodes: conversion starts, graded positions (None: endgame_grade's
    rule) and PUCT simulations of the final grades (tests make them small)."""

    starts: int = CONVERSION_STARTS
    sample: int | None = None
    puct_nodes: int = PUCT_NODES

    def __init__(self, out: str | Path, config: CompareConfig, game: EndgameGame,
                 resume: bool = False, progress: bool = True,
                 log: Callable[[str], None] = print, device: str = "cpu") -> None:
        game.won_starts()  # builds the tables (and says when a side never wins) before the run
        super().__init__(out, config, "", None, resume, game, progress, log, device)
        self.graded: GradingSet | None = None

    def game_spec(self) -> str:
        assert isinstance(self.game, EndgameGame)
        return self.game.spec

    def load_held_out(self) -> GradingSet:
        if self.graded is None:
            assert isinstance(self.game, EndgameGame)
            self.graded = grading_set(self.game, self.starts, self.sample)
        return self.graded

    # ---------------------------------------------------------------- the supervised arm

    def run_supervised(self, held_keys: set[str], on_snapshot: Callable[[], None]) -> None:
        config, directory = self.config, self.out / "supervised"
        assert isinstance(self.game, EndgameGame)
        clock, trainer = self._supervised_trainer()
        data_dir = directory / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        interval = config.budget / config.checkpoints
        done = len(read_metrics(directory / "snapshots.jsonl"))
        bar = self._bar("supervised", clock)
        samples = load_labels(data_dir, self.game.history)
        for snapshot in range(done + 1, config.checkpoints + 1):
            share = config.label_fraction if samples is not None else 1.0
            label_until = (snapshot - 1 + share) * interval
            while clock.seconds() < label_until:
                shard = len(list(data_dir.glob("labels-*.npz")))
                label_shard(self.game, data_dir / f"labels-{shard:05d}.npz",
                            np.random.default_rng([config.seed, shard]))
                clock.save()
                bar.update(round(clock.seconds() - bar.n, 1))
            samples = load_labels(data_dir, self.game.history)
            self._train_to_snapshot(trainer, samples, clock, snapshot, interval, bar,
                                    on_snapshot)
        bar.close()

    # ---------------------------------------------------------------- grading and report

    def grade_snapshots(self) -> None:
        """Grade the initial net and every snapshot not graded yet (PUCT on each arm's last)."""
        assert isinstance(self.game, EndgameGame)
        graded = self.load_held_out()
        path = self.out / "grades.jsonl"
        done = {line["name"] for line in read_metrics(path)}
        todo = [{"snapshot": 0, "seconds": 0.0, "checkpoint": "initial.pt", "arm": "initial"}]
        for arm in ARMS:
            todo += [{**line, "arm": arm} for line in snapshots(self.out, arm)]
        for line in todo:
            name = f"{line['arm']}-{line['snapshot']:02d}"
            if name in done:
                continue
            last = line["snapshot"] == self.config.checkpoints
            torch.set_num_threads(1)
            marks = grade_network(self.game, load_network(str(self.out / line["checkpoint"])),
                                  graded, self.puct_nodes if last else 0)
            append_metrics(path, {"name": name, "arm": line["arm"], "snapshot": line["snapshot"],
                                  "seconds": line["seconds"], **marks,
                                  "load_average": round(os.getloadavg()[0], 2)}, key="name")
            self.log(f"{line['arm']:10s} snapshot {line['snapshot']:2d} at "
                     f"{line['seconds']:7.1f} s: win-keeping {marks['win_keeping']:6.1%}, "
                     f"optimal {marks['optimal']:6.1%}, conversion {marks['conversion_raw']:6.1%}"
                     + (f", PUCT{self.puct_nodes} {marks['conversion_puct']:6.1%}" if last
                        else ""))

    def run(self) -> dict[str, Any]:
        """Both arms, grading as they go; returns the summary."""
        torch.set_num_threads(1)  # see Comparison.run
        graded = self.load_held_out()
        self.log(f"{self.game.name}: {len(graded)} graded positions, {len(graded.starts)} "
                 f"conversion starts; budget {self.config.budget:.0f} s per arm")
        initial_path = self.out / "initial.pt"
        if not initial_path.exists():
            save_checkpoint(initial_path, config=self.checkpoint_config(), model=self.initial)
        self.grade_snapshots()
        self.run_supervised(set(), self.grade_snapshots)
        self.run_selfplay(self.grade_snapshots)
        summary = summarize(self.out, self.config, self.game, graded, self.puct_nodes)
        write_json(self.out / "summary.json", summary)
        write_markdown(self.out / "summary.md", summary)
        plot_curves(self.out / "learning_curves.png", summary)
        return summary


def first_reaching(curve: list[dict[str, Any]], key: str, threshold: float) -> float | None:
    """The arm's seconds at its first snapshot with ``key`` at least ``threshold``."""
    return next((point["seconds"] for point in curve if point[key] >= threshold), None)


def summarize(out: Path, config: CompareConfig, game: EndgameGame, graded: GradingSet,
              puct_nodes: int) -> dict[str, Any]:
    grades = read_metrics(out / "grades.jsonl")
    initial = next(line for line in grades if line["arm"] == "initial")
    arms = {}
    for arm in ARMS:
        curve = [initial] + [line for line in grades if line["arm"] == arm]
        arms[arm] = {"curve": curve, "final": {**snapshots(out, arm)[-1], **curve[-1]},
                     "time_to": {f"{key}_{threshold}": first_reaching(curve, key, threshold)
                                 for key in ("win_keeping", "conversion_raw")
                                 for threshold in THRESHOLDS},
                     "load_average": [line["load_average"] for line in snapshots(out, arm)]}
    return {"game": game.name, "budget_seconds": config.budget, "positions": len(graded),
            "starts": len(graded.starts), "puct_nodes": puct_nodes, "initial": initial,
            "arms": arms}


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "not reached"
    return "at the start" if value == 0 else f"{value:.0f} s"


def write_markdown(path: Path, summary: dict[str, Any]) -> str:
    loads = [load for arm in summary["arms"].values() for load in arm["load_average"]]
    rows = [f"{summary['game']}: budget {summary['budget_seconds']:.0f} s per arm; "
            f"{summary['positions']} graded positions, {summary['starts']} conversion starts "
            "against the perfect defender"
            + (f"; 1-minute load average at the snapshots {min(loads):.1f} to {max(loads):.1f}."
               if loads else "."), "",
            f"| arm | seconds | win-keeping | distance-optimal | conversion (raw) | "
            f"conversion (PUCT {summary['puct_nodes']}) | win-keeping 90% / 99% at | "
            "conversion 90% / 99% at | steps |", "|---|---|---|---|---|---|---|---|---|",
            f"| initial net | 0 | {_share(summary['initial']['win_keeping'])} | "
            f"{_share(summary['initial']['optimal'])} | "
            f"{_share(summary['initial']['conversion_raw'])} | - | - | - | 0 |"]
    for arm, result in summary["arms"].items():
        final, time_to = result["final"], result["time_to"]
        rows.append(
            f"| {LABELS.get(arm, arm).replace('Stockfish', 'table')} | {final['seconds']:.0f} | "
            f"{_share(final['win_keeping'])} | {_share(final['optimal'])} | "
            f"{_share(final['conversion_raw'])} | {_share(final.get('conversion_puct'))} | "
            f"{_seconds(time_to['win_keeping_0.9'])} / {_seconds(time_to['win_keeping_0.99'])} | "
            f"{_seconds(time_to['conversion_raw_0.9'])} / "
            f"{_seconds(time_to['conversion_raw_0.99'])} | {final['steps']} |")
    text = "\n".join(rows) + "\n"
    write_text(path, text)
    return text


def plot_curves(path: Path, summary: dict[str, Any]) -> Path | None:
    """Win-keeping and raw conversion against each arm's wall-clock seconds."""
    return plot_arms(path, summary,
                     [("win_keeping", 100, "win-keeping moves of the raw policy (%)"),
                      ("conversion_raw", 100, "mates vs the perfect defender, raw policy (%)")],
                     "wall-clock seconds of the arm",
                     f"{summary['game']}: supervised vs self-play, "
                     f"{summary['budget_seconds']:.0f} s each, graded by the tables",
                     {arm: LABELS[arm].replace("Stockfish", "table") for arm in LABELS})

"""Supervised vs self-play on a chess endgame, graded exactly: ``minizero compare --game
chess-endgame:KQvK --budget 15m``.

The shared comparison (minizero/compare.py) with the chess settings (compare.py) and the
tablebase in Stockfish's two places:

* **labeller** (`TableLabeller`, the supervised arm): each interval first labels positions
  drawn uniformly from the table's entries (either side to move, a random symmetry each, on the
  learner's colours) with `endgame.label` (policy spread over the distance-optimal moves, value
  the exact result), then trains on every position labelled so far; the labelling time counts.
* **grader** (`TableGrader`): every snapshot of both arms, and the shared initial net, on the
  exact grades of endgame_grade.py (win-keeping, distance-optimal, the defending side's longest
  resistance, raw-policy conversion; PUCT conversion at ``puct_nodes`` for each arm's final
  net). Grading is outside both budgets.

The self-play arm is the shared one unchanged (the learner plays both sides, each game from a
start drawn by the game). Both arms start from the same initial weights and get the same wall
clock; the run resumes after kill -9.

Run layout (``--out RUN``): the shared one (config.json, initial.pt, supervised/ with
data/labels-*.npz, selfplay/, grades.jsonl) with summary.json, summary.md,
learning_curves.png.
"""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chess
import numpy as np
import torch

from minizero.atomic import atomic_write, write_text
from minizero.chessgame import encoding
from minizero.chessgame.compare import CompareConfig, arms_settings
from minizero.chessgame.compare_report import LABELS
from minizero.chessgame.endgame import EndgameGame, board_of, label
from minizero.chessgame.endgame_grade import (
    CONVERSION_STARTS,
    GradingSet,
    grade_network,
    grading_set,
)
from minizero.chessgame.game import ChessState
from minizero.chessgame.tablebase.signature import parse_signature
from minizero.cluster import LOCAL, ClusterSpec
from minizero.compare import Comparison, Grader, Labeller
from minizero.compare_curves import Panel, arm_curves, plot_arms
from minizero.rundir import write_json

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


class TableLabeller(Labeller):
    """Shards of `LABEL_CHUNK` positions of the table, labelled exactly (`label_shard`)."""

    def __init__(self, game: EndgameGame, seed: int) -> None:
        self.game, self.seed = game, seed

    def label(self, directory: Path, seconds: float) -> bool:
        shard = len(list(directory.glob("labels-*.npz")))
        label_shard(self.game, directory / f"labels-{shard:05d}.npz",
                    np.random.default_rng([self.seed, shard]))
        return True

    def load(self, directory: Path) -> TableSamples | None:
        return load_labels(directory, self.game.history)


class TableGrader(Grader):
    """The exact grades of endgame_grade.py on the grading set (``graded`` gives it, built at
    its first use); PUCT conversion at ``puct_nodes`` for an arm's final snapshot."""

    def __init__(self, game: EndgameGame, graded: Callable[[], GradingSet],
                 puct_nodes: int) -> None:
        self.game, self.graded, self.puct_nodes = game, graded, puct_nodes

    def grade(self, network: torch.nn.Module, final: bool) -> dict[str, Any]:
        return grade_network(self.game, network, self.graded(),
                             self.puct_nodes if final else 0)

    def describe(self, marks: dict[str, Any]) -> str:
        return (f"win-keeping {marks['win_keeping']:6.1%}, optimal {marks['optimal']:6.1%}, "
                f"conversion {marks['conversion_raw']:6.1%}"
                + (f", PUCT{self.puct_nodes} {marks['conversion_puct']:6.1%}"
                   if "conversion_puct" in marks else ""))


class EndgameComparison(Comparison):
    """One endgame comparison run in a directory (see the module docstring).

    starts, sample, puct_nodes: conversion starts, graded positions (None: endgame_grade's
    rule) and PUCT simulations of the final grades (tests make them small)."""

    starts: int = CONVERSION_STARTS
    sample: int | None = None
    puct_nodes: int = PUCT_NODES

    def __init__(self, out: str | Path, config: CompareConfig, game: EndgameGame,
                 resume: bool = False, progress: bool = True,
                 log: Callable[[str], None] = print, device: str = "cpu",
                 cluster: ClusterSpec = LOCAL) -> None:
        game.won_starts()  # builds the tables (and says when a side never wins) before the run
        self.config = config
        self.graded: GradingSet | None = None
        super().__init__(out, game, game.spec,
                         {"compare": dataclasses.asdict(config), "game": game.name,
                          "held_out": None},
                         **arms_settings(config, game), labeller=TableLabeller(game, config.seed),
                         grader=TableGrader(game, self.load_held_out, self.puct_nodes),
                         seed=config.seed, resume=resume, progress=progress, log=log,
                         device=device, cluster=cluster)

    def load_held_out(self) -> GradingSet:
        if self.graded is None:
            assert isinstance(self.game, EndgameGame)
            self.graded = grading_set(self.game, self.starts, self.sample)
        return self.graded

    def run(self) -> dict[str, Any]:
        """Both arms, grading as they go; returns the summary."""
        graded = self.load_held_out()
        self.log(f"{self.game.name}: {len(graded)} graded positions, {len(graded.starts)} "
                 f"conversion starts; budget {self.config.budget:.0f} s per arm")
        self.run_arms()
        arms = arm_curves(self.out, {key: THRESHOLDS for key in ("win_keeping",
                                                                 "conversion_raw")})
        summary = summarize(arms, self.config, self.game.name, graded, self.puct_nodes)
        write_json(self.out / "summary.json", summary)
        write_markdown(self.out / "summary.md", summary)
        plot_curves(self.out / "learning_curves.png", summary)
        return summary


def summarize(arms: dict[str, Any], config: CompareConfig, game: str, graded: GradingSet,
              puct_nodes: int) -> dict[str, Any]:
    """The report's numbers; ``arms`` as `arm_curves` gives them."""
    return {"game": game, "budget_seconds": config.budget, "positions": len(graded),
            "starts": len(graded.starts), "puct_nodes": puct_nodes, **arms}


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
            f"| arm | seconds | win-keeping | distance-optimal | defence: longest resistance | "
            f"conversion (raw) | conversion (PUCT {summary['puct_nodes']}) | "
            "win-keeping 90% / 99% at | conversion 90% / 99% at | steps |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| initial net | 0 | {_share(summary['initial']['win_keeping'])} | "
            f"{_share(summary['initial']['optimal'])} | "
            f"{_share(summary['initial'].get('resistance'))} | "
            f"{_share(summary['initial']['conversion_raw'])} | - | - | - | 0 |"]
    for arm, result in summary["arms"].items():
        final, time_to = result["final"], result["time_to"]
        rows.append(
            f"| {LABELS.get(arm, arm).replace('Stockfish', 'table')} | {final['seconds']:.0f} | "
            f"{_share(final['win_keeping'])} | {_share(final['optimal'])} | "
            f"{_share(final.get('resistance'))} | {_share(final['conversion_raw'])} | "
            f"{_share(final.get('conversion_puct'))} | "
            f"{_seconds(time_to['win_keeping_0.9'])} / {_seconds(time_to['win_keeping_0.99'])} | "
            f"{_seconds(time_to['conversion_raw_0.9'])} / "
            f"{_seconds(time_to['conversion_raw_0.99'])} | {final['steps']} |")
    text = "\n".join(rows) + "\n"
    write_text(path, text)
    return text


def plot_curves(path: Path, summary: dict[str, Any]) -> Path | None:
    """Win-keeping and raw conversion against each arm's wall-clock seconds."""
    return plot_arms(path, summary["arms"],
                     [Panel({"win_keeping": ""}, "win-keeping moves of the raw policy (%)", 100),
                      Panel({"conversion_raw": ""},
                            "mates vs the perfect defender, raw policy (%)", 100)],
                     f"{summary['game']}: supervised vs self-play, "
                     f"{summary['budget_seconds']:.0f} s each, graded by the tables",
                     {arm: LABELS[arm].replace("Stockfish", "table") for arm in LABELS})

"""Grading, matches and the report of ``minizero compare`` (the runner is compare.py).

* Grades: every snapshot of each arm (and the shared initial net) on the held-out set, with
  `training.grade`: top-1 agreement of the raw policy with Stockfish's move, and the mean absolute
  error of the value against ``tanh(cp / 400)`` of Stockfish's score, both from the side to move.
  One line per snapshot in grades.jsonl; a snapshot is graded once, even across resumes.
* Matches: the two final nets against each other and each against the uniformly random mover.
  Each opening (a few seeded random plies from the start) is played twice with the colours
  swapped; the nets search with PUCT at a fixed number of simulations (no noise, fresh tree each
  move), a game reaching ``match_plies`` plies is a draw. One line per game in matches.jsonl, so
  a resumed run plays only the games it lacks. Score and Elo with its 95% interval (elo.py).
* Report: summary.json (every number), summary.md (two small tables), learning_curves.png
  (agreement and value error against wall-clock seconds, both arms on one figure).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from minizero.agents import play_game, puct_agent, random_agent
from minizero.atomic import atomic_write, write_text
from minizero.chessgame.game import ChessGame, ChessState
from minizero.chessgame.training import PackedSamples, grade
from minizero.elo import elo_interval
from minizero.nn.network import load_network
from minizero.rundir import append_metrics, read_metrics

LABELS = {"supervised": "supervised (Stockfish labels)", "selfplay": "self-play"}
PAIRINGS = (("supervised", "selfplay"), ("supervised", "random"), ("selfplay", "random"))


def position_key(fen: str) -> str:
    """Pieces, side to move, castling and en passant of a FEN (clocks left out)."""
    return " ".join(str(fen).split()[:4])


def position_keys(fens: np.ndarray) -> set[str]:
    """The `position_key` of each FEN."""
    return {position_key(fen) for fen in fens}


def not_in(fens: np.ndarray, keys: set[str]) -> np.ndarray:
    """True for the FENs whose position is not among ``keys``."""
    return np.array([position_key(fen) not in keys for fen in fens], dtype=bool)


def snapshots(out: Path, arm: str) -> list[dict[str, Any]]:
    return read_metrics(out / arm / "snapshots.jsonl")


def grade_snapshots(out: Path, held: PackedSamples, arms: tuple[str, ...],
                    log: Any = print) -> None:
    """Grade the initial net and every snapshot not graded yet; append to grades.jsonl."""
    path = out / "grades.jsonl"
    graded = {line["name"] for line in read_metrics(path)}
    todo = [{"snapshot": 0, "seconds": 0.0, "checkpoint": "initial.pt", "arm": "initial"}]
    for arm in arms:
        todo += [{**line, "arm": arm} for line in snapshots(out, arm)]
    for line in todo:
        name = f"{line['arm']}-{line['snapshot']:02d}"
        if name in graded:
            continue
        marks = grade(load_network(str(out / line["checkpoint"])), held)
        append_metrics(path, {"name": name, "arm": line["arm"], "snapshot": line["snapshot"],
                              "seconds": line["seconds"], "top1": marks["top1"],
                              "value_mae": marks["value_mae"]}, key="name")
        log(f"{line['arm']:10s} snapshot {line['snapshot']:2d} at {line['seconds']:7.1f} s: "
            f"top-1 {marks['top1']:6.1%}, value MAE {marks['value_mae']:.3f}")


def opening(game: ChessGame, index: int, seed: int, plies: int = 4) -> ChessState:
    """A seeded line of ``plies`` random moves from the start (redrawn if it ends the game)."""
    rng = random.Random(f"{seed}-opening-{index}")
    while True:
        state = game.initial_state()
        for _ in range(plies):
            if game.terminal_value(state) is not None:
                break
            state = game.apply(state, rng.choice(game.legal_actions(state)))
        if game.terminal_value(state) is None:
            return state


def play_matches(out: Path, game: ChessGame, config: Any, progress: bool = True) -> None:
    """The missing games of every pairing (see the module docstring), one line each."""
    path = out / "matches.jsonl"
    match_game = ChessGame(game.history, config.match_plies)
    played = {line["name"] for line in read_metrics(path)}
    finals = {arm: load_network(str(out / snapshots(out, arm)[-1]["checkpoint"]))
              for arm in ("supervised", "selfplay")}
    todo = [(a, b, index) for a, b in PAIRINGS for index in range(config.match_games)
            if f"{a}-vs-{b}-{index:03d}" not in played]
    for a, b, index in tqdm(todo, desc="matches", unit="game", disable=not progress,
                            leave=False):
        agents = [random_agent(match_game, config.seed * 1000 + index) if name == "random"
                  else puct_agent(match_game, finals[name], config.match_nodes)
                  for name in (a, b)]
        a_white = index % 2 == 0
        start = opening(match_game, index // 2, config.seed)
        first, second = agents if a_white else agents[::-1]
        result, actions = play_game(match_game, first, second, start)
        append_metrics(path, {"name": f"{a}-vs-{b}-{index:03d}", "pairing": f"{a}-vs-{b}",
                              "game": index, "a_white": a_white,
                              "result": int(result if a_white else -result),
                              "plies": start.ply + len(actions)}, key="name")


def summarize(out: Path, config: Any, held_out: int) -> dict[str, Any]:
    """Every number of the run: curves, final grades and arm statistics, match results."""
    grades = read_metrics(out / "grades.jsonl")
    initial = next(line for line in grades if line["arm"] == "initial")
    arms = {}
    for arm in ("supervised", "selfplay"):
        curve = [initial] + [line for line in grades if line["arm"] == arm]
        arms[arm] = {"curve": [{key: line[key] for key in ("snapshot", "seconds", "top1",
                                                           "value_mae")} for line in curve],
                     "final": {**snapshots(out, arm)[-1], **{key: curve[-1][key] for key in
                                                             ("top1", "value_mae")}},
                     "load_average": [line["load_average"] for line in snapshots(out, arm)
                                      if "load_average" in line]}
    matches = {}
    lines = read_metrics(out / "matches.jsonl")
    for a, b in PAIRINGS:
        games = [line for line in lines if line["pairing"] == f"{a}-vs-{b}"]
        results = [line["result"] for line in games]
        wins, draws, losses = results.count(1), results.count(0), results.count(-1)
        elo, low, high = (_finite(value) for value in elo_interval(wins, draws, losses))
        matches[f"{a}-vs-{b}"] = {
            "a": a, "b": b, "games": len(results), "wins": wins, "draws": draws,
            "losses": losses, "score": (wins + 0.5 * draws) / max(1, len(results)),
            "elo": elo, "elo_low": low, "elo_high": high,
            "mean_plies": float(np.mean([line["plies"] for line in games] or [0]))}
    return {"budget_seconds": config.budget, "held_out_positions": held_out,
            "match_nodes": config.match_nodes, "match_plies": config.match_plies,
            "initial": {"top1": initial["top1"], "value_mae": initial["value_mae"]},
            "arms": arms, "matches": matches}


def _finite(value: float) -> float | None:
    """JSON has no infinity: an unbounded Elo (all won, all lost) is stored as null."""
    return None if abs(value) == float("inf") else value


def _elo(value: float | None, unbounded: str) -> str:
    return unbounded if value is None else f"{round(value) or 0:+d}"  # no "-0"


def write_markdown(path: Path, summary: dict[str, Any]) -> str:
    """Two small tables: the arms at the end of their budget, and the matches."""
    sup, sel = summary["arms"]["supervised"]["final"], summary["arms"]["selfplay"]["final"]
    loads = [load for arm in summary["arms"].values() for load in arm["load_average"]]
    rows = [
        f"Budget {summary['budget_seconds']:.0f} s per arm; held-out set "
        f"{summary['held_out_positions']} positions"
        + (f"; 1-minute load average at the snapshots {min(loads):.1f} to {max(loads):.1f}."
           if loads else "."), "",
        "| arm | seconds used | top-1 agreement | value MAE | training steps | data |",
        "|---|---|---|---|---|---|",
        f"| initial net | 0 | {summary['initial']['top1']:.1%} | "
        f"{summary['initial']['value_mae']:.3f} | 0 | - |",
        f"| supervised | {sup['seconds']:.0f} | {sup['top1']:.1%} | {sup['value_mae']:.3f} | "
        f"{sup['steps']} | {sup['positions']} labelled positions |",
        f"| self-play | {sel['seconds']:.0f} | {sel['top1']:.1%} | {sel['value_mae']:.3f} | "
        f"{sel['steps']} | {sel['games']} games ({sel['plies']} plies, {sel['resigned']} "
        f"resigned, {sel['false_resignations']}/{sel['no_resign_checks']} false "
        "resignations) |", "",
        f"| match (PUCT {summary['match_nodes']} nodes, draw at {summary['match_plies']} plies) "
        "| games | W/D/L (first named) | score | Elo (95%) | mean plies |",
        "|---|---|---|---|---|---|"]
    for name, match in summary["matches"].items():
        sign = "+inf" if match["score"] > 0.5 else "-inf"
        rows.append(f"| {name.replace('-vs-', ' vs ')} | {match['games']} | {match['wins']}/"
                    f"{match['draws']}/{match['losses']} | {match['score']:.1%} | "
                    f"{_elo(match['elo'], sign)} [{_elo(match['elo_low'], '-inf')}, "
                    f"{_elo(match['elo_high'], '+inf')}]"
                    f" | {match['mean_plies']:.0f} |")
    text = "\n".join(rows) + "\n"
    write_text(path, text)
    return text


def plot_curves(path: Path, summary: dict[str, Any]) -> Path | None:
    """Top-1 agreement and value error against the arm's wall-clock seconds."""
    return plot_arms(path, summary, [("top1", 100, "top-1 agreement with Stockfish (%)"),
                                     ("value_mae", 1, "value MAE vs tanh(cp / 400)")],
                     "wall-clock seconds of the arm (labelling, games, training)",
                     f"Chess: supervised vs self-play, {summary['budget_seconds']:.0f} s each, "
                     f"{summary['held_out_positions']} held-out positions", LABELS)


def plot_arms(path: Path, summary: dict[str, Any], panels: list[tuple[str, float, str]],
              xlabel: str, title: str, labels: dict[str, str]) -> Path | None:
    """One panel a grade (curve key, scale, y label), both arms' curves against their
    wall-clock seconds, written as a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4))
    for arm, style in (("supervised", "-o"), ("selfplay", "-s")):
        curve = summary["arms"][arm]["curve"]
        seconds = [point["seconds"] for point in curve]
        for axis, (key, scale, _) in zip(axes, panels):
            axis.plot(seconds, [scale * point[key] for point in curve], style,
                      label=labels[arm])
    for axis, (_, _, ylabel) in zip(axes, panels):
        axis.set_ylabel(ylabel)
        axis.set_xlabel(xlabel)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_write(path) as handle:
        figure.savefig(handle, format="png", dpi=110)
    plt.close(figure)
    return path

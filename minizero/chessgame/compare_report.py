"""Grading, matches and the report of ``minizero compare --game chess`` (compare.py runs it).

* Grades: every snapshot of each arm (and the shared initial net) on the held-out set, with
  `training.grade`: top-1 agreement of the raw policy with Stockfish's move, and the mean absolute
  error of the value against ``tanh(cp / 400)`` of Stockfish's score, both from the side to move
  (one line per snapshot in grades.jsonl, written by minizero/compare.py).
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
import torch
from tqdm import tqdm

from minizero.agents import play_game, puct_agent, random_agent
from minizero.atomic import write_text
from minizero.chessgame.game import ChessGame, ChessState
from minizero.chessgame.training import PackedSamples, grade
from minizero.compare_curves import Panel, plot_arms
from minizero.elo import elo_interval
from minizero.nn.network import load_network
from minizero.rundir import append_metrics, read_metrics

LABELS = {"supervised": "supervised (Stockfish labels)", "selfplay": "self-play"}
AXIS = "wall-clock seconds of the arm (labelling, games, training)"
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


def grade_held_out(network: torch.nn.Module, held: PackedSamples) -> dict[str, float]:
    """Top-1 agreement of the raw policy with Stockfish's move and the value's mean absolute
    error against ``tanh(cp / 400)`` of its score, on the held-out set."""
    marks = grade(network, held)
    return {"top1": marks["top1"], "value_mae": marks["value_mae"]}


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
    finals = {arm: load_network(str(out / read_metrics(out / arm / "snapshots.jsonl")[-1][
        "checkpoint"])) for arm in ("supervised", "selfplay")}
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


def summarize(out: Path, arms: dict[str, Any], config: Any, held_out: int) -> dict[str, Any]:
    """Every number of the run: curves, final grades and arm statistics (``arms`` as
    `arm_curves` gives them), match results."""
    initial = arms["initial"]
    result = {arm: {"curve": [{key: point[key] for key in ("snapshot", "seconds", "top1",
                                                          "value_mae")}
                              for point in part["curve"]],
                    "final": part["final"], "load_average": part["load_average"]}
              for arm, part in arms["arms"].items()}
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
            "arms": result, "matches": matches}


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
    return plot_arms(path, summary["arms"],
                     [Panel({"top1": ""}, "top-1 agreement with Stockfish (%)", 100, AXIS),
                      Panel({"value_mae": ""}, "value MAE vs tanh(cp / 400)", 1, AXIS)],
                     f"Chess: supervised vs self-play, {summary['budget_seconds']:.0f} s each, "
                     f"{summary['held_out_positions']} held-out positions", LABELS)

"""The package's other players graded on the chess endgames, with the learners' grades.

``endgame_grade.py`` grades the networks that `minizero compare` trains on an ending; here the
same grades, from the same graded positions and the same 200 fixed won starts against the
perfect defender, go to the players the package ships:

- the full-chess AlphaZero net ``zero-small.pt``: its raw policy (every graded position, as the
  learners are graded) and PUCT at 64 simulations; the ending is encoded with the net's own
  history (two positions), so its input planes are those it was trained on;
- ``minizero-uci`` (classical alpha-beta) and ``nnue-uci`` at a fixed node count a move, with
  the package's tables (``Tablebases``, ``TablebasePath``: the engines play the tables' move at
  the root) and without them.

A player that searches is graded on a fixed sample of the graded positions (``--sample``, the
same rows for all), the raw policy on all of them. Each finished (ending, player) is kept
beside the tables and a rerun with the same settings goes on from there; runs of different
endings may go at once (``--endings``, ``--name``), and a last run of them all, which finds
every grade done, writes the whole table.

    make bench BENCH=endgame_players
    nice -n 10 python -m benchmarks.bench_endgame_players --endings KQvK,KRvK,KQvKR,KBNvK
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chess.engine
import numpy as np
import torch
from tqdm import tqdm

from benchmarks.common import cpu, markdown_table, write_results
from minizero.agents import puct_agent
from minizero.atomic import write_text
from minizero.chessgame import encoding
from minizero.chessgame.endgame import EndgameGame
from minizero.chessgame.endgame_grade import (
    CONVERSION_STARTS,
    GRADE_SEED,
    GradingSet,
    Player,
    convert,
    grade_choices,
    grade_network,
    grading_set,
    uci_player,
)
from minizero.chessgame.game import ChessState
from minizero.chessgame.tablebase.probe import build_tables
from minizero.chessgame.tablebase.signature import parse_signature
from minizero.chessgame.tablebase.storage import default_directory
from minizero.chessgame.uci_game import EngineSpec
from minizero.nn.network import load_network

NET = Path(__file__).resolve().parent.parent / "minizero" / "chessgame" / "nets" / "zero-small.pt"
PUCT_NODES = 64
QUIET = not sys.stderr.isatty()


def engine_specs(directory: Path) -> dict[str, EngineSpec]:
    """The UCI players, with the tables and without."""
    specs = {}
    for command in ("minizero-uci", "nnue-uci"):
        specs[f"{command} with tables"] = EngineSpec.parse(
            command, ["Tablebases=true", f"TablebasePath={directory}"])
        specs[f"{command} without tables"] = EngineSpec.parse(command, ["Tablebases=false"])
    return specs


def sample_rows(graded: GradingSet, count: int) -> np.ndarray:
    """A fixed sample of the graded rows (all of them when there are fewer)."""
    if len(graded) <= count:
        return np.arange(len(graded))
    return np.sort(np.random.default_rng(GRADE_SEED).choice(len(graded), count, replace=False))


def grade_player(game: EndgameGame, graded: GradingSet, rows: np.ndarray, player: Player,
                 label: str) -> dict[str, Any]:
    """win_keeping and optimal of ``player``'s moves on ``rows``, its conversion from the
    starts, and the seconds each took."""
    began = time.perf_counter()
    chosen = np.array([graded.choice(row, player(ChessState(graded.board(game, row))))
                       for row in tqdm(rows, desc=f"{label} moves", file=sys.stderr,
                                       disable=QUIET)], np.int64)
    moved = time.perf_counter()
    conversion = convert(game, player, graded.starts)
    return {"positions": len(rows), **grade_choices(graded, chosen), "conversion": conversion,
            "move_seconds": round(moved - began, 1),
            "conversion_seconds": round(time.perf_counter() - moved, 1)}


def grade_zero_small(game: EndgameGame, graded: GradingSet, rows: np.ndarray,
                     puct: bool) -> dict[str, Any]:
    """zero-small.pt's raw policy on every graded position, or PUCT at 64 nodes on ``rows``."""
    network = load_network(str(NET), game.input_shape, game.action_size)
    if puct:
        return grade_player(game, graded, rows, puct_agent(game, network, PUCT_NODES),
                            f"{game.signature} zero-small PUCT")
    began = time.perf_counter()
    grades = grade_network(game, network, graded)
    return {"positions": grades["positions"], "win_keeping": grades["win_keeping"],
            "optimal": grades["optimal"], "conversion": grades["conversion_raw"],
            "seconds": round(time.perf_counter() - began, 1)}


def grade_engine(game: EndgameGame, graded: GradingSet, rows: np.ndarray, spec: EngineSpec,
                 nodes: int, label: str) -> dict[str, Any]:
    engine = chess.engine.SimpleEngine.popen_uci(list(spec.command))
    try:
        engine.configure(dict(spec.options))
        engine.ping()
        return grade_player(game, graded, rows, uci_player(engine, chess.engine.Limit(
            nodes=nodes)), label)
    finally:
        engine.quit()


def run(endings: list[str], directory: Path, nodes: int, sample: int,
        starts: int = CONVERSION_STARTS,
        on_ending: Callable[[dict[str, Any]], None] | None = None,
        grade: bool = True) -> dict[str, Any]:
    """Every player on every ending (resumed from the partial record beside the tables);
    ``on_ending(results)`` after each ending, so that a long run reports as it goes. With
    ``grade`` False, only the grades already recorded."""
    build_tables([parse_signature(name) for name in endings], directory, quiet=QUIET)

    def partial(name: str) -> Path:  # one record an ending: runs of other endings may overlap
        return directory / f"bench-endgame-players-{name}-{nodes}-{sample}-{starts}.json"

    results: dict[str, dict[str, Any]] = {
        name: json.loads(partial(name).read_text()) if partial(name).exists() else {}
        for name in endings}
    net_history = encoding.history_of(load_network(str(NET)).config.input_shape[0])
    assert net_history is not None
    specs = engine_specs(directory)
    players = ["zero-small.pt, raw policy", f"zero-small.pt, PUCT {PUCT_NODES} nodes",
               *(f"{label}, {nodes} nodes" for label in specs)]
    for name in endings:
        done = results[name]
        if not grade or all(player in done for player in players):
            if on_ending is not None:
                on_ending(results)
            continue
        net_game = EndgameGame(signature=name, tables=str(directory), history=net_history)
        game = EndgameGame(signature=name, tables=str(directory))
        graded, net_graded = grading_set(game, starts), grading_set(net_game, starts)
        rows = sample_rows(graded, sample)
        for player, label in zip(players, [None, None, *specs]):
            if player in done:
                continue
            print(f"{name}: {player} ...", file=sys.stderr, flush=True)
            grades = (grade_zero_small(net_game, net_graded, rows, puct="PUCT" in player)
                      if label is None else
                      grade_engine(game, graded, rows, specs[label], nodes, f"{name} {label}"))
            done[player] = {**grades, "load_average_1_min": round(os.getloadavg()[0], 2)}
            print(f"{name}: {player}: {done[player]}", file=sys.stderr, flush=True)
            write_text(partial(name), json.dumps(done, indent=1))
        if on_ending is not None:
            on_ending(results)
    return results


def table_text(results: dict[str, Any], nodes: int, sample: int, starts: int) -> str:
    rows = []
    for ending, players in results.items():
        for player, grades in players.items():
            rows.append([ending, player, f"{grades['positions']:,}",
                         f"{grades['win_keeping']:.1%}", f"{grades['optimal']:.1%}",
                         f"{grades['conversion']:.1%}", f"{grades['load_average_1_min']:.1f}"])
    loads = [grades["load_average_1_min"] for players in results.values()
             for grades in players.values()]
    text = markdown_table(["ending", "player", "graded positions", "win-keeping",
                           "distance-optimal", "conversion vs the perfect defender",
                           "1-min load"], rows)
    return text + (
        f"\n\nWin-keeping and distance-optimal: the player's move in the graded won positions "
        f"(the raw policy on all of them; a searching player on a fixed sample of {sample}). "
        f"Conversion: from the same {starts} fixed won starts as the learners, the share mated "
        f"against the tables' longest resistance before the fifty-move rule or a repetition. "
        f"UCI engines at {nodes:,} nodes a move; PUCT at {PUCT_NODES} simulations. 1-minute "
        f"load average {min(loads, default=0):.1f} to {max(loads, default=0):.1f} at the end "
        f"of each row, on {cpu().get('model') or 'an unknown CPU'} ({os.cpu_count()} cores).\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_endgame_players",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--endings", default="KQvK,KRvK,KQvKR,KBNvK",
                        help="comma-separated tables, in the order they are graded")
    parser.add_argument("--dir", default=None, help="folder of tables (default: the cache)")
    parser.add_argument("--nodes", type=int, default=2000, help="UCI nodes a move")
    parser.add_argument("--sample", type=int, default=500,
                        help="graded positions a searching player is asked")
    parser.add_argument("--starts", type=int, default=CONVERSION_STARTS,
                        help="conversion starts (the learners' 200 by default)")
    parser.add_argument("--report-only", action="store_true",
                        help="write the table of the grades recorded so far, grade nothing")
    parser.add_argument("--name", default="endgame_players", help="results file name")
    args = parser.parse_args(argv if argv is not None else [])
    torch.set_num_threads(1)
    directory = Path(args.dir) if args.dir else default_directory()

    def report(results: dict[str, Any]) -> None:
        write_results(args.name, {"nodes": args.nodes, "sample": args.sample,
                                  "starts": args.starts, "puct_nodes": PUCT_NODES,
                                  "results": results},
                      table_text(results, args.nodes, args.sample, args.starts))

    run(args.endings.split(","), directory, args.nodes, args.sample, args.starts, report,
        grade=not args.report_only)


if __name__ == "__main__":
    main(sys.argv[1:])

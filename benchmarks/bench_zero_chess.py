"""The PUCT chess engine with the shipped network: agreement, strength, speed.

1. Top-1 agreement of the raw policy with Stockfish (depth 8) and value error, on the held-out
   games (5%, split by game id) of the supervised data set; as yardsticks, how often Stockfish
   itself at depth 6 and 8 (one search from the FEN, a fresh hash) picks the labelled move --
   the labels come from searches inside a game, whose hash holds the earlier moves' work.
2. The raw policy (1 node a move) against a uniformly random mover, colours alternating.
3. Network evaluations per second in the engine at batch 1 and at the engine's batch size, in
   float32 and (where the CPU computes it natively) bfloat16, measured interleaved; and how
   closely the bfloat16 net follows the float32 one (same top move, value difference); and
   training steps per second (batch 256, 2 threads) in float32 and bfloat16 (`--precision`),
   measured interleaved (these live in zero_chess_speed.py).
4. Strength against nodes: the engine at 1, 16, 64, 256 (and more) simulations a move against a
   fixed opponent (Stockfish at Skill Level 0, 50 ms a move), colours alternating.
5. Self-play speed: games per hour with the shipped net (32 simulations, one process).
6. ``zero-uci`` against sunfish at 10+0.1, colour-swapped openings (benchmarks/openings.fen).

Environment: MINIZERO_BENCH_PARTS (some of agreement,random,speed,selfplay,nodes,sunfish;
default all; the others keep their last figures for the same net), MINIZERO_AZ_DATA (data set,
default /work/data/az-chess/sf-d8), MINIZERO_AZ_RUN (the supervised run whose learning curve is
plotted, default /work/data/az-chess/runs/regrown3), MINIZERO_BENCH_GAMES (games per node
setting, default 8), MINIZERO_BENCH_NODES (default 1,16,64,256,1024),
MINIZERO_BENCH_RANDOM_GAMES (default 100), MINIZERO_BENCH_SUNFISH_GAMES (default 100),
MINIZERO_BENCH_TC (default 10+0.1), MINIZERO_BENCH_ADJUDICATE=1 (as in nnue_match).
Run: ``make bench BENCH=zero_chess``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import chess
import chess.engine
import numpy as np
import torch

from benchmarks.common import (
    RESULTS,
    adjudication,
    markdown_table,
    time_handicap_text,
    write_results,
)
from benchmarks.zero_chess_speed import (
    bare_fen_agreement,
    evaluations_per_second,
    precision_agreement,
    training_steps_per_second,
)
from minizero.agents import network_agent, play_out, random_agent
from minizero.chessgame.commands import parse_time_control
from minizero.chessgame.encoding import history_of, move_to_index
from minizero.chessgame.game import ChessGame
from minizero.chessgame.match import EngineSpec, MatchConfig, run_match
from minizero.chessgame.openings import read_openings
from minizero.chessgame.protocol import Limits
from minizero.chessgame.puct_engine import SHIPPED_NET, PuctEngine, PuctEngineConfig
from minizero.chessgame.stockfish import UciEngine
from minizero.chessgame.training import PackedSamples, grade, load_chess_data, validation_mask
from minizero.elo import wilson_interval
from minizero.nn.network import load_network, resolve_precision
from minizero.peers import find_stockfish, find_sunfish
from minizero.search.puct import PUCTConfig, network_evaluator
from minizero.selfplay import play_game

OPENINGS = Path(__file__).resolve().parent / "openings.fen"
POSITIONS = [
    chess.STARTING_FEN,
    "r1bqkb1r/pppp1ppp/2n2n2/4p3/2B1P3/5N2/PPPP1PPP/RNBQK2R w KQkq - 4 4",
    "r2q1rk1/pp2bppp/2n1pn2/3p4/3P4/2NBPN2/PP3PPP/R2Q1RK1 w - - 0 10",
    "8/5k2/3p4/1p1Pp2p/pP2Pp1P/P4P1K/8/8 b - - 0 1",
]


def agreement(network: torch.nn.Module) -> dict[str, float]:
    data = Path(os.environ.get("MINIZERO_AZ_DATA", "/work/data/az-chess/sf-d8"))
    if not data.is_dir():
        return {}
    samples, game_ids = load_chess_data([data], 2)
    held = samples.subset(validation_mask(game_ids, 0.05))
    return {**grade(network, held, mirror_average=True), **stockfish_agreement(held, (6, 8))}


def stockfish_agreement(held: PackedSamples, depths: tuple[int, ...]) -> dict[str, float]:
    """How often Stockfish at each depth, searching each FEN afresh, picks the labelled move."""
    engine = UciEngine(find_stockfish())
    try:
        found = {}
        for depth in depths:
            agree = 0
            for fen, label in zip(held.fen, held.move):
                board = chess.Board(str(fen))
                engine.new_game()
                best = chess.Move.from_uci(engine.search([], depth, None, fen=str(fen))[1])
                agree += move_to_index(best, board.turn) == label
            found[f"stockfish_depth{depth}_top1"] = agree / max(1, len(held))
        return found
    finally:
        engine.close()


def versus_random(network: torch.nn.Module, games: int) -> dict[str, object]:
    """The raw policy against a uniformly random mover, colours alternating; how each game
    that was not won ended (stalemate, repetition, fifty moves, material, the 400-ply cap).
    The game keeps as many history steps as the network reads."""
    game = ChessGame(history=history_of(network.config.input_shape[0]), max_plies=400)
    ours, theirs = network_agent(game, network), random_agent(game, 1)
    record = {"wins": 0, "draws": 0, "losses": 0, "not_won": {}}
    for index in range(games):
        our_side = index % 2  # 0: White
        state, _ = (play_out(game, ours, theirs) if our_side == 0
                    else play_out(game, theirs, ours))
        value = game.terminal_value(state)
        result = value if game.to_play(state) == our_side else -value
        board, ending = state.board, None
        if result > 0:
            record["wins"] += 1
        elif result < 0:
            record["losses"] += 1
            ending = "lost"
        else:
            record["draws"] += 1
            ending = ("stalemate" if board.is_stalemate() else "repetition"
                      if state.repetitions >= 2 else "fifty moves"
                      if board.halfmove_clock >= 100 else "material"
                      if board.is_insufficient_material() else "ply cap")
        if ending:
            record["not_won"][ending] = record["not_won"].get(ending, 0) + 1
    record["score"] = (record["wins"] + 0.5 * record["draws"]) / games
    return record


def play_versus(engine: PuctEngine, nodes: int, opponent: chess.engine.SimpleEngine,
                white: bool, opening: str) -> float:
    """One game; the PUCT engine's score (1, 0.5, 0)."""
    board = chess.Board(opening)
    engine.new_game()
    while not board.is_game_over(claim_draw=True) and board.ply() < 300:
        if board.turn == (chess.WHITE if white else chess.BLACK):
            move = engine.search(board, Limits(nodes=nodes)).best_move
        else:
            move = opponent.play(board, chess.engine.Limit(time=0.05)).move
        board.push(move)
    outcome = board.outcome(claim_draw=True)
    if outcome is None or outcome.winner is None:
        return 0.5
    return 1.0 if outcome.winner == (chess.WHITE if white else chess.BLACK) else 0.0


def strength_curve(nodes_list: list[int], games: int) -> dict[int, float]:
    engine = PuctEngine()
    engine.prepare()
    scores = {}
    with chess.engine.SimpleEngine.popen_uci(find_stockfish()) as opponent:
        opponent.configure({"Skill Level": 0, "Threads": 1})
        for nodes in nodes_list:
            results = [play_versus(engine, nodes, opponent, game % 2 == 0,
                                   POSITIONS[(game // 2) % 3]) for game in range(games)]
            scores[nodes] = float(np.mean(results))
            print(f"  {nodes} nodes: {sum(results)}/{games}", flush=True)
    return scores


def selfplay_games_per_hour(network: torch.nn.Module, games: int = 2) -> tuple[float, dict]:
    """Games per hour of one process, and the games' statistics (plies, resignations)."""
    game = ChessGame(max_plies=200)
    config = PUCTConfig(simulations=32, add_noise=True, temperature_moves=20, batch_size=8)
    evaluate = network_evaluator(game, network)
    stats: dict[str, int] = {}
    began = time.perf_counter()
    for seed in range(games):
        play_game(game, evaluate, config, np.random.default_rng(seed), symmetries=False,
                  resign_threshold=-0.95, may_resign=True, stats=stats)
    return games * 3600 / (time.perf_counter() - began), stats


def plot(scores: dict[int, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 3.5))
    axes.plot(list(scores), list(scores.values()), marker="o")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("simulations per move")
    axes.set_ylabel("score vs Stockfish skill 0")
    axes.set_ylim(-0.05, 1.05)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def training_records(run: Path, shipped_records: list[dict] | None = None) -> list[dict]:
    """The run's metrics, after those of the run its ``--init`` checkpoint came from (if that
    was a run directory), with epochs and minutes counted on from there. A run started from the
    shipped net file continues ``shipped_records``, the curve the last bench plotted for it."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
               if line.strip()]
    init = json.loads((run / "config.json").read_text()).get("init")
    parent = Path(init).parent.parent if init else None
    if parent is not None and (parent / "metrics.jsonl").exists():
        earlier = training_records(parent, shipped_records)
    elif init and Path(init).resolve() == SHIPPED_NET.resolve() and shipped_records:
        earlier = [record for record in shipped_records if record.get("run") != run.name]
    else:
        return records
    epochs, seconds = earlier[-1]["epoch"], earlier[-1]["seconds"]
    return earlier + [{**record, "epoch": record["epoch"] + epochs, "run": run.name,
                       "seconds": record["seconds"] + seconds} for record in records]


def plot_training(run: Path, path: Path, shipped_records: list[dict] | None = None
                  ) -> list[dict]:
    """Held-out top-1 agreement and value error per epoch of the supervised run (and of the
    runs it continued)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = training_records(run, shipped_records)
    figure, axes = plt.subplots(figsize=(5, 3.5))
    minutes = [record["seconds"] / 60 for record in records]
    axes.plot(minutes, [record["top1"] for record in records], marker="o", label="top-1 vs SF")
    axes.plot(minutes, [record["value_mae"] for record in records], marker="s",
              label="value MAE")
    axes.set_xlabel("training minutes (2 cores)")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return records


PARTS = ("agreement", "random", "speed", "selfplay", "nodes", "sunfish")


def versus_sunfish(games: int, tc: str) -> dict[str, object]:
    """``zero-uci`` against sunfish at ``tc``, colour-swapped openings, two games at once, with
    the nnue_match adjudication (MINIZERO_BENCH_ADJUDICATE=1)."""
    base, increment = parse_time_control(tc)
    ours = EngineSpec("zero-uci", (sys.executable, "-m", "minizero.chessgame.puct_engine"))
    config = MatchConfig(games=games, base_time=base, increment=increment, concurrency=2,
                         **adjudication())
    pgn = RESULTS / "zero_chess_sunfish.pgn"
    pgn.unlink(missing_ok=True)
    result = run_match(ours, EngineSpec("sunfish", (find_sunfish(),)), read_openings(OPENINGS),
                       config, progress=sys.stderr.isatty(), pgn_path=pgn)
    return {"tc": tc, "adjudication": adjudication() or None, **result.summary()}


def rows_of(payload: dict) -> list[list[object]]:
    rows: list[list[object]] = []
    graded = payload.get("agreement")
    if graded:
        low, high = wilson_interval(round(graded["top1"] * graded["held_out"]),
                                    graded["held_out"])
        rows.append(["top-1 agreement with Stockfish d8 (held-out), 95% interval",
                     f"{graded['top1']:.1%} [{low:.1%}, {high:.1%}]"])
        if "top1_mirror_average" in graded:
            rows.append(["the same, policy averaged with the file-mirrored position's "
                         "(castling-free positions)", f"{graded['top1_mirror_average']:.1%}"])
        for depth in (6, 8):
            rows.append([f"yardstick: Stockfish depth {depth} from the FEN (fresh hash), same "
                         "positions", f"{graded[f'stockfish_depth{depth}_top1']:.1%}"])
        rows.append(["value MAE vs tanh(cp/400) (held-out)", f"{graded['value_mae']:.3f}"])
        rows.append(["held-out positions", graded["held_out"]])
    if "versus_random" in payload:
        record = payload["versus_random"]
        games = record["wins"] + record["draws"] + record["losses"]
        endings = ", ".join(f"{count} {kind}" for kind, count in
                            sorted(record.get("not_won", {}).items()))
        rows.append([f"raw policy vs random mover, {games} games (W/D/L)",
                     f"{record['wins']}/{record['draws']}/{record['losses']}"
                     + (f" (not won: {endings})" if endings else "")])
    if "evaluations_per_second" in payload:
        rates = payload["evaluations_per_second"]
        for precision, by_batch in rates.items():
            (single_batch, single), (batch, batched) = by_batch.items()
            rows.append([f"engine evaluations/s, {precision}, batch {single_batch}",
                         f"{single:.0f}"])
            rows.append([f"engine evaluations/s, {precision}, batch {batch}",
                         f"{batched:.0f} ({batched / single:.2f}x batch {single_batch})"])
        if "bfloat16" in rates:
            speedup = ", ".join(f"batch {batch} {rates['bfloat16'][batch] / rate:.2f}x"
                                for batch, rate in rates["float32"].items())
            rows.append(["bfloat16 / float32 evaluations/s, measured interleaved", speedup])
    if "training_steps_per_second" in payload:
        rates = payload["training_steps_per_second"]
        rows.append(["training steps/s, batch 256, 2 threads, measured interleaved", ", ".join(
            f"{precision} {rate:.2f}" for precision, rate in rates.items())
            + (f" ({rates['bfloat16'] / rates['float32']:.2f}x)" if "bfloat16" in rates
               else "")])
    if "precision_agreement" in payload:
        graded = payload["precision_agreement"]
        rows.append([f"bfloat16 vs float32 net, {graded['positions']} positions: same top move"
                     ", value difference mean / max",
                     f"{graded['same_top1']:.1%}, {graded['value_mean_difference']:.4f} / "
                     f"{graded['value_max_difference']:.4f}"])
    if "selfplay_games_per_hour" in payload:
        stats, per_hour = payload["selfplay_stats"], payload["selfplay_games_per_hour"]
        rows.append(["self-play games/hour (32 sims, 1 process, cap 200 plies, resign < -0.95)",
                     f"{per_hour:.0f} ({stats['plies'] / stats['games']:.0f} plies a game, "
                     f"{stats['resigned']} of {stats['games']} resigned)"])
    if "strength_vs_nodes" in payload:
        curve = payload["strength_vs_nodes"]
        for nodes, score in curve["scores"].items():
            rows.append([f"score vs Stockfish skill 0 at {nodes} nodes ({curve['games']} games)",
                         f"{score:.2f}"])
    if "sunfish" in payload:
        match = payload["sunfish"]
        low, high = match["elo_low"], match["elo_high"]
        rows.append([f"zero-uci vs sunfish at {match['tc']}, {match['games']} games (W/D/L)",
                     f"{match['wins']}/{match['draws']}/{match['losses']}, score "
                     f"{match['score']:.1%}, Elo {match['elo']:+.0f} [{low:+.0f}, {high:+.0f}], "
                     "forfeits " + ", ".join(f"{name} {sum(kinds.values())}" for name, kinds
                                             in match["forfeits"].items())
                     + f", time handicap {time_handicap_text(match)}"])
    if "bare_fen_agreement" in payload:
        graded = payload["bare_fen_agreement"]
        for name, what in (("filled", "unknown history steps filled (the encoding)"),
                           ("empty", "unknown history steps left empty")):
            rows.append([f"bare FEN vs the position reached by moves, {graded['positions']} "
                         f"positions, {what}: same top move, mean value difference",
                         f"{graded[f'{name}_same_top1']:.1%}, "
                         f"{graded[f'{name}_value_difference']:.3f}"])
    return rows


def main() -> None:
    """MINIZERO_BENCH_PARTS (default all of PARTS) picks what to measure; the other parts'
    figures are kept from the last run if it measured the same net."""
    torch.set_num_threads(1)
    network = load_network(str(SHIPPED_NET))
    previous = RESULTS / "zero_chess.json"
    payload: dict[str, object] = json.loads(previous.read_text()) if previous.exists() else {}
    shipped_records = payload.get("training")  # the curve of the net a new run may start from
    net_sha256 = hashlib.sha256(SHIPPED_NET.read_bytes()).hexdigest()
    if payload.get("net_sha256") != net_sha256:  # figures of another net are dropped
        payload = {}
    payload.update({"net": SHIPPED_NET.name, "net_bytes": SHIPPED_NET.stat().st_size,
                    "net_sha256": net_sha256})
    parts = os.environ.get("MINIZERO_BENCH_PARTS", ",".join(PARTS)).split(",")
    run = Path(os.environ.get("MINIZERO_AZ_RUN", "/work/data/az-chess/runs/regrown3"))
    if (run / "metrics.jsonl").exists():
        payload["training"] = plot_training(run, RESULTS / "zero_chess_training.png",
                                            shipped_records)
    if "agreement" in parts and (graded := agreement(network)):
        payload["agreement"] = graded
    if "random" in parts:
        payload["versus_random"] = versus_random(
            network, int(os.environ.get("MINIZERO_BENCH_RANDOM_GAMES", "100")))
    if "speed" in parts:
        # float32 is the baseline; bfloat16 is measured where the engine's auto picks it
        precisions = ("float32",) + (
            ("bfloat16",) if resolve_precision("auto", torch.device("cpu")) == torch.bfloat16
            else ())
        payload["evaluations_per_second"] = evaluations_per_second(
            POSITIONS, (1, PuctEngineConfig().batch_size), precisions)
        payload["training_steps_per_second"] = training_steps_per_second(network, precisions)
        payload["precision_agreement"] = precision_agreement(network, OPENINGS)
        payload["bare_fen_agreement"] = bare_fen_agreement(network, OPENINGS)
    if "selfplay" in parts:
        payload["selfplay_games_per_hour"], payload["selfplay_stats"] = \
            selfplay_games_per_hour(network)
    if "nodes" in parts:
        nodes = os.environ.get("MINIZERO_BENCH_NODES", "1,16,64,256,1024")
        games = int(os.environ.get("MINIZERO_BENCH_GAMES", "8"))
        scores = strength_curve([int(n) for n in nodes.split(",")], games)
        payload["strength_vs_nodes"] = {"opponent": "stockfish skill 0, 50 ms", "games": games,
                                        "scores": scores}
        plot(scores, RESULTS / "zero_chess_nodes.png")
    if "sunfish" in parts:
        payload["sunfish"] = versus_sunfish(
            int(os.environ.get("MINIZERO_BENCH_SUNFISH_GAMES", "100")),
            os.environ.get("MINIZERO_BENCH_TC", "10+0.1"))
    write_results("zero_chess", payload, markdown_table(["measure", "value"], rows_of(payload)))


if __name__ == "__main__":
    main()

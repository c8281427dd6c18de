"""Ray against this machine's own processes, on the same work and the same number of CPUs.

Two kinds of units, each run through ``minizero.cluster`` locally (a process pool) and on a
one-machine Ray cluster with as many CPUs, interleaved (local, Ray, local, Ray, ...) so both see
the same load:

- tablebases: the pawnless 4-man tables solved from the 3-man ones (``tablebase build``);
- games: a fixed-node match of ``minizero-uci`` against itself (``minizero match``);
- labelled positions: Stockfish games at depth 6, one shard a unit (``minizero chessdata``);
- self-play games: one generation of 4x4 Hexapawn, a shard of games a unit (``minizero
  selfplay``; its few training steps stay on the driver and are counted too).

The figure is Ray's throughput as a share of the local processes' (the aim is at least 0.9).

    make bench BENCH=cluster
    python -m benchmarks.bench_cluster --rounds 3 --games 8
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import chess

from benchmarks.common import markdown_table, write_results
from minizero.chessgame.data import ChessDataConfig, generate
from minizero.chessgame.match import EngineSpec, MatchConfig, run_match
from minizero.chessgame.tablebase.probe import build_tables
from minizero.chessgame.tablebase.signature import all_signatures, parse_signature
from minizero.cluster import LOCAL, ClusterSpec
from minizero.peers import find_stockfish

TABLES = ("KQvKR", "KRvKN", "KBNvK", "KBBvK", "KQvKN", "KRvKB", "KNNvK", "KQvKB")
OPENINGS = [chess.STARTING_FEN,
            "rnbqkb1r/pppp1ppp/5n2/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3"]


def tables_per_second(cluster: ClusterSpec, workers: int, three_men: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as folder:
        for path in three_men.iterdir():
            shutil.copy(path, folder)
        start = time.perf_counter()
        build_tables([parse_signature(name) for name in TABLES], folder, quiet=True,
                     cluster=cluster, workers=workers)
        return len(TABLES) / (time.perf_counter() - start)


def games_per_minute(cluster: ClusterSpec, workers: int, games: int) -> float:
    config = MatchConfig(games=games, nodes=300, base_time=None, concurrency=workers,
                         resign_score=600, resign_moves=2, draw_score=30, draw_moves=4,
                         draw_after=30)
    start = time.perf_counter()
    run_match(EngineSpec.parse("minizero"), EngineSpec.parse("minizero", ["Hash=8"]), OPENINGS,
              config, cluster=cluster)
    return 60 * games / (time.perf_counter() - start)


def positions_per_second(cluster: ClusterSpec, workers: int, positions: int,
                         stockfish: str) -> float:
    config = ChessDataConfig(positions=positions, depth=6, workers=workers, shard_size=50,
                             seed=7)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-data-") as folder:
        start = time.perf_counter()
        generate(config, stockfish, Path(folder) / "data", quiet=True, cluster=cluster)
        return positions / (time.perf_counter() - start)


def selfplay_games_per_second(cluster: ClusterSpec, workers: int, games: int) -> float:
    from minizero.cli import main as minizero

    with tempfile.TemporaryDirectory(prefix="bench-cluster-selfplay-") as folder, \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        start = time.perf_counter()
        minizero(["selfplay", "--game", "hexapawn:4x4", "--generations", "1", "--games",
                  str(games), "--shard-games", "4", "--workers", str(workers), "--simulations",
                  "32", "--train-steps", "1", "--quiet", "--out", str(Path(folder) / "run"),
                  "--cluster", "ray" if cluster.backend == "ray" else "local"])
        return games / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    import ray

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="local/Ray pairs of each kind")
    parser.add_argument("--games", type=int, default=8, help="games of each match")
    parser.add_argument("--positions", type=int, default=300, help="labelled a round")
    parser.add_argument("--workers", type=int, default=2, help="CPUs on each side")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ray.init(num_cpus=args.workers, logging_level="ERROR", log_to_driver=False)
    ray_startup = time.perf_counter() - started
    rates: dict[str, dict[str, list[float]]] = {
        kind: {"local": [], "ray": []}
        for kind in ("tables/s", "games/min", "positions/s", "self-play games/s")}
    stockfish = find_stockfish(None)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cluster-3men-") as three_men:
            build_tables(all_signatures(3), three_men, quiet=True)
            # warm up both paths once (numba's cache, Ray's worker processes), not measured
            tables_per_second(LOCAL, args.workers, Path(three_men))
            tables_per_second(ClusterSpec("ray"), args.workers, Path(three_men))
            for round_ in range(args.rounds):
                for name, cluster in (("local", LOCAL), ("ray", ClusterSpec("ray"))):
                    rates["tables/s"][name].append(
                        tables_per_second(cluster, args.workers, Path(three_men)))
                    rates["games/min"][name].append(
                        games_per_minute(cluster, args.workers, args.games))
                    rates["positions/s"][name].append(
                        positions_per_second(cluster, args.workers, args.positions, stockfish))
                    rates["self-play games/s"][name].append(
                        selfplay_games_per_second(cluster, args.workers, 256))
                    print(f"round {round_ + 1} {name}: "
                          f"{rates['tables/s'][name][-1]:.3f} tables/s, "
                          f"{rates['games/min'][name][-1]:.1f} games/min, "
                          f"{rates['positions/s'][name][-1]:.1f} positions/s, "
                          f"{rates['self-play games/s'][name][-1]:.2f} self-play games/s",
                          flush=True)
    finally:
        ray.shutdown()
    rows = []
    summary = {}
    for kind, by_path in rates.items():
        local, spread = statistics.median(by_path["local"]), statistics.median(by_path["ray"])
        summary[kind] = {"local": by_path["local"], "ray": by_path["ray"],
                         "ratio_of_medians": round(spread / local, 3)}
        rows.append([kind, f"{local:.3f}", f"{spread:.3f}", f"{spread / local:.2f}"])
    table = markdown_table(["work", f"local processes ({args.workers})",
                            f"Ray ({args.workers} CPUs)", "Ray / local"], rows)
    table += (f"\n\nMedians of {args.rounds} interleaved rounds; {len(TABLES)} pawnless 4-man "
              f"tables a round; {args.games} games a match at 300 nodes a move; "
              f"{args.positions} positions labelled at depth 6 a round; 256 self-play games of "
              f"4x4 Hexapawn at 32 simulations a round; Ray started "
              f"in {ray_startup:.1f} s (not counted).")
    write_results("cluster", {"rounds": args.rounds, "games": args.games,
                              "positions": args.positions,
                              "workers": args.workers, "tables": list(TABLES),
                              "ray_version": ray.__version__,
                              "ray_startup_seconds": round(ray_startup, 1),
                              "rates": summary}, table)


if __name__ == "__main__":
    main()

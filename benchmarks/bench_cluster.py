"""Ray against this machine's own processes, on the same work and the same number of CPUs.

Two kinds of units, each run through ``minizero.cluster`` locally (a process pool) and on a
one-machine Ray cluster with as many CPUs, interleaved (local, Ray, local, Ray, ...) so both see
the same load:

- tablebases: the pawnless 4-man tables solved from the 3-man ones (``tablebase build``);
- games: a fixed-node match of ``minizero-uci`` against itself (``minizero match``);
- labelled positions: Stockfish games at depth 6, one shard a unit (``minizero chessdata``);
- self-play games: one generation of 4x4 Hexapawn, a shard of games a unit (``minizero
  selfplay``; its few training steps stay on the driver and are counted too);
- self-play with training: eight generations of 4x4 Hexapawn and their training steps, in turn
  on local processes against Ray actors that play on while the learner trains (``minizero
  selfplay --cluster ray --async``); the whole run, and from its first shard written to its
  last (the steady rate, without the start of the workers: a few seconds for Ray's actors,
  which import torch afresh, none for the local ones, forked from the driver).

The figure is Ray's throughput as a share of the local processes' (the aim is at least 0.9).
``--only selfplay`` runs the two self-play kinds alone and writes ``cluster_selfplay.json``.

    make bench BENCH=cluster
    python -m benchmarks.bench_cluster --rounds 3 --games 8
    python -m benchmarks.bench_cluster --only selfplay --rounds 5
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


def selfplay_games_per_second(cluster: ClusterSpec, workers: int, games: int,
                              generations: int = 1, train_steps: int = 1,
                              actors: bool = False) -> tuple[float, float]:
    """Games a second of ``generations`` generations of ``games`` games each, their training
    steps included (``actors``: Ray actors that play on while the learner trains): over the
    whole run, and from its first shard written to its last."""
    from minizero.cli import main as minizero

    with tempfile.TemporaryDirectory(prefix="bench-cluster-selfplay-") as folder, \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        start = time.time()
        minizero(["selfplay", "--game", "hexapawn:4x4", "--generations", str(generations),
                  "--games", str(games), "--shard-games", str(SHARD_GAMES), "--workers",
                  str(workers), "--simulations", "32", "--train-steps", str(train_steps),
                  "--quiet", "--out", str(Path(folder) / "run"),
                  "--cluster", "ray" if cluster.backend == "ray" else "local",
                  *(["--async"] if actors else [])])
        whole = generations * games / (time.time() - start)
        written = sorted(path.stat().st_mtime for path in Path(folder, "run").glob("**/*.npz"))
        return whole, (len(written) - 1) * SHARD_GAMES / (written[-1] - written[0])


SHARD_GAMES = 4
SELFPLAY_KINDS = ("self-play games/s", "self-play + training games/s",
                  "self-play + training, first to last shard, games/s")


def selfplay_rates(cluster: ClusterSpec, workers: int, kinds: tuple[str, ...]
                   ) -> dict[str, float]:
    """One round of the self-play kinds: Ray's side of the training ones is the asynchronous
    loop; the last two kinds come from the same run."""
    rates = {SELFPLAY_KINDS[0]: selfplay_games_per_second(cluster, workers, 256)[0]}
    rates[SELFPLAY_KINDS[1]], rates[SELFPLAY_KINDS[2]] = selfplay_games_per_second(
        cluster, workers, 64, generations=8, train_steps=20, actors=cluster.backend == "ray")
    return {kind: rate for kind, rate in rates.items() if kind in kinds}


def main(argv: list[str] | None = None) -> None:
    import ray

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="local/Ray pairs of each kind")
    parser.add_argument("--games", type=int, default=8, help="games of each match")
    parser.add_argument("--positions", type=int, default=300, help="labelled a round")
    parser.add_argument("--workers", type=int, default=2, help="CPUs on each side")
    parser.add_argument("--only", choices=["selfplay"], help="run the self-play kinds alone")
    args = parser.parse_args(argv)
    kinds = SELFPLAY_KINDS if args.only else ("tables/s", "games/min", "positions/s",
                                              *SELFPLAY_KINDS)
    started = time.perf_counter()
    # address="local": a fresh cluster of our own, never one another user left on this machine
    ray.init(address="local", num_cpus=args.workers, logging_level="ERROR", log_to_driver=False)
    ray_startup = time.perf_counter() - started
    rates: dict[str, dict[str, list[float]]] = {
        kind: {"local": [], "ray": []} for kind in kinds}
    stockfish = find_stockfish(None)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cluster-3men-") as three_men:
            if not args.only:
                build_tables(all_signatures(3), three_men, quiet=True)
            # warm up both paths once (numba's cache, Ray's worker processes), not measured
            for cluster in (LOCAL, ClusterSpec("ray")):
                if args.only:
                    selfplay_games_per_second(cluster, args.workers, 16)
                else:
                    tables_per_second(cluster, args.workers, Path(three_men))
            for round_ in range(args.rounds):
                for name, cluster in (("local", LOCAL), ("ray", ClusterSpec("ray"))):
                    for kind, rate in selfplay_rates(cluster, args.workers, kinds).items():
                        rates[kind][name].append(rate)
                    for kind in kinds:
                        if kind in SELFPLAY_KINDS:
                            continue
                        if kind == "tables/s":
                            rate = tables_per_second(cluster, args.workers, Path(three_men))
                        elif kind == "games/min":
                            rate = games_per_minute(cluster, args.workers, args.games)
                        else:
                            rate = positions_per_second(cluster, args.workers, args.positions,
                                                        stockfish)
                        rates[kind][name].append(rate)
                    print(f"round {round_ + 1} {name}: " + ", ".join(
                        f"{rates[kind][name][-1]:.3f} {kind}" for kind in kinds), flush=True)
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
    work = "" if args.only else (
        f"{len(TABLES)} pawnless 4-man tables a round; {args.games} games a match at 300 nodes "
        f"a move; {args.positions} positions labelled at depth 6 a round; ")
    table += (f"\n\nMedians of {args.rounds} interleaved rounds; {work}256 self-play games of "
              "4x4 Hexapawn at 32 simulations a round; self-play + training: 8 generations of "
              "64 games and 20 training steps each, local processes in turn against Ray "
              "actors (--async) that play on while the learner trains; Ray started "
              f"in {ray_startup:.1f} s (not counted).")
    write_results("cluster_selfplay" if args.only else "cluster", {
        "rounds": args.rounds, "games": args.games, "positions": args.positions,
        "workers": args.workers, "tables": list(TABLES),
        "ray_version": ray.__version__, "ray_startup_seconds": round(ray_startup, 1),
        "rates": summary}, table)


if __name__ == "__main__":
    main()

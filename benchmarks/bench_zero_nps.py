"""Search speed of ``zero-uci``: float32 against its int8 twin, and where the time goes.

Three parts, one run, the shipped net throughout:

* **Profile** (cProfile, in this process): the float32 engine and the int8 one (LeafBatch 32)
  search each position for a fixed number of simulations; each function's own time goes to one
  part: the network (torch), python-chess, the encoding (input planes), the tree
  (minizero/search/puct.py), everything else.
* **Nodes per second** through UCI: one ``zero-uci`` process per contender (float32 LeafBatch
  16, the engine as it plays today on a CPU without bfloat16 units; int8 at LeafBatch 16, 32
  and 64), each playing ``go movetime`` on the same positions, interleaved position by
  position, so a change in the machine's load falls on all alike; nodes and time as each engine
  reports them. Run twice: natively, and with ``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN held to AVX2,
  int8 activations at 7 bits) to stand for a CPU with AVX2 only.
* **Threads**: the int8 net's calls of 32 positions a second with torch computing on one
  thread and on two (the ``Threads`` option), taking turns.
* **Agreement**: the int8 net graded by the float32 one on the 1,395 bench positions (the 50
  openings and every position one move after them), at 8-bit and at 7-bit activations.
* **Stockfish**: top-1 agreement with Stockfish's depth-8 move and value error of the float32
  net and of its int8 twins, on 3,052 held-out positions (benchmarks/heldout-d8, see its
  SOURCE.md).

Run: ``make bench BENCH=zero_nps`` (MINIZERO_BENCH_MOVETIME, seconds a move, default 2;
MINIZERO_BENCH_ROUNDS, default 2; MINIZERO_BENCH_NODES, simulations a profiled search,
default 512; MINIZERO_BENCH_PARTS, some of profile,nps,threads,agreement,stockfish, default all:
the other parts keep their last figures).
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

import chess
import chess.engine
import numpy as np
import torch

from benchmarks.common import RESULTS, machine, markdown_table, write_results
from benchmarks.zero_chess_speed import precision_agreement
from minizero.chessgame.encoding import history_of
from minizero.chessgame.game import ChessGame
from minizero.chessgame.openings import read_openings
from minizero.chessgame.protocol import Limits
from minizero.chessgame.puct_engine import SHIPPED_NET, PuctEngine, PuctEngineConfig
from minizero.chessgame.training import grade, load_chess_data
from minizero.nn.int8 import Int8Network, calibration_path
from minizero.nn.network import PolicyValueNet, load_network

OPENINGS = Path(__file__).resolve().parent / "openings.fen"
HELD_OUT = Path(__file__).resolve().parent / "heldout-d8"
PARTS = {  # part: the key of its figures in the results
    "profile": "profile", "nps": "nodes_per_second", "threads": "int8_calls_per_second_by_threads",
    "agreement": "int8_agreement", "stockfish": "stockfish_agreement"}
POSITIONS = [  # three opening positions: open, semi-open, closed
    "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3",
    "rnbqkb1r/pp2pppp/3p1n2/8/3NP3/8/PPP2PPP/RNBQKB1R w KQkq - 1 5",
    "rnbqkb1r/ppp1pppp/5n2/3p4/2PP4/8/PP2PPPP/RNBQKBNR w KQkq - 1 3",
]
CONTENDERS = {  # name: (Precision, LeafBatch)
    "float32, LeafBatch 16": ("float32", 16),
    "int8, LeafBatch 16": ("int8", 16),
    "int8, LeafBatch 32": ("int8", 32),
    "int8, LeafBatch 64": ("int8", 64),
}
ISAS = {"native": None, "AVX2 (ONEDNN_MAX_CPU_ISA=AVX2)": "AVX2"}


def bucket(filename: str) -> str:
    """Which part of the engine the Python code of ``filename`` belongs to."""
    if "torch" in filename or "eval_with_key" in filename or filename.endswith(
            ("int8.py", "network.py", "blocks.py")):
        return "network"  # eval_with_key: the int8 net's traced forward
    if filename.endswith(("encoding.py", "chessgame/game.py")):
        return "encoding"
    if "/chess/" in filename:
        return "python-chess"
    if filename.endswith("search/puct.py"):
        return "tree"
    return "other"


def profile(precision: str, batch: int, nodes: int) -> dict[str, float]:
    """Share of the search's time in each part, from each function's own time; a built-in
    (a torch kernel, a numpy call) counts for the part of the Python code that called it.
    python-chess's share is its time wherever it was called from, the encoding's included."""
    engine = PuctEngine(precision=precision, config=PuctEngineConfig(batch_size=batch))
    engine.prepare()
    engine.search(chess.Board(POSITIONS[0]), Limits(nodes=batch))  # warm-up
    profiler = cProfile.Profile()
    for fen in POSITIONS:
        engine.new_game()
        profiler.runcall(engine.search, chess.Board(fen), Limits(nodes=nodes))
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    seconds: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, callers) in stats.items():
        if filename != "~":
            seconds[bucket(filename)] = seconds.get(bucket(filename), 0.0) + own
            continue
        for (caller_file, _, _), (_, _, own_from_caller, _) in callers.items():
            part = bucket(caller_file) if caller_file != "~" else "other"
            seconds[part] = seconds.get(part, 0.0) + own_from_caller
    total = sum(seconds.values())
    shares = {part: round(value / total, 3) for part, value in sorted(seconds.items())}
    return {**shares, "total_seconds": round(total, 2), "nodes": nodes * len(POSITIONS)}


def nodes_per_second(isa: str | None, movetime: float, rounds: int) -> dict[str, float]:
    """{contender: nodes per second}, the contenders interleaved position by position."""
    env = dict(os.environ)
    if isa is not None:
        env["ONEDNN_MAX_CPU_ISA"] = isa
    engines = {}
    try:
        for name, (precision, batch) in CONTENDERS.items():
            engine = chess.engine.SimpleEngine.popen_uci(
                [sys.executable, "-m", "minizero.chessgame.puct_engine"], env=env, timeout=60)
            engine.configure({"Precision": precision, "LeafBatch": batch})
            engine.ping()
            engines[name] = engine
        nodes = dict.fromkeys(engines, 0)
        seconds = dict.fromkeys(engines, 0.0)
        for round_index in range(rounds):
            for fen in POSITIONS:
                for name, engine in engines.items():
                    result = engine.play(chess.Board(fen), chess.engine.Limit(time=movetime),
                                         info=chess.engine.INFO_BASIC,
                                         game=(round_index, fen))  # a new game: no old tree
                    nodes[name] += result.info.get("nodes", 0)
                    seconds[name] += result.info.get("time", 0.0)
    finally:
        for engine in engines.values():
            engine.quit()
    return {name: round(nodes[name] / seconds[name], 1) for name in engines}


def network_threads(int8: Int8Network, rounds: int = 3, calls: int = 20
                    ) -> dict[str, float]:
    """{threads: int8 network calls of 32 positions a second}, one and two threads by turns."""
    planes = torch.from_numpy(planes_of_positions(32))
    elapsed = {1: 0.0, 2: 0.0}
    threads_before = torch.get_num_threads()
    with torch.inference_mode():
        for _ in range(rounds):
            for threads in elapsed:
                torch.set_num_threads(threads)
                int8(planes)  # the first call after a change sets the thread pool up
                began = time.perf_counter()
                for _ in range(calls):
                    int8(planes)
                elapsed[threads] += time.perf_counter() - began
    torch.set_num_threads(threads_before)
    return {str(threads): round(rounds * calls / seconds, 1)
            for threads, seconds in elapsed.items()}


def planes_of_positions(count: int) -> np.ndarray:
    """The input planes of the first ``count`` bench openings, (count, C, 8, 8)."""
    game = ChessGame()
    fens = read_openings(OPENINGS)[:count]
    return np.stack([game.encode(game.state_from_board(chess.Board(fen))) for fen in fens])


def stockfish_agreement(network: PolicyValueNet) -> dict[str, dict[str, float]]:
    """Top-1 agreement with Stockfish (depth 8) and value error on the held-out positions, of
    the float32 net and of its int8 twins (8-bit and 7-bit activations)."""
    held, _ = load_chess_data([HELD_OUT], history_of(network.config.input_shape[0]))
    contenders: dict[str, torch.nn.Module] = {"float32": network}
    for bits in (8, 7):
        contenders[f"int8, {bits}-bit activations"] = Int8Network.from_file(
            network, calibration_path(SHIPPED_NET), full_range=bits == 8)
    return {name: grade(model, held, mirror_average=True) for name, model in contenders.items()}


def main() -> None:
    movetime = float(os.environ.get("MINIZERO_BENCH_MOVETIME", "2"))
    rounds = int(os.environ.get("MINIZERO_BENCH_ROUNDS", "2"))
    profiled_nodes = int(os.environ.get("MINIZERO_BENCH_NODES", "512"))
    parts = os.environ.get("MINIZERO_BENCH_PARTS", ",".join(PARTS)).split(",")
    if unknown := set(parts) - set(PARTS):
        sys.exit(f"MINIZERO_BENCH_PARTS: unknown part(s) {sorted(unknown)}; parts: "
                 f"{', '.join(PARTS)}")
    previous = RESULTS / "zero_nps.json"
    payload: dict[str, object] = json.loads(previous.read_text()) if previous.exists() else {}
    # Each part names the machine it was measured on: parts kept from an earlier run may come
    # from another CPU than the parts measured now.
    earlier = payload.pop("machine", None)
    measured_on = payload.get("measured_on") or {
        part: earlier for part, key in PARTS.items() if key in payload}
    loads = {"start": machine()["load_average_1_5_15_min"]}
    network = load_network(str(SHIPPED_NET))
    torch.set_num_threads(1)
    if "profile" in parts:
        payload["profile"] = {
            "float32, LeafBatch 16": profile("float32", 16, profiled_nodes),
            "int8, LeafBatch 32": profile("int8", 32, profiled_nodes)}
        loads["after_profile"] = machine()["load_average_1_5_15_min"]
    if "nps" in parts:
        payload.update({"positions": POSITIONS, "movetime_seconds": movetime, "rounds": rounds})
        speed = {}
        for label, isa in ISAS.items():
            speed[label] = nodes_per_second(isa, movetime, rounds)
            loads[f"after_{isa or 'native'}"] = machine()["load_average_1_5_15_min"]
        payload["nodes_per_second"] = speed
    if "threads" in parts:
        payload["int8_calls_per_second_by_threads"] = network_threads(
            Int8Network.from_file(network, calibration_path(SHIPPED_NET)))
        loads["after_threads"] = machine()["load_average_1_5_15_min"]
    if "agreement" in parts:
        payload["int8_agreement"] = {
            f"{bits}-bit activations": precision_agreement(
                network, OPENINGS, Int8Network.from_file(network, calibration_path(SHIPPED_NET),
                                                         full_range=bits == 8))
            for bits in (8, 7)}
    if "stockfish" in parts:
        payload["stockfish_agreement"] = stockfish_agreement(network)
        loads["after_stockfish"] = machine()["load_average_1_5_15_min"]
    payload["load_average_1_5_15_min"] = {
        **(payload.get("load_average_1_5_15_min") or {}), **loads}
    payload["measured_on"] = {**measured_on, **{part: machine() for part in parts}}
    write_results("zero_nps", payload, table(payload))


def cpu_text(payload: dict, part: str) -> str:
    """The CPU a part was measured on: model and vector extensions."""
    cpu = ((payload.get("measured_on") or {}).get(part) or {}).get("cpu") or {}
    return f"{cpu.get('model', '?')} ({', '.join(cpu.get('vector_extensions', [])) or '?'})"


def table(payload: dict) -> str:
    baseline = "float32, LeafBatch 16"
    rows = []
    for label, rates in payload["nodes_per_second"].items():
        for name, rate in rates.items():
            rows.append([label, name, f"{rate:,.0f}", f"{rate / rates[baseline]:.2f}x"])
    text = f"Measured on {cpu_text(payload, 'nps')}\n\n"
    text += markdown_table(["CPU", "zero-uci", "nodes/s", "vs float32"], rows)
    parts = ("network", "python-chess", "encoding", "tree", "other")
    rows = [[name, *(f"{shares.get(part, 0):.0%}" for part in parts),
             f"{shares['nodes'] / shares['total_seconds']:,.0f}"]
            for name, shares in payload["profile"].items()]
    text += "\n\n" + markdown_table(["profiled (cProfile)", *parts, "nodes/s under the profiler"],
                                    rows)
    rows = [[label, graded["positions"], f"{graded['same_top1']:.1%}",
             f"{graded['value_mean_difference']:.3f} / {graded['value_max_difference']:.3f}"]
            for label, graded in payload["int8_agreement"].items()]
    rates = payload["int8_calls_per_second_by_threads"]
    text += "\n\n" + markdown_table(
        ["int8 net, 32 positions a call", "calls/s, 1 thread", "calls/s, 2 threads"],
        [["Threads", f"{rates['1']:.1f}", f"{rates['2']:.1f}"]])
    text += "\n\n" + markdown_table(["int8 vs float32", "positions", "same favourite move",
                                     "value difference mean / max"], rows)
    if "stockfish_agreement" in payload:
        rows = [[name, graded["held_out"], f"{graded['top1']:.1%}",
                 f"{graded['top1_mirror_average']:.1%}", f"{graded['value_mae']:.3f}"]
                for name, graded in payload["stockfish_agreement"].items()]
        text += f"\n\nMeasured on {cpu_text(payload, 'stockfish')}\n\n" + markdown_table(
            ["net vs Stockfish depth 8 (held-out)", "positions", "top-1",
             "top-1, mirror-averaged", "value MAE"], rows)
    return text


if __name__ == "__main__":
    main()

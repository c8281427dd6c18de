"""Search speed with the NNUE evaluator against the classical one, same positions, one run.

The same alpha-beta ``Searcher`` analyses each position for the same time with three
evaluators, interleaved position by position (the order rotating, so that no evaluator always
goes first): the classical evaluator, the NNUE evaluator (nnue-uci's king-buckets net, compiled
kernel, lazy accumulator updates) and the same NNUE evaluator made eager (accumulators brought
up to date at every push, as if every node were scored), which measures what the lazy updates
save. Reported: nodes per second by wall clock and by CPU time (the machine is shared: CPU time
is the steadier figure), and for the NNUE searches the share of moves pushed whose position was
never scored (1 - evaluations / pushes).
A second measure takes the tree's shape out: the classical search runs once more with a "tee"
evaluator that makes every call (reset, push, pop, evaluate) on both evaluators and returns the
classical score, timing each call on each, so both see exactly the same calls, interleaved call
by call: microseconds spent inside each evaluator per node.
Positions: Bratko-Kopec when ``../shared/data`` is there, else a few of our own.
Command: ``make bench BENCH=nnue_nps`` (MINIZERO_BENCH_SECONDS sets the time per position).
"""

from __future__ import annotations

import os
import time

import chess

from benchmarks.bench_chess_nps import positions
from benchmarks.common import markdown_table, write_results
from benchmarks.nnue_common import PLAYING_NET, require
from minizero.chessgame.classical import ClassicalEvaluator
from minizero.chessgame.evaluator import Evaluator
from minizero.chessgame.protocol import Limits
from minizero.chessgame.search import Searcher
from nnue.evaluator import NnueEvaluator
from nnue.kernel import KernelNet, load_kernel_net


class CountingNnueEvaluator(NnueEvaluator):
    """The NNUE evaluator, counting pushes and evaluations (and, if eager, updating at once)."""

    def __init__(self, net: KernelNet, eager: bool = False) -> None:
        super().__init__(net)
        self.eager = eager
        self.pushes = self.evaluations = 0

    def push(self, board: chess.Board, move: chess.Move) -> None:
        super().push(board, move)
        self.pushes += 1
        if self.eager:
            self._catch_up(self.ply)

    def evaluate(self, board: chess.Board) -> int:
        self.evaluations += 1
        return super().evaluate(board)


class TeeEvaluator(Evaluator):
    """Every call made on ``first`` and on ``second`` (timed apart); ``first`` gives the score."""

    def __init__(self, first: Evaluator, second: Evaluator) -> None:
        self.first, self.second = first, second
        self.seconds = [0.0, 0.0]

    def _both(self, name: str, *args: object) -> object:
        answers = []
        for index, evaluator in enumerate((self.first, self.second)):
            start = time.perf_counter()
            answers.append(getattr(evaluator, name)(*args))
            self.seconds[index] += time.perf_counter() - start
        return answers[0]

    def reset(self, board: chess.Board) -> None:
        self._both("reset", board)

    def push(self, board: chess.Board, move: chess.Move) -> None:
        self._both("push", board, move)

    def pop(self) -> None:
        self._both("pop")

    def evaluate(self, board: chess.Board) -> int:
        return self._both("evaluate", board)


def search_speed(evaluator: Evaluator, fen: str, seconds: float) -> tuple[int, float, float]:
    """(nodes, wall seconds, CPU seconds) of one timed search from ``fen``."""
    searcher = Searcher(evaluator)
    wall, cpu = time.perf_counter(), time.process_time()
    result = searcher.search(chess.Board(fen), Limits(soft_time=seconds, hard_time=seconds))
    return result.nodes, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    if not require(PLAYING_NET):
        return
    seconds = float(os.environ.get("MINIZERO_BENCH_SECONDS", "1.0"))
    net = load_kernel_net(PLAYING_NET)
    net.warm_up()
    fens = positions()
    makers = {"classical": ClassicalEvaluator,
              "nnue (lazy)": lambda: CountingNnueEvaluator(net),
              "nnue (eager)": lambda: CountingNnueEvaluator(net, eager=True)}
    totals = {name: {"nodes": 0, "wall": 0.0, "cpu": 0.0, "pushes": 0, "evaluations": 0}
              for name in makers}
    names = list(makers)
    for index, fen in enumerate(fens):
        for name in names[index % 3:] + names[:index % 3]:  # rotate who goes first
            evaluator = makers[name]()
            nodes, wall, cpu = search_speed(evaluator, fen, seconds)
            total = totals[name]
            total["nodes"] += nodes
            total["wall"] += wall
            total["cpu"] += cpu
            total["pushes"] += getattr(evaluator, "pushes", 0)
            total["evaluations"] += getattr(evaluator, "evaluations", 0)
    tee_nodes, tee_seconds = 0, [0.0, 0.0]
    for fen in fens:
        tee = TeeEvaluator(ClassicalEvaluator(), NnueEvaluator(net))
        tee_nodes += search_speed(tee, fen, seconds)[0]
        tee_seconds = [total + part for total, part in zip(tee_seconds, tee.seconds)]
    classical = totals["classical"]
    rows, payload = [], {"net": PLAYING_NET.name, "seconds_per_position": seconds,
                         "positions": len(fens)}
    for name, total in totals.items():
        wall_nps, cpu_nps = total["nodes"] / total["wall"], total["nodes"] / total["cpu"]
        ratio_wall = wall_nps / (classical["nodes"] / classical["wall"])
        ratio_cpu = cpu_nps / (classical["nodes"] / classical["cpu"])
        unscored = (1 - total["evaluations"] / total["pushes"]) if total["pushes"] else None
        payload[name] = {**total, "nps_wall": wall_nps, "nps_cpu": cpu_nps,
                         "ratio_wall_vs_classical": ratio_wall,
                         "ratio_cpu_vs_classical": ratio_cpu,
                         "moves_never_scored": unscored}
        rows.append([name, f"{total['nodes']:,}", f"{wall_nps:,.0f}", f"{ratio_wall:.2f}x",
                     f"{cpu_nps:,.0f}", f"{ratio_cpu:.2f}x",
                     "" if unscored is None else f"{unscored:.0%}"])
    table = markdown_table(["evaluator", "nodes", "nodes/s (wall)", "vs classical",
                            "nodes/s (CPU)", "vs classical", "moves never scored"], rows)
    per_node = [part / tee_nodes * 1e6 for part in tee_seconds]
    payload["same_tree"] = {"nodes": tee_nodes, "classical_us_per_node": per_node[0],
                            "nnue_us_per_node": per_node[1]}
    table += (f"\n\n{len(fens)} positions, {seconds:g} s each, interleaved position by position; "
              f"net {PLAYING_NET.name}.\nSame tree ({tee_nodes:,} nodes of the classical search, "
              f"every evaluator call made on both): classical {per_node[0]:.1f} µs per node inside "
              f"its calls, NNUE {per_node[1]:.1f} µs ({per_node[0] / per_node[1]:.2f}x).")
    write_results("nnue_nps", payload, table)


if __name__ == "__main__":
    main()

"""A UCI engine: minizero's alpha-beta search with Stockfish 15.1's net as its evaluator.

The net is read once at start-up, from the installed Stockfish binary by default (``--net
stockfish``), or from a Stockfish 15.1 ``.nnue`` file or another binary (``--net PATH``); a
bad file stops the engine with one line on stderr before it answers ``uci``. This entry point
is the measuring engine of ``make bench BENCH=sf15``; ``nnue-uci`` takes the same nets as its
``EvalFile`` once the NNUE engine is merged.
Command: ``python -m nnue.sf15.uci [--net stockfish|PATH] [--stockfish PATH]``.
"""

from __future__ import annotations

import argparse
import sys

import chess

from minizero.uci import UciServer, serve
from nnue.sf15.evaluator import StockfishNnueEvaluator
from nnue.sf15.net import load_stockfish_net


def warm_up(net) -> None:
    """Load the compiled kernels now (numba's cache), not inside the first timed search."""
    board = chess.Board()
    evaluator = StockfishNnueEvaluator(net)
    evaluator.reset(board)
    for move in (chess.Move.from_uci("e2e4"), chess.Move.from_uci("e8e7")):
        evaluator.push(board, move)
        board.push(move)
        evaluator.evaluate(board)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnue.sf15.uci", description=__doc__)
    parser.add_argument("--net", default="stockfish",
                        help="'stockfish' (the installed binary's net), a .nnue file or a binary")
    parser.add_argument("--stockfish", help="path of the Stockfish binary for --net stockfish")
    args = parser.parse_args(argv)
    try:
        net = load_stockfish_net(args.net, args.stockfish)
    except (ValueError, FileNotFoundError) as error:
        print(f"sf15-uci: error: {error}", file=sys.stderr)
        return 1
    warm_up(net)
    return serve(UciServer(name="minizero sf15-nnue",
                           make_evaluator=lambda options: StockfishNnueEvaluator(net)))


if __name__ == "__main__":
    sys.exit(main())

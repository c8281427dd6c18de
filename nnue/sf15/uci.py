"""A UCI engine: minizero's alpha-beta search with Stockfish 15.1's net as its evaluator.

``EvalFile`` names the net: ``stockfish`` (default: the net embedded in the installed Stockfish
binary, found on PATH or at /usr/games/stockfish, or at ``--stockfish PATH``), a Stockfish 15.1
``.nnue`` file, or another Stockfish binary. The net is read lazily, at ``isready`` or the first
``go``, so ``uci`` is answered at once; a bad file is refused with ``info string <reason>`` and
the previous net stays in use.
Command: ``python -m nnue.sf15.uci [--net stockfish|PATH] [--stockfish PATH]``.
"""

from __future__ import annotations

import argparse
import sys

import chess

from minizero.chessgame.engine import AlphaBetaEngine
from minizero.chessgame.protocol import UciOption
from minizero.chessgame.uci import serve
from nnue.sf15.evaluator import StockfishNnueEvaluator
from nnue.sf15.net import StockfishNet, load_stockfish_net


def warm_up(net: StockfishNet) -> None:
    """Load the compiled kernels now (numba's cache), not inside the first timed search."""
    board = chess.Board()
    evaluator = StockfishNnueEvaluator(net)
    evaluator.reset(board)
    for move in (chess.Move.from_uci("e2e4"), chess.Move.from_uci("e8e7")):
        evaluator.push(board, move)
        board.push(move)
        evaluator.evaluate(board)


class StockfishNetEngine(AlphaBetaEngine):
    """The alpha-beta engine whose evaluator is a Stockfish 15.1 net (option ``EvalFile``)."""

    def __init__(self, eval_file: str = "stockfish", stockfish: str | None = None) -> None:
        super().__init__(self._make_evaluator, "minizero sf15-nnue")
        self.eval_file, self.stockfish = eval_file, stockfish
        self.net: StockfishNet | None = None

    def _make_evaluator(self) -> StockfishNnueEvaluator:
        self.load()
        assert self.net is not None
        return StockfishNnueEvaluator(self.net)

    def load(self) -> None:
        """Read ``eval_file`` if no net is loaded yet (ValueError: one line, nothing kept)."""
        if self.net is None:
            net = load_stockfish_net(self.eval_file, self.stockfish)
            warm_up(net)
            self.net = net

    def options(self) -> list[UciOption]:
        return [*super().options(), UciOption("EvalFile", "string", self.eval_file)]

    def set_option(self, name: str, value: object) -> None:
        if name != "EvalFile":
            super().set_option(name, value)
            return
        net = load_stockfish_net(str(value), self.stockfish)  # ValueError: keep the old net
        warm_up(net)
        self.eval_file, self.net = str(value), net
        self.evaluator_changed()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnue.sf15.uci", description=__doc__)
    parser.add_argument("--net", default="stockfish",
                        help="'stockfish' (the installed binary's net), a .nnue file or a binary")
    parser.add_argument("--stockfish", help="path of the Stockfish binary for --net stockfish")
    args = parser.parse_args(argv)
    return serve(StockfishNetEngine(args.net, args.stockfish))


if __name__ == "__main__":
    sys.exit(main())

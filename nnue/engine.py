"""``nnue-uci``: minizero's alpha-beta engine with the NNUE evaluator, for any UCI GUI.

The same searcher and UCI server as ``minizero-uci`` (``minizero.chessgame.engine``), given an
``NnueEvaluator`` instead of the classical one. The network is the shipped playing net
(``nnue/nets/king-buckets-256.nnue``; ``piece-square-256.nnue`` beside it is the tutorials'
small teaching net) unless the GUI sets ``EvalFile`` to another ``.nnue`` file, or to a
Stockfish 15.1 net: ``stockfish`` (the net embedded in the installed Stockfish binary;
``--stockfish PATH`` says where), a Stockfish 15.1 ``.nnue`` file or a Stockfish binary
(``nnue.sf15``: evaluated exactly as Stockfish 15.1 does). ``nnue-uci --net stockfish``
starts with Stockfish's net. Nothing is loaded at start-up, so ``uci`` answers at once: the net
is read and the kernel compiled (or loaded from numba's cache) at ``isready`` or the first
``go``. A missing, corrupt or foreign ``EvalFile``, or a net the kernel cannot compute, gets
``info string <file>: <reason>``; the previous net stays loaded and the engine plays on. The
engine only ever reads network files.

Try it: ``nnue-uci [--net stockfish|PATH] [--stockfish PATH]`` (or ``python -m nnue.engine``),
then ``uci``, ``isready``, ``position startpos``, ``go depth 6``, ``quit``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minizero import __version__
from minizero.chessgame.engine import AlphaBetaEngine
from minizero.chessgame.protocol import UciOption
from minizero.chessgame.search import SearchConfig
from minizero.chessgame.uci import engine_parser, serve
from nnue.evaluator import NnueEvaluator
from nnue.kernel import KernelNet, load_kernel_net
from nnue.sf15.evaluator import StockfishNnueEvaluator, warm_up
from nnue.sf15.net import StockfishNet, load_stockfish_net, names_stockfish_net

SHIPPED_NET = Path(__file__).resolve().parent / "nets" / "king-buckets-256.nnue"


class NnueEngine(AlphaBetaEngine):
    """Alpha-beta with the NNUE evaluator; UCI option ``EvalFile`` picks the network.

    ``check=True`` runs the evaluator in checking mode (every evaluated node compared with a
    full refresh and the numpy reference): slow, for tests.
    """

    def __init__(self, eval_file: Path | str = SHIPPED_NET, check: bool = False,
                 config: SearchConfig | None = None, stockfish: str | None = None) -> None:
        super().__init__(self._make_evaluator, f"minizero-nnue {__version__}", config)
        self.eval_file = eval_file  # the net to load at prepare() when none is loaded
        self.check = check
        self.stockfish = stockfish  # where ``EvalFile stockfish`` looks for the binary
        self.net: KernelNet | StockfishNet | None = None

    def _load(self, eval_file: Path | str) -> KernelNet | StockfishNet:
        """Our own .nnue, or a Stockfish 15.1 net; ValueError "<file>: <reason>"."""
        if names_stockfish_net(eval_file):
            stockfish_net = load_stockfish_net(eval_file, self.stockfish)
            warm_up(stockfish_net)
            return stockfish_net
        try:
            net = load_kernel_net(eval_file)
        except ValueError as error:
            if "bad magic" not in str(error):
                raise
            raise ValueError(f"{error}, nor a Stockfish 15.1 net (no version 0x7AF32F20 first)"
                             ) from None
        net.warm_up()
        return net

    def options(self) -> list[UciOption]:
        return [*super().options(), UciOption("EvalFile", "string", str(self.eval_file))]

    def set_option(self, name: str, value: object) -> None:
        if name != "EvalFile":
            super().set_option(name, value)
            return
        path = str(value) if value else SHIPPED_NET  # <empty>: back to the shipped net
        net = self._load(path)  # ValueError "<file>: <reason>": the old net stays
        self.net, self.eval_file = net, path
        self.evaluator_changed()

    def prepare(self) -> None:
        if self.net is None:
            self.net = self._load(self.eval_file)
        super().prepare()

    def _make_evaluator(self) -> NnueEvaluator | StockfishNnueEvaluator:
        assert self.net is not None, "prepare() loads the net before the searcher is built"
        if isinstance(self.net, StockfishNet):  # no checking mode: its tests check it
            return StockfishNnueEvaluator(self.net)
        return NnueEvaluator(self.net, check=self.check)


def build_parser() -> argparse.ArgumentParser:
    """``nnue-uci``'s flags; with none it starts a UCI session with the shipped net."""
    parser = engine_parser("nnue-uci", "alpha-beta engine with the NNUE evaluator")
    parser.add_argument("--net", help="the net to start with (the EvalFile option's default): "
                        "our own .nnue, a Stockfish 15.1 .nnue or binary, or 'stockfish' "
                        "(default: the shipped king-buckets-256.nnue)")
    parser.add_argument("--stockfish", help="the Stockfish binary that 'stockfish' means")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``nnue-uci``: the NNUE engine on stdin/stdout, for any UCI GUI."""
    args = build_parser().parse_args(argv)
    return serve(NnueEngine(args.net or SHIPPED_NET, stockfish=args.stockfish))


if __name__ == "__main__":
    sys.exit(main())

"""``nnue-uci``: minizero's alpha-beta engine with the NNUE evaluator, for any UCI GUI.

The same searcher and UCI server as ``minizero-uci`` (``minizero.chessgame.engine``), given an
``NnueEvaluator`` instead of the classical one. The network is the shipped one
(``nnue/nets/piece-square-256.nnue``) unless the GUI sets ``EvalFile`` to another ``.nnue``
file. Nothing is loaded at start-up, so ``uci`` answers at once: the net is read and the kernel
compiled (or loaded from numba's cache) at ``isready`` or the first ``go``. A missing, corrupt
or foreign ``EvalFile``, or a net the kernel cannot compute, gets ``info string <file>:
<reason>``; the previous net stays loaded and the engine plays on. The engine only ever reads
network files.

Try it: ``nnue-uci`` (or ``python -m nnue.engine``), then ``uci``, ``isready``,
``position startpos``, ``go depth 6``, ``quit``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from minizero import __version__
from minizero.chessgame.engine import AlphaBetaEngine
from minizero.chessgame.protocol import UciOption
from minizero.chessgame.search import SearchConfig
from minizero.chessgame.uci import serve
from nnue.evaluator import NnueEvaluator
from nnue.kernel import KernelNet, load_kernel_net

SHIPPED_NET = Path(__file__).resolve().parent / "nets" / "piece-square-256.nnue"


class NnueEngine(AlphaBetaEngine):
    """Alpha-beta with the NNUE evaluator; UCI option ``EvalFile`` picks the network.

    ``check=True`` runs the evaluator in checking mode (every evaluated node compared with a
    full refresh and the numpy reference): slow, for tests.
    """

    def __init__(self, eval_file: Path = SHIPPED_NET, check: bool = False,
                 config: SearchConfig | None = None) -> None:
        super().__init__(self._make_evaluator, f"minizero-nnue {__version__}", config)
        self.eval_file = Path(eval_file)  # the net to load at prepare() when none is loaded
        self.check = check
        self.net: KernelNet | None = None

    def options(self) -> list[UciOption]:
        return [*super().options(), UciOption("EvalFile", "string", str(self.eval_file))]

    def set_option(self, name: str, value: object) -> None:
        if name != "EvalFile":
            super().set_option(name, value)
            return
        path = Path(str(value)) if value else SHIPPED_NET  # <empty>: back to the shipped net
        net = load_kernel_net(path)  # ValueError "<file>: <reason>": the old net stays
        net.warm_up()
        self.net, self.eval_file = net, path
        self.evaluator_changed()

    def prepare(self) -> None:
        if self.net is None:
            net = load_kernel_net(self.eval_file)
            net.warm_up()
            self.net = net
        super().prepare()

    def _make_evaluator(self) -> NnueEvaluator:
        assert self.net is not None, "prepare() loads the net before the searcher is built"
        return NnueEvaluator(self.net, check=self.check)


def main(argv: list[str] | None = None) -> int:
    """``nnue-uci``: the NNUE engine on stdin/stdout, for any UCI GUI."""
    return serve(NnueEngine())


if __name__ == "__main__":
    sys.exit(main())

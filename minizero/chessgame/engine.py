"""The alpha-beta engine: the searcher plus an evaluator, as the UCI server drives it.

An ``AlphaBetaEngine`` picks its parts: the alpha-beta ``Searcher`` (``search.py``) and a
factory for its evaluator. The classical engine behind ``minizero-uci`` is the searcher with
``ClassicalEvaluator``; the NNUE engine (``nnue/engine.py``) is the same class with an NNUE
evaluator and an ``EvalFile`` option. The engine's own UCI options are the searcher's knobs:
Hash (the transposition table's MiB), Clear Hash, NullMove and LateMoveReductions, and the
endgame tables' Tablebases, TablebasePath and SyzygyPath (``tablebase/oracle.py``).

Try it: ``minizero-uci`` (or ``python -m minizero.chessgame.engine``), then ``uci``,
``position startpos``, ``go depth 6``, ``quit``.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from dataclasses import replace

import chess

from minizero import __version__
from minizero.chessgame.classical import ClassicalEvaluator
from minizero.chessgame.evaluator import Evaluator
from minizero.chessgame.protocol import Engine, InfoCallback, Limits, SearchResult, UciOption
from minizero.chessgame.search import SearchConfig, Searcher
from minizero.chessgame.tablebase.oracle import EndgameOracle, tablebase_options
from minizero.chessgame.uci import engine_parser, serve

ALPHA_BETA_OPTIONS = (
    UciOption("Hash", "spin", SearchConfig.hash_mb, 1, 4096),
    UciOption("Clear Hash", "button"),
    UciOption("NullMove", "check", SearchConfig.null_move),
    UciOption("LateMoveReductions", "check", SearchConfig.late_move_reductions),
)


class AlphaBetaEngine(Engine):
    """The alpha-beta ``Searcher`` with the evaluator ``make_evaluator`` builds.

    The searcher and its evaluator are built lazily, at ``prepare()`` (UCI ``isready`` or the
    first ``go``). A subclass that can change its evaluator (a new network) calls
    ``evaluator_changed()``; the transposition table is then cleared, since its scores came
    from the old evaluator.
    """

    def __init__(self, make_evaluator: Callable[[], Evaluator], name: str,
                 config: SearchConfig | None = None) -> None:
        self.make_evaluator = make_evaluator
        self.name = name
        self.config = config if config is not None else SearchConfig()
        self.searcher: Searcher | None = None
        self.endgame = EndgameOracle()

    def options(self) -> list[UciOption]:
        return list(ALPHA_BETA_OPTIONS) + tablebase_options()

    def set_option(self, name: str, value: object) -> None:
        if self.endgame.set_option(name, value):
            return
        if name == "Clear Hash":
            if self.searcher is not None:
                self.searcher.new_game()
            return
        fields = {"Hash": "hash_mb", "NullMove": "null_move",
                  "LateMoveReductions": "late_move_reductions"}
        if name not in fields:
            raise ValueError(f"unknown option '{name}'")
        self.config = replace(self.config, **{fields[name]: value})
        if self.searcher is not None:
            self.searcher.configure(self.config)

    def prepare(self) -> None:
        if self.searcher is None:
            self.searcher = Searcher(self.make_evaluator(), self.config)
            self.searcher.endgame = self.endgame

    def evaluator_changed(self) -> None:
        """Use a fresh evaluator from ``make_evaluator`` from the next search on."""
        if self.searcher is not None:
            self.searcher.evaluator = self.make_evaluator()
            self.searcher.new_game()

    def new_game(self) -> None:
        self.endgame.new_game()
        if self.searcher is not None:
            self.searcher.new_game()

    def search(
        self,
        board: chess.Board,
        limits: Limits,
        on_info: InfoCallback | None = None,
        multipv: int = 1,
        start_time: float | None = None,
        stop_event: threading.Event | None = None,
    ) -> SearchResult:
        self.prepare()
        assert self.searcher is not None
        return self.searcher.search(board, limits, on_info, multipv, start_time, stop_event)

    def extend_time(self, soft_time: float | None, hard_time: float | None) -> None:
        if self.searcher is not None:
            self.searcher.extend_time(soft_time, hard_time)


def classical_engine() -> AlphaBetaEngine:
    """The engine behind ``minizero-uci``: alpha-beta with the classical evaluator."""
    return AlphaBetaEngine(ClassicalEvaluator, f"minizero {__version__}")


def build_parser() -> argparse.ArgumentParser:
    """``minizero-uci`` takes no flags but ``--help`` and ``--version``."""
    return engine_parser("minizero-uci", "classical alpha-beta engine")


def main(argv: list[str] | None = None) -> int:
    """``minizero-uci``: the classical engine on stdin/stdout, for any UCI GUI."""
    build_parser().parse_args(argv)
    return serve(classical_engine())


if __name__ == "__main__":
    sys.exit(main())

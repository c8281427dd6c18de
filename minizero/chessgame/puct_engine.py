"""The PUCT engine: AlphaZero's network-guided MCTS behind the UCI server (``zero-uci``).

The search is minizero's generic PUCT (minizero/search/puct.py) over the chess `Game`, run in
chunks of one network batch so that the clock and ``stop`` are checked between network calls
(``stop`` during ``go infinite`` is answered within one batch, a few tens of milliseconds).

* **Limits.** ``go nodes N``: exactly N new simulations, deterministic (no noise, batches of the
  same size in the same order). ``go depth D``: until the principal variation is D plies long.
  Clock: stop at the soft time, at once at the hard time, or as soon as the most visited move
  cannot be overtaken by the simulations the remaining time allows (Leela's "smart pruning").
  No limit at all (``go infinite``): until ``stop``. (A ``go`` whose only limits are invalid is
  given a time bound by the UCI server.)
* **Tree reuse.** When the new position continues the previous one by a few moves, the subtree
  below those moves is kept.
* **searchmoves.** ``go searchmoves m1 m2 ...`` searches a fresh tree whose root has only those
  children, the network's priors renormalised over them (the tree is not reused afterwards).
* **Score.** ``score cp`` is the root's mean value Q of the most visited move mapped with
  ``cp = 400 atanh(Q)`` (chessgame/training.py, the same mapping as the value targets); a move
  that mates at once is reported as ``mate 1``.
* **PV** along the most visited children. ``nodes`` counts simulations of this search.
* **Endgame tables.** With four men or fewer (or what ``SyzygyPath`` holds) the engine plays a
  best move by the tables instead of searching, the network's prior breaking ties
  (``tablebase/oracle.py``; options Tablebases, TablebasePath, SyzygyPath).

The network is loaded lazily (``isready`` or the first ``go``): the shipped one
(``minizero/chessgame/nets/zero-small.pt``) unless the ``WeightsFile`` option or ``--weights``
names another. A file for another game, encoding or size, or a corrupt one, is refused with a
reason (``info string`` over UCI, the previous network kept; a one-line error from the CLI).

``Precision int8`` plays with the int8 twin of the net (``minizero/nn/int8.py``, CPU only),
built from the calibration file beside the weights (``NAME.int8.json``). Where that file is
missing, corrupt or stale, or the device is a GPU, the engine says why in an ``info string``
and plays the float32 net.

Reference: Silver et al., Science 362 (2018); Leela Chess Zero's search (time manager, smart
pruning). Run it: ``zero-uci`` (or ``python -m minizero.chessgame.puct_engine``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import chess
import numpy as np
import torch

from minizero.chessgame import encoding
from minizero.chessgame.game import ChessGame, ChessState
from minizero.chessgame.protocol import MATE, Engine, Limits, SearchInfo, SearchResult, UciOption
from minizero.chessgame.tablebase.oracle import EndgameOracle, tablebase_options
from minizero.chessgame.training import value_to_cp
from minizero.nn.int8 import Int8Network, calibration_path
from minizero.nn.network import (
    PRECISIONS,
    PolicyValueNet,
    load_network,
    resolve_device,
    resolve_precision,
)
from minizero.search.puct import PUCT, PUCTConfig, network_evaluator

SHIPPED_NET = Path(__file__).parent / "nets" / "zero-small.pt"
INFO_INTERVAL = 0.5  # seconds between info lines
MAX_THREADS = 64
ENGINE_PRECISIONS = (*PRECISIONS, "int8")  # int8: the quantized twin of the net, CPU only


@dataclass(frozen=True)
class PuctEngineConfig:
    """Search settings of the engine.

    batch_size: leaves per network call (also the unit between clock checks).
    threads: CPU threads torch computes each network call with (the UCI option Threads); the
    tree search itself runs in one thread.
    c_puct, fpu_reduction: PUCT's exploration constant and first-play urgency (puct.py).
    reuse_plies: keep the tree when the new position is at most this many plies further.
    """

    batch_size: int = 16
    threads: int = 1
    c_puct: float = 2.0
    fpu_reduction: float = 0.3
    reuse_plies: int = 4

    def puct(self, simulations: int) -> PUCTConfig:
        return PUCTConfig(simulations=simulations, c_puct=self.c_puct,
                          fpu_reduction=self.fpu_reduction, batch_size=self.batch_size)


class PuctEngine(Engine):
    """The network-guided MCTS engine (see the module docstring); the UCI server drives it."""

    name = "minizero-zero"

    def __init__(self, weights: str | None = None, device: str = "cpu",
                 config: PuctEngineConfig = PuctEngineConfig(), precision: str = "auto"
                 ) -> None:
        self.config = config
        self.device = resolve_device(device)
        if precision not in ENGINE_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(ENGINE_PRECISIONS)}, "
                             f"got {precision!r}")
        self.precision = precision
        self.dtype = resolve_precision("float32" if precision == "int8" else precision,
                                       self.device)
        self.weights = weights or ""  # "" = the shipped network
        self.network: PolicyValueNet | None = None
        self.int8_network: Int8Network | None = None  # in use when set (Precision int8)
        self.notice = ""  # a message for the next search's info string
        self.game = ChessGame()
        self.tree: PUCT | None = None
        self._tree_line: tuple[str, list[chess.Move]] | None = None  # root's start fen, moves
        self._deadline_lock = threading.Lock()
        self._soft_time: float | None = None
        self._hard_time: float | None = None
        self._start = time.perf_counter()
        self.endgame = EndgameOracle()

    def options(self) -> list[UciOption]:
        return [UciOption("WeightsFile", "string", self.weights),
                UciOption("LeafBatch", "spin", self.config.batch_size, 1, 256),
                UciOption("Threads", "spin", self.config.threads, 1, MAX_THREADS),
                UciOption("Precision", "combo", self.precision, choices=ENGINE_PRECISIONS)
                ] + tablebase_options()

    # ---------------------------------------------------------------- network

    def load(self, path: str) -> None:
        """Load weights (``""``: the shipped net); ValueError naming the file, nothing changed."""
        file = path or str(SHIPPED_NET)
        network = load_network(file)
        shape = network.config.input_shape
        history = encoding.history_of(shape[0])
        if network.config.action_size != encoding.ACTION_SIZE or shape[1:] != (8, 8) or (
                history is None):
            raise ValueError(f"{file}: not a chess network (input {shape}, "
                             f"{network.config.action_size} actions; chess needs (14 T + 7, 8, 8)"
                             f" and {encoding.ACTION_SIZE})")
        self.network = network.to(self.device, self.dtype).eval()
        self.game = ChessGame(history=history)
        self.weights = path
        self.tree = None
        self._tree_line = None
        self.int8_network = None
        if self.precision == "int8":
            try:
                self.int8_network = self._int8(network, file)
            except ValueError as error:
                self.notice = f"{error}; playing float32"

    def _int8(self, network: PolicyValueNet, file: str) -> Int8Network:
        """The int8 twin of ``network`` from its calibration file; ValueError saying why not."""
        if self.device.type != "cpu":
            raise ValueError(f"Precision int8 runs on the CPU only, not on {self.device.type}")
        return Int8Network.from_file(network, calibration_path(file))

    @property
    def evaluator_network(self) -> PolicyValueNet | Int8Network:
        """The network the search asks: the int8 twin where one is in use, else the torch net."""
        assert self.network is not None
        return self.int8_network if self.int8_network is not None else self.network

    def prepare(self) -> None:
        """Load the network if none is loaded yet (lazy: ``isready`` or the first ``go``)."""
        if self.network is None:
            self.load(self.weights)

    def set_option(self, name: str, value: object) -> None:
        if self.endgame.set_option(name, value):
            return
        if name.lower() == "weightsfile":
            self.load(str(value or ""))
        elif name.lower() == "precision":
            self.dtype = resolve_precision("float32" if value == "int8" else str(value),
                                           self.device)
            self.precision = str(value)
            self.int8_network = None
            self.tree = None
            if self.precision == "int8":
                # read again: the calibration was made from the float32 weights, not from a
                # bfloat16 copy of them
                self.load(self.weights)
                if self.notice:  # no int8 net: the reason goes out now, float32 plays
                    notice, self.notice = self.notice, ""
                    raise ValueError(notice)
            elif self.network is not None:
                self.network = self.network.to(self.dtype)
        elif name.lower() == "threads":
            if not 1 <= int(value) <= MAX_THREADS:  # the server checks too; this is the API's
                raise ValueError(f"option Threads must be in [1, {MAX_THREADS}], got {value}")
            self.config = dataclasses.replace(self.config, threads=int(value))
        elif name.lower() == "leafbatch":
            self.config = dataclasses.replace(self.config, batch_size=int(value))
            self.tree = None
        else:
            raise ValueError(f"unknown option '{name}'")

    def new_game(self) -> None:
        self.tree = None
        self._tree_line = None
        self.endgame.new_game()

    def extend_time(self, soft_time: float | None, hard_time: float | None) -> None:
        """Ponderhit: replace the time limits of the running search, counted from now."""
        with self._deadline_lock:
            now = time.perf_counter() - self._start
            self._soft_time = None if soft_time is None else now + soft_time
            self._hard_time = None if hard_time is None else now + hard_time

    # ---------------------------------------------------------------- search

    def _root(self, board: chess.Board) -> PUCT:
        """The search tree for ``board``: the old one advanced when it continues it."""
        start_fen = board.root().fen()
        moves = list(board.move_stack)
        if self.tree is not None and self._tree_line is not None:
            old_fen, old_moves = self._tree_line
            extra = len(moves) - len(old_moves)
            if (old_fen == start_fen and 0 <= extra <= self.config.reuse_plies
                    and moves[:len(old_moves)] == old_moves):
                replay = ChessState.from_board(board)  # for the actions' side to move
                chain = []
                state: ChessState | None = replay
                for _ in range(extra):
                    assert state is not None and state.parent is not None
                    chain.append((state.parent.board.turn, state.move))
                    state = state.parent
                for turn, move in reversed(chain):
                    self.tree.advance(encoding.move_to_index(move, turn))
                self._tree_line = (start_fen, moves)
                return self.tree
        assert self.network is not None
        evaluate = network_evaluator(self.game, self.evaluator_network)
        self.tree = PUCT(self.game, evaluate, self.config.puct(self.config.batch_size))
        self.tree.reset(ChessState.from_board(board))
        self._tree_line = (start_fen, moves)
        return self.tree

    def _root_among(self, board: chess.Board, moves: tuple[chess.Move, ...]) -> PUCT:
        """A fresh tree for ``board`` whose root may play only ``moves`` (UCI searchmoves)."""
        self.tree = None
        tree = self._root(board)
        self._tree_line = None  # a root cut down to some moves is no tree to go on with
        root = tree.root
        assert root is not None and self.network is not None
        legal = self.game.legal_actions(root.state)
        priors = network_evaluator(self.game, self.evaluator_network)([root.state])[0][0]
        wanted = {encoding.move_to_index(move, board.turn) for move in moves}
        keep = [index for index, action in enumerate(legal) if action in wanted]
        if keep and root.terminal is None:
            kept = priors[keep]
            root.expand([legal[index] for index in keep],
                        kept / kept.sum() if kept.sum() > 0 else np.full(len(keep), 1 / len(keep)))
        return tree

    def search(self, board: chess.Board, limits: Limits,
               on_info: Callable[[SearchInfo], None] | None = None, multipv: int = 1,
               start_time: float | None = None, stop_event: threading.Event | None = None
               ) -> SearchResult:
        """Search ``board`` within ``limits``; the most visited move, its cp score, the PV."""
        start = start_time if start_time is not None else time.perf_counter()
        self._start = start
        self.prepare()
        if self.notice and on_info is not None:
            on_info(SearchInfo.message(self.notice))
            self.notice = ""
        if board.is_game_over(claim_draw=False) or not any(board.generate_legal_moves()):
            return SearchResult(None, 0, 0, 0, time.perf_counter() - start)
        tabled = self._table_root(board, limits, on_info, start)
        if tabled is not None:
            return tabled
        tree = self._root_among(board, limits.searchmoves) if limits.searchmoves else (
            self._root(board))
        root = tree.root
        assert root is not None
        with self._deadline_lock:
            self._soft_time, self._hard_time = limits.soft_time, limits.hard_time
        nodes_limit = limits.nodes
        with torch.inference_mode():
            torch.set_num_threads(self.config.threads)
            done = 0
            last_info = start
            while True:
                chunk = self.config.batch_size
                if nodes_limit is not None:
                    chunk = min(chunk, nodes_limit - done)
                if chunk > 0 and root.terminal is None:
                    tree.config = self.config.puct(chunk)
                    tree.search()
                    done += chunk
                now = time.perf_counter()
                elapsed = now - start
                if on_info is not None and now - last_info >= INFO_INTERVAL:
                    on_info(self._info(tree, done, elapsed))
                    last_info = now
                if self._should_stop(tree, limits, nodes_limit, done, elapsed, stop_event):
                    break
        elapsed = time.perf_counter() - start
        info = self._info(tree, done, elapsed)
        if on_info is not None:
            on_info(info)
        return SearchResult(info.pv[0], info.score, info.depth, done, elapsed, info.pv)

    def _table_root(self, board: chess.Board, limits: Limits,
                    on_info: Callable[[SearchInfo], None] | None, start: float
                    ) -> SearchResult | None:
        """Endgame tables at the root: a best move by them, the network's prior breaking ties."""
        hits = self.endgame.hits
        choice = self.endgame.root_choice(board, limits.searchmoves,
                                          lambda moves: self._favourite(board, moves))
        report = self.endgame.missing_report()
        if report is not None and on_info is not None:
            on_info(SearchInfo.message(report))
        if choice is None:
            return None
        move, score, pv = choice
        elapsed = time.perf_counter() - start
        if on_info is not None:
            on_info(SearchInfo(depth=1, seldepth=1, score=score, nodes=0, time=elapsed,
                               hashfull=0, pv=pv, tbhits=self.endgame.hits - hits))
        return SearchResult(move, score, 1, 0, elapsed, pv)

    def _favourite(self, board: chess.Board, moves: list[chess.Move]) -> chess.Move:
        """The move among ``moves`` that the network's policy likes best."""
        assert self.network is not None
        state = ChessState.from_board(board)
        legal = list(self.game.legal_actions(state))
        with torch.inference_mode():
            priors = network_evaluator(self.game, self.evaluator_network)([state])[0][0]
        return max(moves, key=lambda move: priors[legal.index(
            encoding.move_to_index(move, board.turn))])

    def _should_stop(self, tree: PUCT, limits: Limits, nodes_limit: int | None, done: int,
                     elapsed: float, stop_event: threading.Event | None) -> bool:
        if stop_event is not None and stop_event.is_set():
            return True
        if nodes_limit is not None and done >= nodes_limit:
            return True
        if limits.depth is not None and len(self._pv(tree)) >= limits.depth:
            return True
        if done > 16 * (limits.depth or 0) ** 3 and limits.depth is not None:
            return True  # a depth that PUCT will not reach soon: bounded anyway
        with self._deadline_lock:
            soft, hard = self._soft_time, self._hard_time
        if hard is not None and elapsed >= hard:
            return True
        if soft is not None:
            if elapsed >= soft:
                return True
            # Smart pruning: the runner-up cannot catch up in the time that is left.
            root = tree.root
            assert root is not None
            if elapsed > 0 and len(root.child_visits) > 1:
                rate = done / elapsed
                remaining = rate * ((hard if hard is not None else soft) - elapsed)
                first, second = np.sort(root.child_visits)[-2:][::-1]
                if first - second > remaining:
                    return True
        return False

    def _pv(self, tree: PUCT) -> list[chess.Move]:
        line = []
        node = tree.root
        while node is not None and node.expanded and node.child_visits.sum() > 0:
            index = int(np.argmax(node.child_visits))
            line.append(self.game.move(node.state, int(node.actions[index])))
            node = node.children[index]
        return line

    def _info(self, tree: PUCT, nodes: int, elapsed: float) -> SearchInfo:
        root = tree.root
        assert root is not None
        pv = self._pv(tree)
        if not pv:  # no simulation yet: the network's favourite
            index = int(np.argmax(root.priors)) if root.expanded else 0
            actions = root.actions if root.expanded else self.game.legal_actions(root.state)
            pv = [self.game.move(root.state, int(actions[index]))]
            score = 0
        else:
            index = int(np.argmax(root.child_visits))
            child = root.children[index]
            if child is not None and child.terminal == -1.0:
                score = MATE - 1  # this move mates
            else:
                q = root.child_value_sum[index] / max(root.child_visits[index], 1)
                score = value_to_cp(q)
        depth = max(1, len(pv))
        return SearchInfo(depth=depth, seldepth=depth, score=score, nodes=nodes, time=elapsed,
                          hashfull=0, pv=pv)


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """``zero-uci``'s flags; with none it starts a UCI session with the shipped net."""
    from minizero.chessgame.uci import engine_parser

    parser = engine_parser("zero-uci", "AlphaZero-style engine (network-guided MCTS with a "
                           "policy-value net)", go="go nodes 200")
    parser.add_argument("--weights", help="network checkpoint (default: the shipped net)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    parser.add_argument("--batch", type=int, default=PuctEngineConfig.batch_size,
                        help="leaves per network call")
    parser.add_argument("--precision", choices=ENGINE_PRECISIONS, default="auto",
                        help="number format of the network (auto: bfloat16 where the CPU or "
                             "GPU computes it natively, else float32; int8: the quantized net, "
                             "CPU only)")
    return parser


def build_engine(argv: list[str] | None = None) -> PuctEngine:
    """``zero-uci [--weights FILE] [--device auto|cpu|cuda] [--batch N]``; ValueError for a
    file that is not a chess network."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be positive")
    engine = PuctEngine(args.weights, args.device,
                        dataclasses.replace(PuctEngineConfig(), batch_size=args.batch),
                        args.precision)
    if args.weights:
        engine.load(args.weights)  # a bad file is reported now, before any GUI talks to us
    return engine


def main(argv: list[str] | None = None) -> int:
    """``zero-uci``: the PUCT engine on stdin/stdout."""
    from minizero.chessgame.uci import serve

    try:
        engine = build_engine(argv)
    except (ValueError, OSError) as error:
        print(f"zero-uci: error: {error}", file=sys.stderr)
        return 2
    return serve(engine)


if __name__ == "__main__":
    sys.exit(main())

"""The UCI server shared by every chess engine of the package.

UCI (Universal Chess Interface) is the line protocol between a chess GUI and an engine: the GUI
writes commands on the engine's stdin (``uci``, ``isready``, ``position``, ``go``, ``stop``...)
and the engine answers on stdout (``info`` lines while it thinks, then ``bestmove``). The search
runs in a worker thread so that ``stop``, ``isready`` and ``quit`` are read at once; every line
is flushed. Bad input never crashes the engine: it answers ``info string <reason>`` and keeps
its last valid state. Reference: the UCI specification by Stefan Meyer-Kahlen (2004).

The server is built from an ``Engine`` (``protocol.py``): the engine names its own options and
does its own searching; the server keeps the position, the clock (``timeman.py``) and the
options every engine shares. Heavy loading happens in ``Engine.prepare`` at ``isready`` or the
first ``go``, so that ``uci`` answers at once even when the engine loads a network. Try it:
``minizero-uci`` (or ``python -m minizero.uci``), then ``uci``, ``position startpos moves
e2e4``, ``go movetime 1000``, ``d``, ``quit``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterable
from typing import TextIO

import chess
import chess.polyglot

from minizero import __version__
from minizero.chessgame.protocol import (
    EXACT,
    LOWER,
    Engine,
    Limits,
    SearchInfo,
    SearchResult,
    UciOption,
)
from minizero.chessgame.timeman import ClockLag, TimeControl, allocate_time

# A go whose limits were all invalid ("go depth 0", "go wtime abc") searches this long instead
# of forever: in a timed game the GUI is waiting for a move.
FALLBACK_MOVETIME_MS = 1000

# Options the server handles for every engine; an engine adds its own (Engine.options).
SERVER_OPTIONS = (
    UciOption("MultiPV", "spin", 1, 1, 64),
    UciOption("Ponder", "check", False),  # the GUI's switch; go ponder works either way
    UciOption("Move Overhead", "spin", 50, 0, 5000),
)


class UciServer:
    """Reads UCI commands, keeps the position and options, lets ``engine`` search in a thread.

    The server's own options (``SERVER_OPTIONS``) are kept here; the engine's own options
    (``engine.options()``) are parsed here and handed to ``engine.set_option``.
    """

    def __init__(
        self, engine: Engine, output: TextIO | None = None,
        author: str = "the minizero authors",
    ) -> None:
        self.engine, self.author = engine, author
        self.engine_options = {option.name.lower() for option in engine.options()}
        self.options = {option.name.lower(): option
                        for option in (*SERVER_OPTIONS, *engine.options())}
        self.values = {key: option.default for key, option in self.options.items()}
        self.output = output if output is not None else sys.stdout
        self.write_lock = threading.Lock()
        self.board = chess.Board()
        self.position_command: tuple[list[str], list[str]] | None = None  # the last valid one
        self.clock_lag = ClockLag()
        self.prepared = False  # engine.prepare() succeeded since the last option change
        self.thread: threading.Thread | None = None
        self.answered = threading.Event()  # the running search has sent its bestmove
        self.stop_event = threading.Event()
        self.ponder_clock: TimeControl | None = None  # the clock to use after ponderhit
        self.infinite_done = threading.Event()  # go infinite/ponder: stop or ponderhit seen
        self.output_closed = False  # the GUI closed our stdout: stop searching, stop writing

    # ------------------------------------------------------------------ output
    def send(self, line: str) -> None:
        with self.write_lock:
            if self.output_closed:
                return
            try:
                self.output.write(line + "\n")
                self.output.flush()
            except (BrokenPipeError, ValueError):  # ValueError: a closed file
                # The GUI went away mid-search: nobody reads us any more, so stop quietly
                # (no traceback on stderr from the search thread).
                self.output_closed = True
                self.stop_event.set()
                self.infinite_done.set()

    def complain(self, reason: str) -> None:
        self.send(f"info string {reason}")

    # ------------------------------------------------------------------ the loop
    def run(self, lines: Iterable[str] | None = None) -> None:
        """Serve until ``quit`` or end of input."""
        for line in lines if lines is not None else sys.stdin:
            if not self.handle(line) or self.output_closed:
                break
        self.stop_search()

    def handle(self, line: str) -> bool:
        """Act on one command line; False means quit. Never raises on bad input."""
        tokens = line.strip().split()
        if not tokens:
            return True
        command, arguments = tokens[0], tokens[1:]
        handler = {
            "uci": self.cmd_uci, "isready": self.cmd_isready, "setoption": self.cmd_setoption,
            "ucinewgame": self.cmd_ucinewgame, "position": self.cmd_position, "go": self.cmd_go,
            "stop": self.cmd_stop, "ponderhit": self.cmd_ponderhit, "d": self.cmd_display,
            "debug": lambda arguments: None, "register": lambda arguments: None,
        }.get(command)
        if command == "quit":
            return False
        if handler is None:
            self.complain(f"unknown command '{command}'")
            return True
        try:
            handler(arguments)
        except Exception as error:  # the engine must outlive any surprise
            self.complain(f"error in '{command}': {error}")
        return True

    # ------------------------------------------------------------------ commands
    def cmd_uci(self, arguments: list[str]) -> None:
        self.send(f"id name {self.engine.name}")
        self.send(f"id author {self.author}")
        for option in self.options.values():
            self.send(option.declaration())
        self.send("uciok")

    def cmd_isready(self, arguments: list[str]) -> None:
        if not self.searching():
            self.prepare_engine()  # heavy loading happens here, not at start-up
        self.send("readyok")

    def cmd_setoption(self, arguments: list[str]) -> None:
        if self.searching():
            self.complain("setoption ignored while searching")
            return
        if not arguments or arguments[0] != "name":
            self.complain("setoption needs 'name <id> [value <x>]'")
            return
        if "value" in arguments:
            at = arguments.index("value")
            name, text = " ".join(arguments[1:at]), " ".join(arguments[at + 1:])
        else:
            name, text = " ".join(arguments[1:]), ""
        option = self.options.get(name.lower())
        if option is None:
            self.complain(f"unknown option '{name}'")
            return
        try:
            value = option.parse(text)
            if option.name.lower() in self.engine_options:
                self.engine.set_option(option.name, value)  # keeps its state on ValueError
                self.prepared = False
        except ValueError as error:
            self.complain(str(error))
            return
        self.values[option.name.lower()] = value

    def cmd_ucinewgame(self, arguments: list[str]) -> None:
        self.stop_search()
        self.board = chess.Board()
        self.position_command = None
        self.clock_lag.forget()
        self.engine.new_game()

    def cmd_position(self, arguments: list[str]) -> None:
        if self.searching():
            self.stop_search()
        if not arguments or arguments[0] not in ("startpos", "fen"):
            self.complain("position needs 'startpos' or 'fen <fen>'")
            return
        moves_at = arguments.index("moves") if "moves" in arguments else len(arguments)
        base, moves = arguments[:moves_at], arguments[moves_at + 1:]
        # A GUI resends the whole game before every move: when it extends the last position,
        # only the new moves are checked and played (this keeps long games cheap).
        known = self.position_command
        if known is not None and base == known[0] and moves[:len(known[1])] == known[1]:
            board, new_moves = self.board.copy(), moves[len(known[1]):]
        else:
            board, new_moves = self.parse_base(base), moves
            if board is None:
                return
        for text in new_moves:
            try:
                board.push(board.parse_uci(text))
            except ValueError:
                self.complain(f"illegal move '{text}' in {board.fen()}; position unchanged")
                return
        self.board = board
        self.position_command = (base, moves)

    def parse_base(self, base: list[str]) -> chess.Board | None:
        """The board of 'startpos' or 'fen <fen>', or None after saying what is wrong."""
        if base[0] == "startpos":
            return chess.Board()
        fen = " ".join(base[1:])
        try:
            board = chess.Board(fen)
        except ValueError as error:
            self.complain(f"invalid fen '{fen}': {error}")
            return None
        if not board.is_valid():
            self.complain(f"impossible position '{fen}': {board.status()!r}")
            return None
        return board

    def cmd_go(self, arguments: list[str]) -> None:
        start = time.perf_counter()  # the clock runs from the moment we read 'go'
        if self.searching():
            self.complain("go ignored: already searching")
            return
        parsed = self.parse_go(arguments)
        self.prepare_engine()
        overhead = int(self.values["move overhead"])
        side = "w" if self.board.turn else "b"
        self.clock_lag.observe(len(self.board.move_stack), parsed.get(f"{side}time"),
                               parsed.get(f"{side}inc", 0), "ponder" in parsed)
        lag_ms = self.clock_lag.lag_ms
        clock = TimeControl(
            time_left=parsed.get("wtime" if self.board.turn else "btime"),
            increment=parsed.get("winc" if self.board.turn else "binc", 0),
            movestogo=parsed.get("movestogo"), movetime=parsed.get("movetime"),
        )
        waits = "infinite" in parsed or "ponder" in parsed
        if waits:
            soft, hard = None, None
        else:
            soft, hard = allocate_time(clock, overhead, lag_ms)
            unbounded = soft is None and hard is None and all(
                parsed.get(name) is None for name in ("depth", "nodes", "mate"))
            if unbounded and parsed.get("rejected"):
                self.complain(f"go: no valid limit left; searching {FALLBACK_MOVETIME_MS} ms")
                soft, hard = allocate_time(TimeControl(movetime=FALLBACK_MOVETIME_MS),
                                           overhead, lag_ms)
        # A lone legal move needs no thought: answer at once and save the clock.
        if (clock.time_left is not None and clock.movetime is None and not waits
                and sum(1 for _ in self.board.generate_legal_moves()) == 1):
            soft = hard = 0.0
        limits = Limits(
            depth=parsed.get("depth"), nodes=parsed.get("nodes"), soft_time=soft, hard_time=hard,
            mate=parsed.get("mate"), searchmoves=tuple(parsed.get("searchmoves", ())),
        )
        self.ponder_clock = clock if "ponder" in parsed else None
        self.stop_event = threading.Event()
        self.answered = threading.Event()
        self.infinite_done = threading.Event()
        if not waits:
            self.infinite_done.set()
        board = self.board.copy()
        self.thread = threading.Thread(
            target=self.search_and_answer, args=(board, limits, start), daemon=True)
        self.thread.start()

    def cmd_stop(self, arguments: list[str]) -> None:
        if self.searching():
            self.stop_search()

    def cmd_ponderhit(self, arguments: list[str]) -> None:
        """The expected move was played: keep searching, now on our own clock."""
        if not self.searching() or self.ponder_clock is None:
            return
        soft, hard = allocate_time(
            self.ponder_clock, int(self.values["move overhead"]), self.clock_lag.lag_ms)
        self.ponder_clock = None
        self.engine.extend_time(soft, hard)
        self.infinite_done.set()

    def cmd_display(self, arguments: list[str]) -> None:
        for row in str(self.board).splitlines():
            self.send(f"info string {row}")
        self.send(f"info string fen {self.board.fen()}")
        self.send(f"info string key {chess.polyglot.zobrist_hash(self.board):016x}")

    # ------------------------------------------------------------------ helpers
    def parse_go(self, arguments: list[str]) -> dict[str, object]:
        """The go parameters that parse; each one that does not gets an info string (and
        ``rejected`` is set, so that a go left without a limit is bounded all the same)."""
        numeric = ("wtime", "btime", "winc", "binc", "movestogo", "movetime", "depth", "nodes",
                   "mate")
        parsed: dict[str, object] = {}
        index = 0
        while index < len(arguments):
            word = arguments[index]
            if word in ("infinite", "ponder"):
                parsed[word] = True
                index += 1
            elif word in numeric:
                text = arguments[index + 1] if index + 1 < len(arguments) else None
                value = _to_int(text)
                if value is None:
                    parsed["rejected"] = True
                    self.complain(f"go {word} needs a number, got '{text or ''}'; ignored")
                    keywords = numeric + ("infinite", "ponder", "searchmoves")
                    index += 1 if text is None or text in keywords else 2
                    continue
                if value < 0 and word in ("wtime", "btime"):
                    self.complain(f"go {word} {value} is negative; taken as 0")
                    value = 0
                elif value < 0 or (value == 0 and word in ("movestogo", "depth", "mate")):
                    parsed["rejected"] = True
                    self.complain(f"go {word} {value} is out of range; ignored")
                    index += 2
                    continue
                parsed[word] = value
                index += 2
            elif word == "searchmoves":
                index += 1
                moves = []
                while index < len(arguments) and arguments[index] not in numeric + (
                        "infinite", "ponder"):
                    try:
                        moves.append(self.board.parse_uci(arguments[index]))
                    except ValueError:
                        parsed["rejected"] = True
                        self.complain(f"searchmoves: '{arguments[index]}' is not legal; ignored")
                    index += 1
                parsed["searchmoves"] = moves
            else:
                self.complain(f"go: unknown parameter '{word}'; ignored")
                index += 1
        return parsed

    def prepare_engine(self) -> None:
        """Let the engine load what it needs; a failure is reported and the engine goes on."""
        if self.prepared:
            return
        try:
            self.engine.prepare()
            self.prepared = True
        except ValueError as error:
            self.complain(str(error))

    def searching(self) -> bool:
        """A search runs and has not answered yet. A thread that has sent its bestmove is only
        finishing: it is joined, so a ``go`` sent right after a bestmove is never refused."""
        if self.thread is None:
            return False
        if self.answered.is_set():
            self.thread.join()
            self.thread = None
            return False
        return self.thread.is_alive()

    def stop_search(self) -> None:
        if self.thread is None:
            return
        self.stop_event.set()
        self.infinite_done.set()
        self.thread.join()
        self.thread = None

    def search_and_answer(self, board: chess.Board, limits: Limits, start: float) -> None:
        result: SearchResult | None = None
        try:
            result = self.engine.search(
                board, limits, on_info=self.send_info, multipv=int(self.values["multipv"]),
                start_time=start, stop_event=self.stop_event)
        except Exception as error:  # never leave the GUI without a bestmove
            self.complain(f"search failed: {error}")
        # go infinite / go ponder: the GUI expects bestmove only after stop or ponderhit.
        self.infinite_done.wait()
        self.clock_lag.searched((time.perf_counter() - start) * 1000)
        self.answered.set()
        if result is None or result.best_move is None:
            legal = list(board.legal_moves)
            self.send(f"bestmove {legal[0].uci()}" if legal else "bestmove 0000")
            return
        self.send_result(result)

    def send_result(self, result: SearchResult) -> None:
        line = f"bestmove {result.best_move.uci()}"
        if result.ponder_move is not None:
            line += f" ponder {result.ponder_move.uci()}"
        self.send(line)

    def send_info(self, info: SearchInfo) -> None:
        if info.text:
            self.send(f"info string {info.text}")
            return
        if info.currmove is not None:
            self.send(f"info depth {info.depth} currmove {info.currmove.uci()} "
                      f"currmovenumber {info.currmovenumber}")
            return
        mate_in = info.mate_in
        score = f"mate {mate_in}" if mate_in is not None else f"cp {info.score}"
        if info.bound != EXACT:
            score += " lowerbound" if info.bound == LOWER else " upperbound"
        milliseconds = max(int(info.time * 1000), 1)
        nps = int(info.nodes * 1000 / milliseconds)
        pv = " ".join(move.uci() for move in info.pv)
        tbhits = f" tbhits {info.tbhits}" if info.tbhits else ""
        self.send(
            f"info depth {info.depth} seldepth {info.seldepth} multipv {info.multipv} "
            f"score {score} nodes {info.nodes} nps {nps} time {milliseconds} "
            f"hashfull {info.hashfull}{tbhits} pv {pv}"
        )


def _to_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def serve(engine: Engine) -> int:
    """Run a UCI server for ``engine`` on stdin/stdout, the way a GUI launches an engine."""
    # Undecodable bytes become U+FFFD (then an 'unknown command'), never a crash.
    sys.stdin.reconfigure(errors="replace")
    server = UciServer(engine)
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):  # the GUI went away
        server.run()
    if server.output_closed:
        # Python flushes stdout once more at exit; with the pipe gone that would print
        # "Exception ignored ... BrokenPipeError" on stderr. Point stdout at /dev/null first.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    return 0


def engine_parser(prog: str, what: str, go: str = "go depth 6") -> argparse.ArgumentParser:
    """The command line of a UCI engine: its flags, ``--help`` and ``--version``; with no
    arguments the engine serves UCI (``serve``), as GUIs expect."""
    parser = argparse.ArgumentParser(
        prog=prog, description=f"minizero's {what}, for any UCI GUI (Cute Chess, Arena, "
        "lichess-bot, ...).",
        epilog="With no arguments it speaks UCI on stdin/stdout, as a GUI expects: type 'uci', "
        f"'isready', 'position startpos', '{go}', 'quit'.")
    parser.add_argument("--version", action="version", version=f"{prog} {__version__}")
    return parser

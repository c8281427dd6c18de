"""One game between two UCI engines, refereed by python-chess: each engine started fresh,
the clocks kept, illegal moves, crashes, hangs and flags scored as losses, optional score
adjudication, and the game written as PGN. ``match.py`` plays many of them.

Fairness of the clock: the runner times each move from sending ``go`` to reading ``bestmove``.
Part of that is latency, not thinking: pipes, process wake-ups, a loaded machine. Every engine
gets the same latency grace for it (``MatchConfig.latency_grace``): the measured latency of the
move (the elapsed time minus the search time the engine reports in its last ``info ... time``;
all of the elapsed time when it reports none), up to the grace, is not charged to its clock. No
engine is asked to give up time through its options; where a caller does set such an option
(``TIME_OPTIONS``), ``time_handicap`` names it so that the results can say so.
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import chess
import chess.engine
import chess.pgn

from minizero.lifeline import engine_preexec

START_TIMEOUT = 10.0  # seconds an engine gets to answer 'uci' with 'uciok'
SEARCH_GRACE = 5.0  # seconds past its clock before a silent engine is declared hung
LATENCY_GRACE = 0.05  # seconds of measured latency a move may have without costing clock time
MAX_LATENCY_GRACE = 10.0

# UCI options (lower case) that change how long an engine thinks on a clock: Stockfish's, and
# the names other engines use for the same ideas. A value other than the engine's default is a
# time handicap and must be reported beside the result.
TIME_OPTIONS = frozenset({"move overhead", "moveoverhead", "slow mover", "slowmover",
                          "minimum thinking time", "nodestime", "timebuffer"})


class EngineStartError(ValueError):
    """An engine command that does not start or does not speak UCI."""


@dataclass(frozen=True)
class EngineSpec:
    """A UCI engine: a display name, the command line that starts it, options to set."""

    name: str
    command: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str, options: Sequence[str] = ()) -> EngineSpec:
        """``text`` is a command line; 'minizero' means this package's engine.

        ``options`` are NAME=VALUE strings, e.g. ``UCI_Elo=1350``.
        """
        if text in ("minizero", "minizero-uci"):
            command: tuple[str, ...] = (sys.executable, "-m", "minizero.chessgame.engine")
            name = "minizero"
        else:
            command = tuple(shlex.split(text))
            if not command:
                raise EngineStartError("empty engine command")
            name = Path(command[0]).name
            beside = Path(sys.executable).parent / command[0]  # e.g. sunfish-uci in the venv
            if "/" not in command[0] and shutil.which(command[0]) is None and beside.exists():
                command = (str(beside), *command[1:])
        pairs = []
        for option in options:
            key, sep, value = option.partition("=")
            if not sep or not key:
                raise ValueError(f"engine option must be NAME=VALUE, got '{option}'")
            pairs.append((key.strip(), value.strip()))
        if pairs:
            name += "(" + ",".join(f"{key}={value}" for key, value in pairs) + ")"
        return cls(name, command, tuple(pairs))

    def time_handicap(self, defaults: Mapping[str, object] | None = None) -> str:
        """The options set here that change the engine's thinking time ('NAME=VALUE, ...'), or
        '' when none is set: a time handicap that a results table must show. With the
        engine's ``defaults`` (option name: default value), an option set to its default is
        no handicap."""
        defaults = {key.lower(): str(value).lower() for key, value in (defaults or {}).items()}
        return ", ".join(f"{key}={value}" for key, value in self.options
                         if key.lower() in TIME_OPTIONS
                         and defaults.get(key.lower()) != value.lower())


@dataclass(frozen=True)
class MatchConfig:
    """How the games are played and adjudicated.

    base_time/increment: seconds (None base = untimed); nodes/depth: per-move limits instead.
    concurrency: games at once. resign_score/resign_moves: a game is adjudicated lost when
    both engines agree the loser is down at least resign_score centipawns for resign_moves
    moves each (0 disables); draw_score/draw_moves/draw_after: drawn when both engines see
    |score| <= draw_score for draw_moves moves each after move draw_after (0 disables).
    time_margin: seconds an engine may overstep its clock before it is flagged.
    latency_grace: seconds of measured latency per move not charged to the mover's clock, the
    same for both engines (0 charges all of the elapsed time; at most 10).
    sprt: (elo0, elo1, alpha, beta) to stop once the SPRT decides, or None.
    """

    games: int = 10
    base_time: float | None = 10.0
    increment: float = 0.1
    nodes: int | None = None
    depth: int | None = None
    concurrency: int = 2
    resign_score: int = 0
    resign_moves: int = 3
    draw_score: int = 0
    draw_moves: int = 8
    draw_after: int = 40
    time_margin: float = 0.0
    latency_grace: float = LATENCY_GRACE
    sprt: tuple[float, float, float, float] | None = None
    seed: int = 0


@dataclass
class GameRecord:
    """One finished game. ``result`` is '1-0', '0-1' or '1/2-1/2'; scores are for White."""

    index: int
    white: str
    black: str
    result: str
    termination: str
    pgn: str
    plies: int
    # seconds of latency measured on each move (elapsed minus reported search time), per engine
    # name; moves whose engine reported no search time are left out
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def score_for(self, name: str) -> float:
        if self.result == "1/2-1/2":
            return 0.5
        white_won = self.result == "1-0"
        return 1.0 if white_won == (self.white == name) else 0.0


async def start_engine(spec: EngineSpec) -> chess.engine.UciProtocol:
    """Start ``spec`` and set its options, or raise EngineStartError naming it."""
    try:
        _, engine = await asyncio.wait_for(
            chess.engine.popen_uci(list(spec.command), preexec_fn=engine_preexec),
            timeout=START_TIMEOUT)
    except (OSError, asyncio.TimeoutError, chess.engine.EngineError) as error:
        reason = "no answer to 'uci'" if isinstance(error, asyncio.TimeoutError) else error
        raise EngineStartError(
            f"engine {spec.name} ({shlex.join(spec.command)}) did not start: {reason}") from None
    try:
        if spec.options:
            await engine.configure(dict(spec.options))
        # isready before the clock starts, as GUIs do: an engine that loads its network lazily
        # (nnue-uci) does it now, not on its first move's time.
        await asyncio.wait_for(engine.ping(), timeout=START_TIMEOUT)
    except (chess.engine.EngineError, ValueError) as error:
        await stop_engine(engine)
        raise EngineStartError(f"engine {spec.name}: bad option: {error}") from None
    except asyncio.TimeoutError:
        await stop_engine(engine)
        raise EngineStartError(f"engine {spec.name}: no answer to 'isready'") from None
    return engine


async def stop_engine(engine: chess.engine.UciProtocol) -> None:
    try:
        await asyncio.wait_for(engine.quit(), timeout=2.0)
    except Exception:  # a hung or dead engine: kill it
        transport = getattr(engine, "transport", None)
        if transport is not None:
            transport.kill() if hasattr(transport, "kill") else transport.close()


# Called with the board before the move, the move, and the mover's score in centipawns (None
# when the engine gave none): lets a caller show the game as it is played.
MoveCallback = Callable[[chess.Board, chess.Move, "int | None"], None]


async def play_game(
    index: int, white: EngineSpec, black: EngineSpec, opening: str, config: MatchConfig,
    on_move: MoveCallback | None = None,
) -> GameRecord:
    """One game between freshly started engines; forfeits end it, nothing raises."""
    board = chess.Board(opening)
    specs = {chess.WHITE: white, chess.BLACK: black}
    engines: dict[bool, chess.engine.UciProtocol] = {}
    clocks = {chess.WHITE: config.base_time or 0.0, chess.BLACK: config.base_time or 0.0}
    scores: dict[bool, list[int]] = {chess.WHITE: [], chess.BLACK: []}
    clock_left: list[float] = []  # seconds on the mover's clock after each move
    latencies: dict[str, list[float]] = {white.name: [], black.name: []}
    result, termination = "*", ""
    try:
        for colour in (chess.WHITE, chess.BLACK):
            engines[colour] = await start_engine(specs[colour])
        while True:
            outcome = board.outcome(claim_draw=True)
            if outcome is not None:
                result = outcome.result()
                termination = outcome.termination.name.lower().replace("_", " ")
                break
            mover = board.turn
            name = specs[mover].name
            limit = _limit(config, clocks)
            timeout = (clocks[mover] + config.time_margin + SEARCH_GRACE
                       if config.base_time is not None else 600.0)
            started = time.perf_counter()
            try:
                played = await asyncio.wait_for(
                    engines[mover].play(board, limit, info=chess.engine.INFO_SCORE,
                                        game=index), timeout=timeout)
                elapsed = time.perf_counter() - started
            except asyncio.TimeoutError:
                result, termination = _loss(mover), f"{name} time forfeit (no answer)"
                break
            except chess.engine.EngineTerminatedError:
                result, termination = _loss(mover), f"{name} crash"
                break
            except chess.engine.EngineError:
                # python-chess raises this for a bestmove that is illegal or not a move at all.
                result, termination = _loss(mover), f"{name} illegal move"
                break
            reported = played.info.get("time")  # seconds the engine says it searched
            latency = elapsed if reported is None else max(elapsed - reported, 0.0)
            if reported is not None:
                latencies[name].append(latency)
            if config.base_time is not None:
                clocks[mover] -= elapsed - min(latency, config.latency_grace)
                if clocks[mover] < -config.time_margin:
                    result, termination = _loss(mover), f"{name} time forfeit"
                    break
                clocks[mover] += config.increment
            if played.move is None:
                result, termination = _loss(mover), f"{name} illegal move (none)"
                break
            score = played.info.get("score")
            centipawns = None if score is None else score.pov(mover).score(mate_score=100_000)
            if on_move is not None:
                on_move(board, played.move, centipawns)
            board.push(played.move)
            clock_left.append(clocks[mover])
            if centipawns is not None:
                scores[mover].append(centipawns)
            adjudicated = _adjudicate(board, scores, config)
            if adjudicated is not None:
                result, termination = adjudicated
                break
    finally:
        for engine in engines.values():
            await stop_engine(engine)
    return GameRecord(index, white.name, black.name, result, termination,
                      _pgn(board, opening, white, black, result, termination, config, index,
                           clock_left),
                      board.ply(), latencies)


def _limit(config: MatchConfig, clocks: dict[bool, float]) -> chess.engine.Limit:
    if config.base_time is None:
        return chess.engine.Limit(nodes=config.nodes, depth=config.depth)
    return chess.engine.Limit(
        white_clock=max(clocks[chess.WHITE], 0.0), black_clock=max(clocks[chess.BLACK], 0.0),
        white_inc=config.increment, black_inc=config.increment,
        nodes=config.nodes, depth=config.depth)


def _loss(colour: bool) -> str:
    return "0-1" if colour == chess.WHITE else "1-0"


def _adjudicate(
    board: chess.Board, scores: dict[bool, list[int]], config: MatchConfig,
) -> tuple[str, str] | None:
    """Score adjudication: both engines agree the game is decided, or dead drawn."""
    white, black = scores[chess.WHITE], scores[chess.BLACK]
    if config.resign_score > 0:
        moves = config.resign_moves
        if len(white) >= moves and len(black) >= moves:
            if all(s <= -config.resign_score for s in white[-moves:]) and all(
                    s >= config.resign_score for s in black[-moves:]):
                return "0-1", "adjudication: white resigns"
            if all(s >= config.resign_score for s in white[-moves:]) and all(
                    s <= -config.resign_score for s in black[-moves:]):
                return "1-0", "adjudication: black resigns"
    if config.draw_score > 0 and board.fullmove_number > config.draw_after:
        moves = config.draw_moves
        recent = white[-moves:] + black[-moves:]
        if len(recent) == 2 * moves and all(abs(s) <= config.draw_score for s in recent):
            return "1/2-1/2", "adjudication: draw"
    return None


def _pgn(
    board: chess.Board, opening: str, white: EngineSpec, black: EngineSpec, result: str,
    termination: str, config: MatchConfig, index: int, clock_left: list[float],
) -> str:
    game = chess.pgn.Game.from_board(board)
    if config.base_time is not None:  # the clock after each move, as %clk comments
        node = game
        for seconds in clock_left:
            node = node.variations[0]
            node.set_clock(max(seconds, 0.0))
    game.headers["Event"] = "minizero match"
    game.headers["Round"] = str(index + 1)
    game.headers["White"], game.headers["Black"] = white.name, black.name
    game.headers["Result"] = result
    game.headers["Termination"] = termination
    if config.base_time is not None:
        game.headers["TimeControl"] = f"{config.base_time:g}+{config.increment:g}"
    if opening != chess.STARTING_FEN:
        game.headers["FEN"], game.headers["SetUp"] = opening, "1"
    return str(game)

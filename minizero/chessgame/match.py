"""Matches between UCI engines: who is stronger, by how much, and how sure we are.

A match plays each opening twice with the colours swapped (so neither engine profits from a
lucky opening), at a time control, a node count or a depth, several games at once. The referee
is python-chess: games end by the rules (mate, stalemate, threefold repetition, fifty moves,
insufficient material) or, optionally, by score adjudication; an illegal move, a crash or a
flag loses the game and is recorded as such. The score s of engine 1 becomes an Elo difference
with a 95% interval, and an optional SPRT says when the evidence is enough (``minizero/elo.py``).

Fairness of the clock: the runner times each move from sending ``go`` to reading ``bestmove``.
Part of that is latency, not thinking: pipes, process wake-ups, a loaded machine. Every engine
gets the same latency grace for it (``MatchConfig.latency_grace``): the measured latency of the
move (the elapsed time minus the search time the engine reports in its last ``info ... time``;
all of the elapsed time when it reports none), up to the grace, is not charged to its clock. No
engine is asked to give up time through its options; where a caller does set such an option
(``TIME_OPTIONS``), ``time_handicap`` names it so that the results can say so.

Try it: ``minizero match minizero sunfish-uci --games 20 --tc 10+0.1 --pgn runs/m.pgn``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
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
from tqdm import tqdm

from minizero.cluster import LOCAL, ClusterSpec, Units
from minizero.elo import elo_interval, sprt_llr, sprt_verdict
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


@dataclass
class MatchResult:
    """Engine 1's wins, draws and losses, with every game and the forfeits counted apart."""

    engine1: str
    engine2: str
    games: list[GameRecord] = field(default_factory=list)
    # per engine name, the options that change its thinking time ('' for none): see TIME_OPTIONS
    time_handicap: dict[str, str] = field(default_factory=dict)

    @property
    def wins(self) -> int:
        return sum(game.score_for(self.engine1) == 1.0 for game in self.games)

    @property
    def draws(self) -> int:
        return sum(game.score_for(self.engine1) == 0.5 for game in self.games)

    @property
    def losses(self) -> int:
        return sum(game.score_for(self.engine1) == 0.0 for game in self.games)

    def forfeits(self, name: str) -> dict[str, int]:
        """How often ``name`` lost by illegal move, time, crash or hang."""
        counts: dict[str, int] = {}
        for game in self.games:
            if game.termination.startswith(f"{name} "):
                reason = game.termination.removeprefix(f"{name} ")
                counts[reason] = counts.get(reason, 0) + 1
        return counts

    def latency_ms(self, name: str) -> dict[str, float] | None:
        """Mean and largest measured latency of ``name``'s moves in milliseconds, or None when
        it never reported its search time."""
        seconds = [value for game in self.games for value in game.latencies.get(name, [])]
        if not seconds:
            return None
        return {"mean": round(1000 * sum(seconds) / len(seconds), 1),
                "max": round(1000 * max(seconds), 1)}

    def summary(self) -> dict[str, object]:
        elo, low, high = elo_interval(self.wins, self.draws, self.losses)
        games = len(self.games)
        return {
            "engine1": self.engine1, "engine2": self.engine2, "games": games,
            "wins": self.wins, "draws": self.draws, "losses": self.losses,
            "score": (self.wins + 0.5 * self.draws) / games if games else None,
            "elo": elo, "elo_low": low, "elo_high": high,
            "forfeits": {self.engine1: self.forfeits(self.engine1),
                         self.engine2: self.forfeits(self.engine2)},
            "time_handicap": self.time_handicap,
            "latency_ms": {self.engine1: self.latency_ms(self.engine1),
                           self.engine2: self.latency_ms(self.engine2)},
        }


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


async def _run(
    engine1: EngineSpec, engine2: EngineSpec, openings: Sequence[str], config: MatchConfig,
    on_game: Callable[[GameRecord, MatchResult], None] | None,
) -> MatchResult:
    # Fail early, with the engine's name, if either cannot start.
    handicaps = {}
    for spec in (engine1, engine2):
        engine = await start_engine(spec)
        handicaps[spec.name] = spec.time_handicap(
            {name: option.default for name, option in engine.options.items()})
        await stop_engine(engine)
    result = MatchResult(engine1.name, engine2.name, time_handicap=handicaps)
    slots = asyncio.Semaphore(config.concurrency)
    decided = asyncio.Event()

    async def one(index: int) -> None:
        async with slots:
            if decided.is_set():
                return
            record = await play_game(index, *_pairing(index, engine1, engine2, openings),
                                     config)
            result.games.append(record)
            if on_game is not None:
                on_game(record, result)
            if config.sprt is not None and sprt_verdict(result.wins, result.draws, result.losses,
                                                         config.sprt) is not None:
                decided.set()

    await asyncio.gather(*(one(index) for index in range(config.games)))
    result.games.sort(key=lambda game: game.index)
    return result


def _pairing(index: int, engine1: EngineSpec, engine2: EngineSpec,
             openings: Sequence[str]) -> tuple[EngineSpec, EngineSpec, str]:
    """White, Black and the opening of game ``index``: colour-swapped pairs, game 2k with
    engine 1 White, game 2k+1 the same opening with engine 1 Black."""
    opening = openings[(index // 2) % len(openings)]
    white, black = (engine1, engine2) if index % 2 == 0 else (engine2, engine1)
    return white, black, opening


def play_game_unit(index: int, white: EngineSpec, black: EngineSpec, opening: str,
                   config: MatchConfig) -> GameRecord:
    """One game as a unit of work (``minizero.cluster``): run on whichever node has a CPU."""
    return asyncio.run(play_game(index, white, black, opening, config))


def _run_on_cluster(
    engine1: EngineSpec, engine2: EngineSpec, openings: Sequence[str], config: MatchConfig,
    on_game: Callable[[GameRecord, MatchResult], None], cluster: ClusterSpec,
) -> MatchResult:
    """The match with each game a unit on ``cluster``, ``config.concurrency`` at once (the
    engines must be installed at the same path on every node). Results arrive as games end,
    as fishtest gathers them; when the SPRT decides, the games still running are stopped."""
    result = MatchResult(engine1.name, engine2.name)
    with Units(cluster, config.concurrency) as units:
        started = 0
        decided = False
        while units.running or (started < config.games and not decided):
            while started < config.games and not decided and units.running < units.capacity:
                units.submit(started, play_game_unit, started,
                             *_pairing(started, engine1, engine2, openings), config)
                started += 1
            _, record = units.next_done()
            result.games.append(record)
            on_game(record, result)
            if config.sprt is not None and sprt_verdict(result.wins, result.draws,
                                                        result.losses, config.sprt) is not None:
                decided = True
                units.close()  # the games still running do not count
    result.games.sort(key=lambda game: game.index)
    return result


def run_match(
    engine1: EngineSpec, engine2: EngineSpec, openings: Sequence[str], config: MatchConfig,
    progress: bool = False, pgn_path: str | Path | None = None, cluster: ClusterSpec = LOCAL,
) -> MatchResult:
    """Play the match (on this machine, or each game a unit on a Ray ``cluster``); raises
    EngineStartError if an engine cannot start."""
    if config.games < 1 or config.concurrency < 1:
        raise ValueError("games and concurrency must be at least 1")
    if config.base_time is None and config.nodes is None and config.depth is None:
        raise ValueError("give a time control, a node count or a depth")
    if not 0.0 <= config.latency_grace <= MAX_LATENCY_GRACE:
        raise ValueError(f"latency grace must be between 0 and {MAX_LATENCY_GRACE:g} seconds, "
                         f"got {config.latency_grace:g}")
    rng = random.Random(config.seed)
    openings = list(openings)
    rng.shuffle(openings)
    bar = tqdm(total=config.games, desc=f"{engine1.name} vs {engine2.name}", file=sys.stderr,
               disable=not progress)
    with contextlib.ExitStack() as stack:
        stack.callback(bar.close)
        pgn_files: list = []  # opened at the first finished game: a failed start touches nothing

        def on_game(record: GameRecord, result: MatchResult) -> None:
            if pgn_path is not None:
                if not pgn_files:  # append: games of earlier matches in the file are kept
                    pgn_files.append(stack.enter_context(Path(pgn_path).open("a")))
                pgn_files[0].write(record.pgn + "\n\n")
                pgn_files[0].flush()
            bar.set_postfix_str(f"+{result.wins}={result.draws}-{result.losses}")
            bar.update(1)

        if cluster.backend != "local":
            return _run_on_cluster(engine1, engine2, openings, config, on_game, cluster)
        return asyncio.run(_run(engine1, engine2, openings, config, on_game))


def format_summary(result: MatchResult, config: MatchConfig) -> str:
    summary = result.summary()
    lines = [
        f"{result.engine1} vs {result.engine2}: {summary['games']} games",
        f"W/D/L {result.wins}/{result.draws}/{result.losses}, score "
        f"{summary['score']:.3f}, Elo {summary['elo']:+.0f} "
        f"[{summary['elo_low']:+.0f}, {summary['elo_high']:+.0f}] (95%)",
    ]
    for name, handicap in result.time_handicap.items():
        if handicap:
            lines.append(f"time handicap of {name}: {handicap}")
    for name, counts in summary["forfeits"].items():
        if counts:
            lines.append(f"forfeits by {name}: " + ", ".join(
                f"{reason} {count}" for reason, count in counts.items()))
    if config.sprt is not None:
        verdict = sprt_verdict(result.wins, result.draws, result.losses, config.sprt)
        llr = sprt_llr(result.wins, result.draws, result.losses, config.sprt[0], config.sprt[1])
        lines.append(f"SPRT [{config.sprt[0]:g}, {config.sprt[1]:g}]: LLR {llr:.2f}, "
                     + (verdict or "undecided"))
    return "\n".join(lines)

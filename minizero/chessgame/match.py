"""Matches between UCI engines: who is stronger, by how much, and how sure we are.

A match plays each opening twice with the colours swapped (so neither engine profits from a
lucky opening), at a time control, a node count or a depth, several games at once. The referee
is python-chess: games end by the rules (mate, stalemate, threefold repetition, fifty moves,
insufficient material) or, optionally, by score adjudication; an illegal move, a crash or a
flag loses the game and is recorded as such. The score s of engine 1 becomes an Elo difference
with a 95% interval, and an optional SPRT says when the evidence is enough (``minizero/elo.py``).

One game, its clock (the same latency grace for every engine) and its PGN are in
``uci_game.py``.

Try it: ``minizero match minizero sunfish-uci --games 20 --tc 10+0.1 --pgn runs/m.pgn``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from minizero.chessgame.uci_game import (  # noqa: F401  (callers import them from here)
    LATENCY_GRACE,
    MAX_LATENCY_GRACE,
    TIME_OPTIONS,
    EngineSpec,
    EngineStartError,
    GameRecord,
    MatchConfig,
    play_game,
    start_engine,
    stop_engine,
)
from minizero.cluster import LOCAL, ClusterSpec, Units
from minizero.elo import elo_interval, sprt_llr, sprt_verdict


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

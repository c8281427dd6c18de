"""The chess commands of the ``minizero`` CLI: ``minizero match`` and ``minizero openings``.

Argument parsing and checking only; the work is in ``match.py`` and ``openings.py``. Every user
error surfaces as a one-line ValueError, which the CLI prints as an error and exits non-zero.

Try it: ``minizero match minizero sunfish-uci --games 4 --tc 5+0.05``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import chess

from minizero.atomic import write_text
from minizero.chessgame.match import (
    LATENCY_GRACE,
    EngineSpec,
    MatchConfig,
    format_summary,
    run_match,
)
from minizero.chessgame.openings import generate_openings, read_openings
from minizero.cluster import LOCAL, cluster_spec
from minizero.options import non_negative_float, non_negative_int, positive_int
from minizero.outputs import add_force_argument, refuse_overwrite
from minizero.peers import check_uci_engine, find_stockfish


def parse_time_control(text: str) -> tuple[float, float]:
    """'10+0.1' -> (10.0, 0.1) seconds; '40' -> (40.0, 0.0)."""
    base, _, increment = text.partition("+")
    try:
        values = float(base), float(increment or 0)
    except ValueError:
        raise ValueError(f"time control must look like 10+0.1, got '{text}'") from None
    if values[0] <= 0 or values[1] < 0:
        raise ValueError(f"time control needs a positive base and increment >= 0: '{text}'")
    return values


def add_match_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "match", help="play a match between two UCI engines",
        description="Play colour-swapped games between two UCI engines and report W/D/L, "
                    "score and Elo with a 95% interval. ENGINE is a command line "
                    "('sunfish-uci', '/usr/games/stockfish') or 'minizero'.")
    parser.add_argument("engine1")
    parser.add_argument("engine2")
    parser.add_argument("--option1", action="append", default=[], metavar="NAME=VALUE",
                        help="UCI option for engine 1 (repeatable)")
    parser.add_argument("--option2", action="append", default=[], metavar="NAME=VALUE",
                        help="UCI option for engine 2, e.g. UCI_LimitStrength=true")
    parser.add_argument("--games", type=positive_int, default=10)
    parser.add_argument("--tc", default=None, help="time control BASE+INC in seconds "
                        "(default 10+0.1 unless --nodes or --depth)")
    parser.add_argument("--nodes", type=positive_int, default=None, help="nodes per move")
    parser.add_argument("--depth", type=positive_int, default=None, help="depth per move")
    parser.add_argument("--concurrency", type=positive_int, default=2, help="games at once")
    parser.add_argument("--openings", default=None, help="file of FENs (default: start "
                        "position only)")
    parser.add_argument("--pgn", default=None,
                        help="append every game to this PGN file (created if needed)")
    parser.add_argument("--resign", default=None, metavar="CP,MOVES",
                        help="adjudicate a loss when both engines agree for MOVES moves")
    parser.add_argument("--draw", default=None, metavar="AFTER,CP,MOVES",
                        help="adjudicate a draw after move AFTER when |score| <= CP for MOVES")
    parser.add_argument("--time-margin", type=non_negative_float, default=0.0,
                        help="seconds an engine may overstep its clock")
    parser.add_argument("--latency-grace", type=non_negative_float, default=LATENCY_GRACE,
                        metavar="SECONDS", help="measured latency per move not charged to the "
                        "mover's clock, the same for both engines (0 to 10; default "
                        f"{LATENCY_GRACE:g})")
    parser.add_argument("--sprt", default=None, metavar="ELO0,ELO1",
                        help="stop when the SPRT (alpha = beta = 0.05) decides")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="shuffles the openings")
    parser.add_argument("--cluster", type=cluster_spec, default=LOCAL,
                        help="where games are played: local (this machine), ray (the running "
                             "Ray cluster, --concurrency games at once) or ray://HOST:PORT")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run_match_command)


def _numbers(text: str, count: int, flag: str) -> list[float]:
    parts = text.split(",")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != count:
        raise ValueError(f"{flag} needs {count} comma-separated numbers, got '{text}'")
    return values


def run_match_command(args: argparse.Namespace) -> int:
    """``minizero match``; every user error surfaces as a one-line ValueError."""
    try:
        return _match_command(args)
    except OSError as error:  # a missing openings file or PGN folder
        raise ValueError(str(error)) from None


def _match_command(args: argparse.Namespace) -> int:
    engine1 = EngineSpec.parse(args.engine1, args.option1)
    engine2 = EngineSpec.parse(args.engine2, args.option2)
    if engine1.name == engine2.name:
        engine2 = EngineSpec(engine2.name + "#2", engine2.command, engine2.options)
    if args.tc is not None:
        base, increment = parse_time_control(args.tc)
    elif args.nodes is None and args.depth is None:
        base, increment = 10.0, 0.1
    else:
        base, increment = None, 0.0
    config = MatchConfig(
        games=args.games, base_time=base, increment=increment, nodes=args.nodes,
        depth=args.depth, concurrency=args.concurrency, time_margin=args.time_margin,
        latency_grace=args.latency_grace, seed=args.seed,
    )
    if args.resign:
        score, moves = _numbers(args.resign, 2, "--resign")
        config = replace(config, resign_score=int(score), resign_moves=int(moves))
    if args.draw:
        after, score, moves = _numbers(args.draw, 3, "--draw")
        config = replace(config, draw_after=int(after), draw_score=int(score),
                          draw_moves=int(moves))
    if args.sprt:
        elo0, elo1 = _numbers(args.sprt, 2, "--sprt")
        config = replace(config, sprt=(elo0, elo1, 0.05, 0.05))
    openings = read_openings(args.openings) if args.openings else [chess.STARTING_FEN]
    progress = not args.quiet and sys.stderr.isatty()
    result = run_match(engine1, engine2, openings, config, progress=progress, pgn_path=args.pgn,
                       cluster=args.cluster)
    print(format_summary(result, config))
    return 0


def add_openings_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "openings", help="build a balanced opening set with Stockfish",
        description="Random short lines from the start position, kept when Stockfish scores "
                    "them within a window; one FEN a line.")
    parser.add_argument("--out", required=True, help="file to write")
    add_force_argument(parser)
    parser.add_argument("--count", type=positive_int, default=100)
    parser.add_argument("--plies", type=non_negative_int, default=8,
                        help="random half-moves per line")
    parser.add_argument("--window", type=non_negative_int, default=60,
                        help="max |score| in centipawns")
    parser.add_argument("--depth", type=positive_int, default=10, help="Stockfish depth")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--stockfish", default=None, help="Stockfish binary")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run_openings_command)


def run_openings_command(args: argparse.Namespace) -> int:
    out = Path(args.out)
    refuse_overwrite(out, args.force)
    try:
        stockfish = check_uci_engine(find_stockfish(args.stockfish))
    except FileNotFoundError as error:
        raise ValueError(str(error)) from None
    fens = generate_openings(stockfish, args.count, args.plies, args.window, args.depth,
                             args.seed, progress=not args.quiet and sys.stderr.isatty())
    header = (f"# minizero openings --count {args.count} --plies {args.plies} --window "
              f"{args.window} --depth {args.depth} --seed {args.seed}\n")
    write_text(out, header + "\n".join(fens) + "\n")
    print(f"wrote {len(fens)} openings to {out}")
    return 0

"""The ``hexapawn`` command: solve a board exactly, or play against an engine in the terminal.

    hexapawn solve --size 4x4 [--out solution.npz]
    hexapawn play --size 3x3 --opponent solver|alphabeta|mcts|random|net:PATH [--color black]
    hexapawn compare --size 3x3 [--out runs/compare-3x3]
    hexapawn dataset --size 3x3 [--out runs/datasets/hexapawn-3x3.npz]
    hexapawn precision --size 3x3 [--out runs/hexapawn-precision-3x3]
"""

from __future__ import annotations

import argparse
import resource
import sys
from collections.abc import Callable
from pathlib import Path

from hexapawn.agents import NETWORK_PREFIX, OPPONENTS, make_agent
from hexapawn.game import WHITE, Hexapawn, parse_size
from hexapawn.solve import MAX_SQUARES, solve
from minizero.cli import run_command
from minizero.options import non_negative_int, positive_int
from minizero.outputs import RUNS, add_force_argument, default_run_dir, refuse_overwrite


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _opponent(text: str) -> str:
    if text in OPPONENTS or text.startswith(NETWORK_PREFIX):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r} is none of {', '.join(OPPONENTS)}, {NETWORK_PREFIX}PATH")


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Measured here (benchmarks/results/hexapawn_solve.md): 5x5 has 3.2 million positions, solved in
# about 5 s at 440 MiB; each extra row or column multiplies that by a hundred or more.
LARGEST_QUICK_SQUARES = 25


def cmd_solve(args: argparse.Namespace) -> int:
    width, height = args.size
    if args.out:
        refuse_overwrite(args.out, args.force)
    if LARGEST_QUICK_SQUARES < width * height <= MAX_SQUARES and not args.force:
        raise ValueError(
            f"{width}x{height} has {width * height} squares: 5x5 (25) already has 3.2 million "
            "positions (about 5 s and 440 MiB here) and each extra row or column multiplies "
            "time and memory by a hundred or more (minutes, gigabytes); pass --force to solve "
            "it anyway")
    solution = solve(width, height, progress=not args.quiet and sys.stderr.isatty())
    summary = solution.summary()
    print(f"Hexapawn {summary['size']}: {summary['winner']} wins "
          f"(the game lasts {summary['game_length']} plies with best play)")
    print(f"reachable positions: {summary['positions']:,} "
          f"({summary['with_moves']:,} with a move to choose, {summary['finished']:,} finished)")
    print(f"solved in {summary['seconds']:.2f} s, peak memory {peak_memory_mib():.0f} MiB")
    if args.out:
        solution.save(args.out)
        print(f"solution written to {args.out}")
    return 0


def cmd_play(
    args: argparse.Namespace,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> int:
    game = Hexapawn(*args.size)
    engine = make_agent(args.opponent, game, seed=args.seed, iterations=args.iterations,
                        simulations=args.simulations)
    human = WHITE if args.color == "white" else 1 - WHITE
    position = game.initial_state()
    opponent = args.opponent
    if opponent.startswith(NETWORK_PREFIX):  # the file name is enough to say who plays
        opponent = NETWORK_PREFIX + Path(opponent[len(NETWORK_PREFIX):]).name
    write(f"You play {args.color} against {opponent}. Moves look like a1a2 or b2xc3; "
          "'quit' ends the game.")
    while (winner := game.winner(position)) is None:
        write("\n" + game.render(position))
        if position.turn == human:
            try:
                text = read("your move> ")
            except EOFError:
                write("\ninput closed; goodbye")
                return 0
            if text.strip().lower() in ("quit", "exit", "q"):
                return 0
            try:
                action = game.parse_move(position, text)
            except ValueError as error:
                write(f"{error}; try again")
                continue
        else:
            action = engine(position)
            write(f"{opponent} plays {game.action_to_string(position, action)}")
        position = game.apply(position, action)
    write("\n" + game.render(position))
    write("You win!" if winner == human else f"{opponent} wins.")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from hexapawn.experiment import CompareConfig, compare, results_table

    width, height = args.size
    out = args.out or default_run_dir("compare", f"{width}x{height}")
    config = CompareConfig(supervised_seconds=args.supervised_seconds,
                           selfplay_seconds=args.selfplay_seconds, games=args.games,
                           supervised_epochs=args.supervised_epochs,
                           selfplay_generations=args.selfplay_generations)
    log = (lambda line: None) if args.quiet else (lambda line: print(line, flush=True))
    summary = compare(width, height, out, seed=args.seed, config=config, workers=args.workers,
                      progress=not args.quiet and sys.stderr.isatty(), log=log,
                      resume=args.resume)
    print()
    print(results_table(summary))
    print(f"\ngrades of every snapshot: {out}/grades.jsonl")
    if summary.get("plot"):
        print(f"learning curves: {summary['plot']}")
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    from hexapawn.experiment import supervised_samples
    from minizero.replay import save_samples

    width, height = args.size
    out = args.out or RUNS / "datasets" / f"hexapawn-{width}x{height}.npz"
    refuse_overwrite(out, args.force)
    samples = supervised_samples(solve(width, height))
    save_samples(out, samples)
    print(f"{len(samples):,} positions of {width}x{height} labelled by the solver -> {out}")
    return 0


def cmd_precision(args: argparse.Namespace) -> int:
    from hexapawn.precision import HexapawnPrecisionConfig, run
    from hexapawn.precision_report import tables

    width, height = args.size
    out = Path(args.out or f"runs/hexapawn-precision-{width}x{height}")
    defaults = HexapawnPrecisionConfig()
    config = HexapawnPrecisionConfig(
        train_steps=args.train_steps, qat_steps=args.qat_steps, draws=args.draws,
        formats=tuple(args.formats or defaults.formats),
        qat_formats=tuple(args.qat_formats or defaults.qat_formats),
        fixed_steps=args.fixed_steps, studies=tuple(args.study or defaults.studies),
        seed=args.seed)
    results = run((width, height), out, config, args.net, args.resume, args.quiet)
    print(tables(results, f"{width}x{height}"))
    print(f"\nresults: {out}/results.md, JSON and PNG plots in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hexapawn", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    solve_parser = commands.add_parser("solve", help="solve a board size exactly")
    solve_parser.add_argument("--size", type=_size, default=(3, 3), help="WxH, e.g. 4x4")
    solve_parser.add_argument("--out", help="save the solution (.npz) to this file")
    solve_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    solve_parser.add_argument("--force", action="store_true",
                              help="overwrite --out, and solve boards beyond 25 squares")
    solve_parser.set_defaults(run=cmd_solve)

    play_parser = commands.add_parser("play", help="play against an engine in the terminal")
    play_parser.add_argument("--size", type=_size, default=(3, 3), help="WxH, e.g. 3x3")
    play_parser.add_argument(
        "--opponent", type=_opponent, default="solver",
        help=f"{', '.join(OPPONENTS)}, or {NETWORK_PREFIX}PATH: a trained network's checkpoint "
             "(e.g. from hexapawn compare: OUT/selfplay/run/checkpoints/latest.pt)")
    play_parser.add_argument("--color", choices=("white", "black"), default="white")
    play_parser.add_argument("--iterations", type=positive_int, default=2000,
                             help="MCTS iterations per move")
    play_parser.add_argument("--simulations", type=non_negative_int, default=0,
                             help="PUCT simulations per move for a net: opponent (0: the raw "
                                  "policy, no search)")
    play_parser.add_argument("--seed", type=non_negative_int, default=0)
    play_parser.set_defaults(run=cmd_play)

    compare_parser = commands.add_parser(
        "compare", help="supervised vs self-play learning, graded by the solver")
    compare_parser.add_argument("--size", type=_size, default=(3, 3), help="WxH, e.g. 3x3")
    compare_parser.add_argument("--out", help="output directory (default runs/compare-SIZE-TIME)")
    compare_parser.add_argument("--seed", type=non_negative_int, default=0)
    compare_parser.add_argument("--workers", type=positive_int, default=None,
                                help="self-play processes (default: the number of cores)")
    compare_parser.add_argument("--supervised-seconds", type=float, default=60.0)
    compare_parser.add_argument("--selfplay-seconds", type=float, default=300.0)
    compare_parser.add_argument("--supervised-epochs", type=positive_int, default=None,
                                help="the supervised budget in epochs instead of seconds")
    compare_parser.add_argument("--selfplay-generations", type=positive_int, default=None,
                                help="the self-play budget in generations instead of seconds")
    compare_parser.add_argument("--resume", action="store_true",
                                help="continue the run in --out")
    compare_parser.add_argument("--games", type=positive_int, default=20,
                                help="games per match when grading")
    compare_parser.add_argument("--quiet", action="store_true")
    compare_parser.set_defaults(run=cmd_compare)

    dataset_parser = commands.add_parser(
        "dataset", help="every position labelled by the solver, as an npz sample shard")
    dataset_parser.add_argument("--size", type=_size, default=(3, 3), help="WxH, e.g. 3x3")
    dataset_parser.add_argument("--out", help="npz file to write (default "
                                "runs/datasets/hexapawn-SIZE.npz)")
    add_force_argument(dataset_parser)
    dataset_parser.set_defaults(run=cmd_dataset)

    precision_parser = commands.add_parser(
        "precision", help="what each bit costs: formats, QAT, fixed-point training, MCA")
    precision_parser.add_argument("--size", type=_size, default=(3, 3), help="WxH, e.g. 3x3")
    precision_parser.add_argument("--out", help="run directory (default "
                                  "runs/hexapawn-precision-SIZE)")
    precision_parser.add_argument("--net", type=Path, help="a trained network checkpoint "
                                  "(default: train one from the solver)")
    precision_parser.add_argument("--study", nargs="+", help="ptq qat fixed_training mixed mca "
                                  "(default all)")
    precision_parser.add_argument("--formats", nargs="+", help="formats of the post-training "
                                  "study, e.g. float16 fixed3.8 int4-channel ternary binary")
    precision_parser.add_argument("--qat-formats", nargs="+")
    precision_parser.add_argument("--train-steps", type=positive_int, default=4000)
    precision_parser.add_argument("--qat-steps", type=positive_int, default=300)
    precision_parser.add_argument("--fixed-steps", type=positive_int, default=1500)
    precision_parser.add_argument("--draws", type=positive_int, default=5,
                                  help="stochastic-rounding draws averaged")
    precision_parser.add_argument("--seed", type=non_negative_int, default=0)
    precision_parser.add_argument("--resume", action="store_true")
    precision_parser.add_argument("--quiet", action="store_true")
    precision_parser.set_defaults(run=cmd_precision)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())

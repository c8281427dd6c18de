"""The ``minizero tablebase`` commands: build the tables, probe a position, a table's figures.

    minizero tablebase build KQvKR [--out DIR] [--force]     # and what it depends on
    minizero tablebase build --all 4 [--out DIR]             # every table of 3 and 4 men
    minizero tablebase build --all 4 --workers 2             # two tables solved at once
    minizero tablebase build --all 4 --cluster ray           # over a Ray cluster
    minizero tablebase probe "8/8/8/8/8/2k5/8/KQ6 w - - 0 1"
    minizero tablebase stats KRvK

Tables go to the per-user cache folder (``~/.cache/minizero/tablebases``) unless ``--out`` or
``--dir`` names another. Argument checking only here; the work is in ``probe.py``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import chess

from minizero.chessgame.protocol import MATE
from minizero.chessgame.tablebase.signature import (
    MAX_MEN,
    all_signatures,
    parse_signature,
    signature_of_board,
)
from minizero.cluster import LOCAL, cluster_spec
from minizero.options import positive_int

# The solver, the probe and the file format load numba: imported where a command runs, so that
# ``minizero --help`` stays quick.


def describe(value: int) -> str:
    """'win, mate in 7 (13 plies)', 'draw', 'loss, mated in 3 (6 plies)'; side to move."""
    if value == 0:
        return "draw"
    plies = MATE - abs(value)
    if value > 0:
        return f"win, mate in {(plies + 1) // 2} ({plies} plies)"
    if plies == 0:
        return "loss, checkmated"
    return f"loss, mated in {plies // 2} ({plies} plies)"


def _directory(text: str | None) -> Path:
    from minizero.chessgame.tablebase.storage import default_directory

    directory = Path(text) if text else default_directory()
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} is a file, not a folder for tables")
    return directory


def cmd_build(args: argparse.Namespace) -> int:
    from minizero.chessgame.tablebase.probe import build_tables

    if (args.signature is None) == (args.all is None):
        raise ValueError("name one table (e.g. KQvKR) or give --all 3|4")
    signatures = (all_signatures(args.all) if args.all is not None
                  else [parse_signature(args.signature)])
    directory = _directory(args.out)
    start = time.perf_counter()
    workers = args.workers or (1 if args.cluster.backend == "local" else None)
    paths = build_tables(signatures, directory, force=args.force, quiet=args.quiet,
                         cluster=args.cluster, workers=workers)
    total = sum(path.stat().st_size for path in paths)
    print(f"{len(paths)} tables in {directory} ({total / 1e6:.1f} MB), "
          f"{time.perf_counter() - start:.1f} s")
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from minizero.chessgame.tablebase.probe import Tablebase

    try:
        board = chess.Board(args.fen)
    except ValueError as error:
        raise ValueError(f"not a FEN: {error}") from None
    if not board.is_valid():
        raise ValueError(f"not a legal position: {args.fen}")
    men = chess.popcount(board.occupied)
    if men > MAX_MEN:
        raise ValueError(f"{men} men on the board; the tables hold at most {MAX_MEN}")
    if board.castling_rights:
        raise ValueError("the tables hold no castling rights; remove them from the FEN")
    tablebase = Tablebase(_directory(args.dir), build_missing=not args.no_build,
                          quiet=args.quiet)
    value = tablebase.probe(board)
    if value is None:
        signature, _ = signature_of_board(board)
        raise ValueError(f"{signature.name} is not built; run: minizero tablebase build "
                         f"{signature.name}")
    side = "White" if board.turn == chess.WHITE else "Black"
    print(f"{board.fen()}\n{side} to move: {describe(value)}")
    scored = tablebase.probe_moves(board) or []
    for move, move_value in sorted(scored, key=lambda item: -item[1]):
        print(f"  {board.san(move):8} {describe(move_value)}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from minizero.chessgame.tablebase.probe import build_tables
    from minizero.chessgame.tablebase.storage import read_header, table_path

    signature = parse_signature(args.signature)
    directory = _directory(args.dir)
    path = table_path(directory, signature)
    if not path.exists():
        if args.no_build:
            raise ValueError(f"{path} is not built; run: minizero tablebase build "
                             f"{signature.name}")
        build_tables([signature], directory, quiet=args.quiet)
    header, _ = read_header(path, signature)
    statistics = header["statistics"]
    print(f"{signature.name}: {header['entries']:,} index entries, {path}")
    for side in ("white", "black"):
        counts = statistics[f"{side}_to_move"]
        print(f"  {side.capitalize()} to move: {counts['positions']:,} positions, "
              f"{counts['wins']:,} wins, {counts['draws']:,} draws, {counts['losses']:,} losses")
    plies = statistics["longest_mate_plies"]
    if plies:
        print(f"  longest mate: {(plies + 1) // 2} moves ({plies} plies), e.g. "
              f"{statistics['longest_mate_fen']}")
    else:
        print("  no position is won")
    return 0


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "tablebase", help="chess endgames of 3-4 men solved exactly (build, probe, stats)",
        description="Retrograde tablebases: every position of up to four men with its exact "
                    "result and distance to mate. Tables live in ~/.cache/minizero/tablebases "
                    "unless --out/--dir says otherwise.")
    verbs = parser.add_subparsers(dest="verb", required=True)

    build = verbs.add_parser("build", help="solve tables (and what they depend on)")
    build.add_argument("signature", nargs="?", help="a table such as KQvKR")
    build.add_argument("--all", type=int, metavar="N", help=f"every table of 3 to N men "
                       f"(N = 3 or {MAX_MEN})")
    build.add_argument("--out", help="folder of tables (default: the per-user cache)")
    build.add_argument("--force", action="store_true", help="solve the named tables again")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.add_argument("--cluster", type=cluster_spec, default=LOCAL,
                       help="where tables are solved: local (this machine's processes), ray "
                            "(the running Ray cluster) or ray://HOST:PORT; default local")
    build.add_argument("--workers", type=positive_int, default=None,
                       help="tables solved at once (default: 1 locally, every CPU of a Ray "
                            "cluster)")
    build.set_defaults(run=cmd_build)

    probe = verbs.add_parser("probe", help="a position's result, distance and every move's")
    probe.add_argument("fen", help="a position of at most four men, in quotes")
    _reading_arguments(probe)
    probe.set_defaults(run=cmd_probe)

    stats = verbs.add_parser("stats", help="positions, results and the longest mate of a table")
    stats.add_argument("signature", help="a table such as KRvK")
    _reading_arguments(stats)
    stats.set_defaults(run=cmd_stats)


def _reading_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the tables are read from, and whether a missing one is built first."""
    parser.add_argument("--dir", help="folder of tables (default: the per-user cache)")
    parser.add_argument("--no-build", action="store_true", help="never build a missing table")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")

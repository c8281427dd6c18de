"""The AlphaZero chess subcommands of ``minizero``: labelled data from Stockfish games.

    minizero chessdata --out /work/data/az --positions 100000 --depth 8 [--workers 2]

(``minizero train --game chess --data DIR`` trains on it; see chessgame/training.py.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parsers(commands: argparse._SubParsersAction) -> None:
    from minizero.chessgame import encoding

    data = commands.add_parser("chessdata", help="chess positions labelled by Stockfish games")
    data.add_argument("--out", required=True, help="directory of shards (resumed if it exists)")
    data.add_argument("--positions", type=int, default=100_000)
    data.add_argument("--depth", type=int, default=8, help="Stockfish depth per move")
    data.add_argument("--workers", type=int, default=2)
    data.add_argument("--history", type=int, default=encoding.DEFAULT_HISTORY)
    data.add_argument("--shard-size", type=int, default=2_000)
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--stockfish", help="path of the Stockfish binary")
    data.add_argument("--quiet", action="store_true")
    data.set_defaults(run=cmd_chessdata)


def cmd_chessdata(args: argparse.Namespace) -> int:
    from minizero.chessgame.data import ChessDataConfig, generate
    from minizero.peers import find_stockfish

    for name in ("positions", "depth", "workers", "history", "shard_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be positive")
    config = ChessDataConfig(positions=args.positions, depth=args.depth, workers=args.workers,
                             history=args.history, shard_size=args.shard_size, seed=args.seed)
    total = generate(config, find_stockfish(args.stockfish), Path(args.out),
                     quiet=args.quiet or not sys.stderr.isatty())
    print(f"{total} positions in {args.out}")
    return 0

"""The AlphaZero chess subcommands of ``minizero``: labelled data from Stockfish games.

    minizero chessdata --out data/az --positions 100000 --depth 8 [--workers 2]
    minizero export-net RUN/checkpoints/latest.pt [--out runs/nets/RUN.pt] [--force]
    minizero compare --game chess --budget 2h --out runs/compare-chess [--resume]

(``minizero train --game chess --data DIR`` trains on it; see chessgame/training.py.)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from minizero.cluster import LOCAL, cluster_spec
from minizero.options import fraction, non_negative_int, positive_int
from minizero.outputs import add_force_argument, default_net_path, refuse_overwrite


def add_parsers(commands: argparse._SubParsersAction) -> None:
    from minizero.chessgame import encoding

    data = commands.add_parser("chessdata", help="chess positions labelled by Stockfish games")
    data.add_argument("--out", required=True, help="directory of shards (resumed if it exists)")
    data.add_argument("--positions", type=positive_int, default=100_000)
    data.add_argument("--depth", type=positive_int, default=8, help="Stockfish depth per move")
    data.add_argument("--workers", type=positive_int, default=2)
    data.add_argument("--history", type=positive_int, default=encoding.DEFAULT_HISTORY,
                      help="positions in the input planes, 1..8")
    data.add_argument("--shard-size", type=positive_int, default=2_000)
    data.add_argument("--seed", type=non_negative_int, default=0)
    data.add_argument("--adjudicate-plies", type=non_negative_int, default=6,
                      help="score a game as won after this many plies beyond 1000 cp "
                      "(0: play every game to its end, mates included)")
    data.add_argument("--weak-side-random", type=fraction, default=0.0,
                      help="one side of each game plays a random move this often, in [0, 1] "
                      "(lopsided games whose wins must be converted; default 0)")
    data.add_argument("--strong-side-net", metavar="NET",
                      help="the side that is not the weak one plays this network's raw policy "
                      "(against Stockfish, or with --weak-side-random against a side that "
                      "often moves at random); Stockfish still labels every position (DAgger)")
    data.add_argument("--only-unwon-games", action="store_true",
                      help="with --strong-side-net and --weak-side-random 1: play every game out "
                      "and keep only the network's own positions of games it did not win")
    data.add_argument("--stockfish", help="path of the Stockfish binary")
    data.add_argument("--cluster", type=cluster_spec, default=LOCAL,
                      help="local (this machine's processes) or ray / ray://HOST:PORT: each "
                           "shard labelled on a node of a Ray cluster (Stockfish at the same "
                           "path on every node), --workers shards at once")
    data.add_argument("--quiet", action="store_true")
    data.set_defaults(run=cmd_chessdata)
    add_export_parser(commands)
    add_compare_parser(commands)


def cmd_chessdata(args: argparse.Namespace) -> int:
    from minizero.chessgame.data import ChessDataConfig, check_folder, generate
    from minizero.peers import find_stockfish

    config = ChessDataConfig(positions=args.positions, depth=args.depth, workers=args.workers,
                             history=args.history, shard_size=args.shard_size, seed=args.seed,
                             adjudicate_plies=0 if args.only_unwon_games else args.adjudicate_plies,
                             weak_side_random=args.weak_side_random,
                             strong_side_net=args.strong_side_net,
                             only_unwon_games=args.only_unwon_games)
    check_folder(Path(args.out))  # everything checked before Stockfish is even looked for
    total = generate(config, find_stockfish(args.stockfish), Path(args.out),
                     quiet=args.quiet or not sys.stderr.isatty(), cluster=args.cluster)
    print(f"{total} positions in {args.out}")
    return 0


def add_export_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export-net", help="a checkpoint's network alone (no optimizer)")
    export.add_argument("checkpoint", help="a training checkpoint, e.g. RUN/checkpoints/latest.pt")
    export.add_argument("--out", help="the network file to write (default runs/nets/RUN.pt, "
                        "RUN the checkpoint's run directory)")
    add_force_argument(export)
    export.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Keep the weights and the network config: what an engine needs, a third of the size."""
    from minizero.checkpoint import load_checkpoint, save_checkpoint
    from minizero.nn.network import load_network

    out = Path(args.out) if args.out else default_net_path(args.checkpoint, ".pt")
    refuse_overwrite(out, args.force)
    config, _ = load_checkpoint(args.checkpoint)
    network = load_network(args.checkpoint)  # refuses what is not a network checkpoint
    save_checkpoint(out, config={"network": config["network"], "game": config.get("game"),
                                      "source": str(args.checkpoint)},
                    model=network.state_dict())
    print(f"wrote {out}")
    return 0


def add_compare_parser(commands: argparse._SubParsersAction) -> None:
    from minizero.chessgame.compare import CompareConfig

    defaults = CompareConfig(budget=1.0)
    compare = commands.add_parser("compare", help="chess: supervised vs self-play at an equal "
                                  "wall-clock budget, graded on held-out positions")
    compare.add_argument("--game", default="chess", help="chess[:max_plies=N] (self-play cap), "
                         "or chess-endgame:SIG[,side=white|black,starts=uniform|long|even,"
                         "within=PLIES,tables=DIR] (graded exactly by the tablebase)")
    compare.add_argument("--budget", required=True,
                         help="wall-clock budget of each arm: 90s, 20m, 2h, ...")
    compare.add_argument("--out", required=True, help="run directory")
    compare.add_argument("--resume", action="store_true", help="continue the run in --out")
    compare.add_argument("--held-out", help="chessdata shards to grade on (default: label "
                         "--held-out-positions at the start, outside both budgets)")
    compare.add_argument("--stockfish", help="path of the Stockfish binary")
    compare.add_argument("--quiet", action="store_true", help="no progress bars")
    compare.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                         help="where both arms train (auto: CUDA if present); self-play "
                         "games, grading and matches run on the CPU")
    compare.add_argument("--cluster", type=cluster_spec, default=LOCAL,
                         help="local (this machine's processes) or ray / ray://HOST:PORT: the "
                              "self-play arm's shards of games as tasks on a Ray cluster")
    for field in dataclasses.fields(CompareConfig):
        if field.name in ("budget", "max_plies", "dirichlet_alpha"):
            continue
        default = getattr(defaults, field.name)
        kind = type(default)
        if field.name == "opening_plies":  # the default depends on the game
            compare.add_argument("--opening-plies", type=int, default=None, help=f"default "
                                 f"{default} (0 for chess-endgame: its starts are drawn)")
            continue
        compare.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=default,
                             help=f"default {default}")
    compare.set_defaults(run=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Bad input (budget, game, held-out folder, settings) is a ValueError: one line, exit 2."""
    from minizero.chessgame.compare import ChessComparison, CompareConfig
    from minizero.chessgame.endgame_compare import EndgameComparison
    from minizero.chessgame.game import ChessGame
    from minizero.compare import parse_budget
    from minizero.games import make_game
    from minizero.peers import find_stockfish

    name = args.game.partition(":")[0]
    if name not in ("chess", "chess-endgame"):
        raise ValueError(f"compare is for chess (--game chess or chess-endgame:SIG), not "
                         f"{args.game!r}; for Hexapawn use `hexapawn compare`")
    game = make_game(args.game)
    assert isinstance(game, ChessGame)
    if name == "chess" and "max_plies" not in args.game:  # compare's own cap for full games
        game = ChessGame(game.history, CompareConfig.max_plies)
    overrides = {field.name: getattr(args, field.name) for field in
                 dataclasses.fields(CompareConfig) if hasattr(args, field.name)
                 and field.name != "budget"}
    if overrides["opening_plies"] is None:
        overrides["opening_plies"] = 0 if name == "chess-endgame" else CompareConfig.opening_plies
    config = CompareConfig(budget=parse_budget(args.budget), max_plies=game.max_plies,
                           **overrides)
    progress = not args.quiet and sys.stderr.isatty()

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if name == "chess-endgame":
        comparison: ChessComparison | EndgameComparison = EndgameComparison(
            args.out, config, game, args.resume,  # type: ignore[arg-type]
            progress=progress, log=log, device=args.device, cluster=args.cluster)
    else:
        comparison = ChessComparison(args.out, config, find_stockfish(args.stockfish),
                                     args.held_out, args.resume, game, progress=progress,
                                     log=log, device=args.device, cluster=args.cluster)
    comparison.run()
    print((Path(args.out) / "summary.md").read_text(), end="")
    print(f"learning curves: {Path(args.out) / 'learning_curves.png'}")
    return 0

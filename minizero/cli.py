"""The ``minizero`` command: the AlphaZero loop's pieces, and chess matches between engines.

    minizero selfplay --game hexapawn:3x3 --out runs/zero-3x3 [--resume]
    minizero train --game hexapawn:3x3 --data solver-3x3.npz --out runs/sup-3x3 [--resume]
    minizero arena --game hexapawn:3x3 --a runs/zero-3x3/checkpoints/latest.pt --b random
    minizero match --engine minizero-uci --engine sunfish-uci --games 20 --tc 10+0.1
    minizero openings --count 50 --out openings.fen

Each subcommand sets its ``run`` function as a default; ``run_command`` turns a ValueError or
OSError into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from minizero import __version__
from minizero.chessgame import commands as chess_commands
from minizero.chessgame import zero_commands
from minizero.chessgame.tablebase import commands as tablebase_commands
from minizero.cluster import LOCAL, cluster_spec
from minizero.games import available_games, make_game
from minizero.options import (
    fraction,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from minizero.outputs import default_run_dir


def _game_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--game", default="hexapawn:3x3",
                        help=f"NAME:OPTIONS, e.g. hexapawn:4x4 (games: {available_games()})")


def _network_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--blocks", type=non_negative_int, default=1)
    parser.add_argument("--channels", type=positive_int, default=16)
    parser.add_argument("--no-se", action="store_true", help="residual blocks without SE")
    parser.add_argument("--value-head", choices=("scalar", "wdl"), default="scalar")
    parser.add_argument("--policy-head", choices=("fc", "conv"), default="fc",
                        help="fc: linear over squeezed planes; conv: one plane per move kind "
                        "per square (chess's 8x8x73 map)")


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--lr", type=positive_float, default=2e-3, help="learning rate")
    parser.add_argument("--optimizer", choices=("adam", "adamw", "sgd"), default="adam",
                        help="adamw: decoupled weight decay (see minizero.train.TrainConfig)")
    parser.add_argument("--weight-decay", type=non_negative_float, default=1e-4)
    parser.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                        help="learning rate: constant, or cosine decay over the whole run")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="torch threads (1 is fastest for small networks)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                        help="where training runs (auto: CUDA if present)")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                        help="bfloat16: about 2x the steps a second on a CPU with AMX, 8x "
                        "slower where it is emulated (AVX2 only; see minizero.train.TrainConfig)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--init", help="network or checkpoint to start from (its shape wins "
                        "over --blocks, --channels and the heads)")
    parser.add_argument("--add-blocks", type=non_negative_int, default=0, metavar="N",
                        help="with --init: append N residual blocks that start as the identity "
                        "(the net keeps what it knows and gains depth)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _network_config(args: argparse.Namespace, game: Any) -> tuple[Any, dict | None]:
    """The network to train and its starting weights: ``--init``'s (e.g. the same starting
    net as another run, or a net trained further), else a fresh one of the given shape."""
    from minizero.nn.network import NetworkConfig, deepen, load_network

    if args.init:
        start = deepen(load_network(args.init, game.input_shape, game.action_size),
                       args.add_blocks)
        return start.config, start.state_dict()
    if args.add_blocks:
        raise ValueError("--add-blocks grows the network of --init; give --init NET")
    return NetworkConfig(game.input_shape, game.action_size, blocks=args.blocks,
                         channels=args.channels, se=not args.no_se, value_head=args.value_head,
                         policy_head=args.policy_head), None


def _train_config(args: argparse.Namespace, total_steps: int) -> Any:
    from minizero.train import TrainConfig

    return TrainConfig(batch_size=args.batch_size, learning_rate=args.lr,
                       optimizer=args.optimizer, weight_decay=args.weight_decay,
                       schedule=args.schedule, precision=args.precision,
                       # Only the cosine schedule depends on the run's length; leaving it out
                       # otherwise lets a resumed run ask for more generations or epochs.
                       total_steps=total_steps if args.schedule == "cosine" else 0)


def cmd_selfplay(args: argparse.Namespace) -> int:
    import torch

    from minizero.nn.network import resolve_device
    from minizero.search.puct import PUCTConfig
    from minizero.selfplay import SelfPlayConfig, SelfPlayRun

    torch.set_num_threads(args.threads)
    game = make_game(args.game)
    out = Path(args.out) if args.out else default_run_dir("selfplay", args.game)
    puct = PUCTConfig(simulations=args.simulations, c_puct=args.c_puct,
                      dirichlet_alpha=args.dirichlet_alpha,
                      dirichlet_epsilon=args.dirichlet_epsilon, add_noise=True,
                      temperature_moves=args.temperature_moves, batch_size=args.leaf_batch)
    selfplay = SelfPlayConfig(games_per_generation=args.games, games_per_shard=args.shard_games,
                              replay_window=args.window, train_steps=args.train_steps,
                              workers=args.workers, opening_plies=args.opening_plies,
                              resign_threshold=args.resign,
                              no_resign_fraction=args.no_resign_fraction,
                              discount=args.discount)
    network_config, initial = _network_config(args, game)
    run = SelfPlayRun(out, game, args.game, network_config, puct, selfplay,
                      _train_config(args, args.generations * args.train_steps),
                      seed=args.seed, resume=args.resume,
                      progress=not args.quiet and sys.stderr.isatty(), initial_weights=initial,
                      device=resolve_device(args.device), cluster=args.cluster,
                      actors=args.async_actors)
    print(f"run directory: {out} (generation {run.generation} done)", file=sys.stderr)

    def report(network: Any, record: dict[str, Any]) -> dict[str, Any]:
        print(f"generation {record['generation']}: loss {record['loss']:.3f} "
              f"(policy {record['policy_loss']:.3f}, value {record['value_loss']:.3f}), "
              f"{record['samples']} samples, {record['seconds']:.1f} s", flush=True)
        return {}

    run.run(args.generations, evaluate=report)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from minizero.replay import Samples, load_samples
    from minizero.supervised import SupervisedRun

    torch.set_num_threads(args.threads)
    from minizero.chessgame import encoding
    from minizero.chessgame import training as chess_training
    from minizero.nn.network import resolve_device

    game = make_game(args.game)
    evaluate = None
    data_options = None
    if all(chess_training.is_chess_data(path) for path in args.data):
        # Stockfish-labelled chess shards: kept bit-packed; whole games held out for grading.
        history = encoding.history_of(game.input_shape[0])
        if history is None or game.action_size != encoding.ACTION_SIZE:
            raise ValueError(f"chess data needs --game chess, not {args.game}")
        samples, game_ids = chess_training.load_chess_data(
            args.data, history, args.eval_weight, args.limit)
        held_mask = chess_training.validation_mask(game_ids, args.holdout)
        held = samples.subset(held_mask)
        samples = samples.subset(~held_mask)
        samples.mirror = args.mirror
        if not len(samples):
            raise ValueError(f"--holdout {args.holdout} holds out every game; lower it")
        if len(held):
            evaluate = lambda network, record: chess_training.grade(network, held)
        # Recorded in the run: resuming with another split, target or mirroring is refused.
        data_options = {"holdout": args.holdout, "eval_weight": args.eval_weight,
                        "limit": args.limit, "mirror": args.mirror}
    else:
        if args.mirror:
            raise ValueError("--mirror needs chess data (directories of az-*.npz shards)")
        samples = Samples.concatenate([load_samples(path) for path in args.data])
        if samples.planes.shape[1:] != tuple(game.input_shape) or (
                samples.policy.shape[1] != game.action_size):
            raise ValueError(f"data has planes {samples.planes.shape[1:]} and "
                             f"{samples.policy.shape[1]} actions; {args.game} needs "
                             f"{tuple(game.input_shape)} and {game.action_size}")
    out = Path(args.out) if args.out else default_run_dir("train", args.game)
    steps = args.epochs * max(1, -(-len(samples) // args.batch_size))
    network_config, initial = _network_config(args, game)
    run = SupervisedRun(out, args.game, network_config, _train_config(args, steps),
                        [str(path) for path in args.data], seed=args.seed, resume=args.resume,
                        progress=not args.quiet and sys.stderr.isatty(), initial_weights=initial,
                        init=args.init, device=resolve_device(args.device),
                        data_options=data_options)

    def report(network: Any, record: dict[str, Any]) -> dict[str, Any]:
        """Grade (chess data) and print each epoch as it ends, not after the last one."""
        graded = evaluate(network, record) if evaluate is not None else {}
        held = (f", held-out top-1 {graded['top1']:.1%}, value MAE {graded['value_mae']:.3f}"
                if "top1" in graded else "")
        print(f"epoch {record['epoch']}: loss {record['loss']:.3f} "
              f"(policy {record['policy_loss']:.3f}, value {record['value_loss']:.3f}){held}",
              flush=True)
        return graded

    run.run(samples, args.epochs, evaluate=report)
    print(f"checkpoint: {run.latest_path}")
    return 0


def _agent(spec: str, game: Any, seed: int) -> tuple[str, Any]:
    """random | mcts[:ITERATIONS] | CHECKPOINT[:SIMULATIONS] (0 simulations: the raw policy)."""
    from minizero.agents import mcts_agent, network_agent, puct_agent, random_agent
    from minizero.nn.network import load_network

    name, _, option = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if not name:
        name, option = spec, ""
    if name == "random":
        return spec, random_agent(game, seed)
    if name != "random" and name != "mcts" and not os.path.exists(name):
        raise ValueError(f"agent {spec!r} is neither random, mcts[:N] nor an existing "
                         "checkpoint file")
    try:
        count = int(option or (1000 if name == "mcts" else 0))
    except ValueError:
        raise ValueError(f"agent {spec!r}: {option!r} is not a whole number") from None
    if count < (1 if name == "mcts" else 0):
        raise ValueError(f"agent {spec!r}: the count after ':' must be "
                         f"{'positive' if name == 'mcts' else 'at least 0'}, got {count}")
    if name == "mcts":
        return spec, mcts_agent(game, count, seed)
    simulations = count
    network = load_network(name, game.input_shape, game.action_size)
    if simulations > 0:
        return spec, puct_agent(game, network, simulations)
    return spec, network_agent(game, network)


def cmd_arena(args: argparse.Namespace) -> int:
    import torch

    from minizero.agents import play_match

    torch.set_num_threads(1)
    game = make_game(args.game)
    name_a, agent_a = _agent(args.a, game, args.seed)
    name_b, agent_b = _agent(args.b, game, args.seed + 1)
    record = play_match(game, agent_a, agent_b, args.games)
    print(f"{name_a} vs {name_b}, {args.games} games on {args.game}:")
    print(f"  A: {record['wins']} wins, {record['draws']} draws, {record['losses']} losses "
          f"(score {record['score']:.1%})")
    print(f"  A moving first  W/D/L {'/'.join(map(str, record['as_first']))}; "
          f"moving second W/D/L {'/'.join(map(str, record['as_second']))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minizero", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"minizero {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    selfplay = commands.add_parser("selfplay", help="the AlphaZero loop: play, store, train")
    _game_argument(selfplay)
    selfplay.add_argument("--out", help="run directory (default runs/selfplay-GAME-TIME)")
    selfplay.add_argument("--generations", type=positive_int, default=20)
    selfplay.add_argument("--games", type=positive_int, default=64, help="games per generation")
    selfplay.add_argument("--shard-games", type=positive_int, default=16,
                          help="games per replay shard")
    selfplay.add_argument("--window", type=positive_int, default=6,
                          help="generations in the replay buffer")
    selfplay.add_argument("--train-steps", type=positive_int, default=60,
                          help="training steps per generation")
    selfplay.add_argument("--workers", type=positive_int, default=max(1, os.cpu_count() or 1),
                          help="shards of games played at once (processes, or Ray tasks)")
    selfplay.add_argument("--cluster", type=cluster_spec, default=LOCAL,
                          help="local (this machine's processes) or ray / ray://HOST:PORT: each "
                               "shard of games a task on a Ray cluster; training stays here")
    selfplay.add_argument("--async", dest="async_actors", action="store_true",
                          help="with --cluster ray: players that keep playing while the "
                               "network trains (faster, not reproducible; see docs/cluster.md)")
    selfplay.add_argument("--simulations", type=positive_int, default=32)
    selfplay.add_argument("--leaf-batch", type=positive_int, default=8,
                          help="leaves evaluated per network call")
    selfplay.add_argument("--c-puct", type=positive_float, default=1.5)
    selfplay.add_argument("--dirichlet-alpha", type=positive_float, default=1.0)
    selfplay.add_argument("--dirichlet-epsilon", type=fraction, default=0.25,
                          help="weight of the root noise, in [0, 1]")
    selfplay.add_argument("--temperature-moves", type=non_negative_int, default=2)
    selfplay.add_argument("--opening-plies", type=non_negative_int, default=4,
                          help="up to this many random moves open each game")
    selfplay.add_argument("--resign", type=float, default=None, metavar="VALUE",
                          help="resign below this root value, e.g. -0.9 (default: never)")
    selfplay.add_argument("--no-resign-fraction", type=float, default=0.2,
                          help="games played out anyway to check resignations")
    selfplay.add_argument("--discount", type=float, default=1.0,
                          help="value targets shrink by this a ply before the end: below 1 a "
                          "faster win is worth more (default 1, AlphaZero's)")
    _network_arguments(selfplay)
    _train_arguments(selfplay)
    selfplay.set_defaults(run=cmd_selfplay)

    train = commands.add_parser("train", help="supervised training on npz sample shards")
    _game_argument(train)
    train.add_argument("--data", nargs="+", required=True, help="npz shards of samples")
    train.add_argument("--out", help="run directory (default runs/train-GAME-TIME)")
    train.add_argument("--epochs", type=positive_int, default=50)
    train.add_argument("--holdout", type=fraction, default=0.05,
                       help="chess data: fraction of games held out for grading")
    train.add_argument("--eval-weight", type=fraction, default=0.5,
                       help="chess data: weight of Stockfish's score in the value target "
                            "(the rest is the game result)")
    train.add_argument("--limit", type=positive_int, help="chess data: use the first N positions")
    train.add_argument("--mirror", action="store_true",
                       help="chess data: mirror about half the positions without castling rights "
                            "a-file <-> h-file in each batch (recorded in the run, like --holdout, "
                            "--eval-weight and --limit: --resume needs the same)")
    _network_arguments(train)
    _train_arguments(train)
    train.set_defaults(run=cmd_train)

    arena = commands.add_parser("arena", help="games between two agents, both colours")
    _game_argument(arena)
    arena.add_argument("--a", required=True, help="random | mcts[:N] | CHECKPOINT[:SIMULATIONS]")
    arena.add_argument("--b", required=True, help="random | mcts[:N] | CHECKPOINT[:SIMULATIONS]")
    arena.add_argument("--games", type=positive_int, default=20)
    arena.add_argument("--seed", type=non_negative_int, default=0)
    arena.set_defaults(run=cmd_arena)

    chess_commands.add_match_parser(commands)
    chess_commands.add_openings_parser(commands)
    zero_commands.add_parsers(commands)
    tablebase_commands.add_parsers(commands)
    return parser


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse and run a subcommand; a ValueError becomes one line on stderr and exit code 2."""
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, OSError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())


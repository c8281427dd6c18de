"""The ``nnue`` command: data -> train -> quantize -> check -> bench.

Idea: one sub-command per stage of the pipeline; each reads and writes files a user can keep,
and bad input (a malformed FEN, a corrupt shard or net, a missing Stockfish, an unknown feature
set) ends with one line on stderr and exit code 2, never a traceback.

Commands (each has ``--help``)::

    nnue data --out data/sf --positions 1000000 --depth 6      # Stockfish games, resumable
    nnue data --import mine.txt --out data/mine --on-bad-line skip
    nnue relabel --data data/sf --out data/sf-d12 --depth 12  # same positions, new labels
    nnue train --data data/sf --out runs/nnue --epochs 10 [--resume]
    nnue quantize runs/nnue/checkpoint.pt               # -> runs/nets/nnue.nnue
    nnue check runs/nets/nnue.nnue --data data/sf
    nnue bench nnue/nets/piece-square-256.nnue
    nnue precision nnue/nets/piece-square-256.nnue --out runs/nnue-precision
    nnue eval stockfish --fen FEN          # Stockfish 15.1's net: its `eval` text, NNUE part
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from minizero.cluster import LOCAL, cluster_spec
from minizero.options import fraction, non_negative_int, positive_float, positive_int
from minizero.outputs import add_force_argument, default_net_path, default_run_dir, refuse_overwrite
from nnue.features import FEATURE_SETS


def _add_data(sub: argparse._SubParsersAction) -> None:
    from nnue.data import GenerateConfig

    defaults = GenerateConfig()
    parser = sub.add_parser("data", help="generate Stockfish-labelled positions or import text")
    parser.add_argument("--out", type=Path, required=True, help="dataset directory (shards)")
    parser.add_argument("--import", dest="import_path", type=Path,
                        help="import 'fen | score | result' lines instead of generating")
    parser.add_argument("--on-bad-line", choices=["reject", "skip"], default="reject",
                        help="a malformed imported line: reject the file (default) or skip it")
    parser.add_argument("--positions", type=positive_int, default=defaults.positions)
    parser.add_argument("--depth", type=positive_int, default=defaults.depth)
    parser.add_argument("--nodes", type=positive_int, default=None,
                        help="node limit instead of depth")
    parser.add_argument("--workers", type=positive_int, default=defaults.workers)
    parser.add_argument("--shard-size", type=positive_int, default=defaults.shard_size)
    parser.add_argument("--random-plies", type=non_negative_int, nargs=2, metavar=("MIN", "MAX"),
                        default=(defaults.random_plies_min, defaults.random_plies_max))
    parser.add_argument("--seed", type=non_negative_int, default=defaults.seed)
    parser.add_argument("--stockfish", help="path of the Stockfish binary")
    parser.add_argument("--cluster", type=cluster_spec, default=LOCAL,
                        help="local (this machine's processes) or ray / ray://HOST:PORT: each "
                             "shard labelled on a node of a Ray cluster (Stockfish at the same "
                             "path on every node), --workers shards at once")
    parser.add_argument("--quiet", action="store_true")


def _add_relabel(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("relabel", help="relabel stored positions with a Stockfish search")
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True, help="dataset directory (shards)")
    parser.add_argument("--depth", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stockfish", help="path of the Stockfish binary")
    parser.add_argument("--cluster", type=cluster_spec, default=LOCAL,
                        help="local or ray / ray://HOST:PORT: each chunk of positions searched "
                             "on a node of a Ray cluster (Stockfish at the same path everywhere)")
    parser.add_argument("--quiet", action="store_true")


def _add_train(sub: argparse._SubParsersAction) -> None:
    from nnue.model import NnueConfig
    from nnue.train import TrainConfig

    model, train = NnueConfig(), TrainConfig()
    parser = sub.add_parser("train", help="train a network on datasets")
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, help="run directory (default "
                        "runs/nnue-FEATURE_SET-TIME)")
    parser.add_argument("--feature-set", default=model.feature_set,
                        help=f"one of {sorted(FEATURE_SETS)}")
    parser.add_argument("--l1", type=positive_int, default=model.l1)
    parser.add_argument("--l2", type=positive_int, default=model.l2)
    parser.add_argument("--l3", type=positive_int, default=model.l3)
    parser.add_argument("--no-quantization-aware", action="store_true",
                        help="train plain float weights (rounded only when quantizing)")
    parser.add_argument("--epochs", type=positive_int, default=train.epochs)
    parser.add_argument("--batch-size", type=positive_int, default=train.batch_size)
    parser.add_argument("--lr", type=positive_float, default=train.learning_rate)
    parser.add_argument("--lambda", dest="lambda_", type=fraction, default=train.lambda_,
                        help="weight of the teacher score against the game result")
    parser.add_argument("--validation-fraction", type=fraction,
                        default=train.validation_fraction)
    parser.add_argument("--seed", type=non_negative_int, default=train.seed)
    parser.add_argument("--init", type=Path, default=None,
                        help="start from this .nnue (same sizes; piece-square into king-buckets)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--quiet", action="store_true")


def _add_net_commands(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("quantize", help="checkpoint.pt -> integer .nnue file")
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--out", type=Path, help="the .nnue file to write (default "
                        "runs/nets/RUN.nnue, RUN the checkpoint's run directory)")
    add_force_argument(parser)

    parser = sub.add_parser("check", help="integer vs float vs teacher on held-out positions")
    parser.add_argument("net", type=Path, help=".nnue file or training checkpoint .pt")
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--positions", type=positive_int, default=10_000)
    parser.add_argument("--validation-fraction", type=fraction, default=0.05,
                        help="the held-out share used in training (its games are checked)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")

    parser = sub.add_parser("bench", help="incremental vs refresh vs torch; batched speed")
    parser.add_argument("net", type=Path, help=".nnue file or training checkpoint .pt")
    parser.add_argument("--games", type=positive_int, default=20)
    parser.add_argument("--plies", type=positive_int, default=80)


def _add_precision(sub: argparse._SubParsersAction) -> None:
    from nnue.precision_study import STUDIES, NnuePrecisionConfig

    defaults = NnuePrecisionConfig()
    parser = sub.add_parser("precision", help="number formats, approximate multipliers, Monte "
                            "Carlo arithmetic, divergence search (run directory)")
    parser.add_argument("net", type=Path, help=".nnue file or training checkpoint .pt")
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument("--study", nargs="+", default=list(defaults.studies),
                        help=f"studies to run (default all): {' '.join(STUDIES)}")
    parser.add_argument("--formats", nargs="+", default=list(defaults.formats))
    parser.add_argument("--multipliers", nargs="+", default=list(defaults.multipliers))
    parser.add_argument("--positions", type=positive_int, default=defaults.positions)
    parser.add_argument("--move-positions", type=positive_int, default=defaults.move_positions)
    parser.add_argument("--budget", type=positive_int, default=defaults.budget,
                        help="positions evaluated by each divergence-search method")
    parser.add_argument("--divergence-multiplier", default=defaults.divergence_multiplier,
                        help="integer-path multiplier whose gap to the float net is searched")
    parser.add_argument("--mca-positions", type=positive_int, default=defaults.mca_positions)
    parser.add_argument("--mca-samples", type=positive_int, default=defaults.mca_samples)
    parser.add_argument("--openings", type=Path, help="FEN file to start random positions from")
    parser.add_argument("--seed", type=non_negative_int, default=defaults.seed)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--quiet", action="store_true")


def _add_eval(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="Stockfish 15.1 net: the NNUE lines of its eval command")
    parser.add_argument("net", help="a Stockfish 15.1 .nnue file, a Stockfish binary, or "
                        "'stockfish' for the installed one's embedded net")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--fen", help="one position")
    where.add_argument("--epd", type=Path, help="a file of FEN or EPD lines, one position each")
    parser.add_argument("--stockfish", help="path of the Stockfish binary (with NET stockfish)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnue", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_data(sub)
    _add_relabel(sub)
    _add_train(sub)
    _add_net_commands(sub)
    _add_precision(sub)
    _add_eval(sub)
    return parser


def run_data(args: argparse.Namespace) -> None:
    from minizero.peers import check_uci_engine, find_stockfish
    from nnue.data import GenerateConfig, generate, import_text

    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file; a dataset is a directory of shards")
    if args.import_path is not None:
        if args.import_path.is_dir():
            raise ValueError(f"--import {args.import_path} is a directory; give a text file")
        written, skipped = import_text(args.import_path, args.out, args.on_bad_line == "skip")
        print(f"imported {written} positions into {args.out} ({skipped} lines skipped)")
        return
    stockfish = check_uci_engine(find_stockfish(args.stockfish))
    config = GenerateConfig(
        positions=args.positions, depth=args.depth, nodes=args.nodes, workers=args.workers,
        random_plies_min=args.random_plies[0], random_plies_max=args.random_plies[1],
        shard_size=args.shard_size, seed=args.seed)
    total = generate(config, stockfish, args.out, quiet=args.quiet, cluster=args.cluster)
    print(f"{total} labelled positions in {args.out}")


def run_relabel(args: argparse.Namespace) -> None:
    from minizero.peers import find_stockfish
    from nnue.relabel import relabel

    stockfish = find_stockfish(args.stockfish)
    written = relabel(args.data, args.out, stockfish, args.depth, args.workers, args.quiet,
                      args.cluster)
    print(f"relabelled {written} positions at depth {args.depth} into {args.out}")


def run_train(args: argparse.Namespace) -> None:
    from nnue.model import NnueConfig
    from nnue.train import TrainConfig, train

    model = NnueConfig(args.feature_set, args.l1, args.l2, args.l3,
                       quantization_aware=not args.no_quantization_aware)
    model.validate()
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                         lambda_=args.lambda_, validation_fraction=args.validation_fraction,
                         seed=args.seed, init_net=str(args.init) if args.init else "")
    out = args.out
    if out is None:  # say where a run without --out lands
        out = default_run_dir("nnue", args.feature_set)
        print(f"run directory: {out}", file=sys.stderr)
    metrics = train(args.data, out, model, config, resume=args.resume, quiet=args.quiet)
    print(json.dumps(metrics))


def run_quantize(args: argparse.Namespace) -> None:
    from nnue.model import quantize
    from nnue.quantize import save_net
    from nnue.train import load_checkpoint

    out = args.out or default_net_path(args.checkpoint, ".nnue")
    refuse_overwrite(out, args.force)
    model, _ = load_checkpoint(args.checkpoint)
    save_net(quantize(model), out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


def run_check(args: argparse.Namespace) -> None:
    from nnue.check import check, held_out_positions, load_any

    model, net, what = load_any(args.net)
    positions = held_out_positions(args.data, args.positions, args.validation_fraction)
    report = check(model, net, positions)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    p = report["int_vs_float_percentiles_cp"]
    print(f"{report['positions']} held-out positions not in check; float model = {what}")
    print(f"integer vs float: mean |diff| {report['int_vs_float_mean_abs_cp']:.2f} cp, "
          f"max {report['int_vs_float_max_abs_cp']:.1f} cp, R² {report['int_vs_float_r2']:.6f}")
    print(f"  |diff| percentiles: 68% {p['68']:.2f}  95% {p['95']:.2f}  99% {p['99']:.2f}  "
          f"99.7% {p['99.7']:.2f} cp")
    print(f"vs teacher (win probability): integer MAE {report['int_vs_teacher_mae_wdl']:.4f} "
          f"R² {report['int_vs_teacher_r2_wdl']:.4f}; float MAE "
          f"{report['float_vs_teacher_mae_wdl']:.4f} R² {report['float_vs_teacher_r2_wdl']:.4f}")
    print("five worst positions (integer vs float):")
    for row in report["worst"]:
        print(f"  {row['fen']}  int {row['int_cp']}  float {row['float_cp']}  "
              f"teacher {row['teacher_cp']}")


def run_bench(args: argparse.Namespace) -> None:
    from nnue.check import bench, load_any

    model, net, _ = load_any(args.net)
    result = bench(model, net, games=args.games, plies=args.plies)
    for key, value in result.items():
        print(f"{key:36s} {value:.2f}" if isinstance(value, float) else f"{key:36s} {value}")


def run_precision(args: argparse.Namespace) -> None:
    from minizero.chessgame.openings import read_openings
    from nnue.precision_study import NnuePrecisionConfig, run, tables

    config = NnuePrecisionConfig(
        positions=args.positions, move_positions=args.move_positions,
        formats=tuple(args.formats), multipliers=tuple(args.multipliers),
        mca_positions=args.mca_positions, mca_samples=args.mca_samples, budget=args.budget,
        divergence_multiplier=args.divergence_multiplier,
        studies=tuple(args.study), seed=args.seed)
    openings = read_openings(args.openings) if args.openings is not None else None
    results = run(args.net, args.out, config, openings, args.resume, args.quiet)
    print(tables(results))
    print(f"\nresults: {args.out}/results.md, JSON and PNG plots in {args.out}")


def _read_positions(path: Path) -> list:
    import chess

    from minizero.inputs import text_lines

    boards = []
    for number, line in text_lines(path):
        try:
            boards.append(chess.Board(line) if len(line.split()) == 6 and line.split()[4]
                          .isdigit() else chess.Board.from_epd(line)[0])
        except ValueError as error:
            raise ValueError(f"{path}:{number}: not a FEN or EPD position ({error})") from None
    if not boards:
        raise ValueError(f"{path}: no positions in the file (only blank lines or comments)")
    return boards


def run_eval(args: argparse.Namespace) -> None:
    import chess

    from nnue.sf15.net import load_stockfish_net
    from nnue.sf15.trace import eval_text

    if args.fen is not None:
        try:
            boards = [chess.Board(args.fen)]
        except ValueError as error:
            raise ValueError(f"bad FEN {args.fen!r}: {error}") from None
    else:
        boards = _read_positions(args.epd)
    net = load_stockfish_net(args.net, args.stockfish)
    for index, board in enumerate(boards):
        if not board.is_valid():
            raise ValueError(f"not a legal position: {board.fen()} ({board.status()!r})")
        print(("\n" if index else "") + eval_text(net, board), end="", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"data": run_data, "relabel": run_relabel, "train": run_train,
                "quantize": run_quantize, "check": run_check, "bench": run_bench,
                "precision": run_precision, "eval": run_eval}
    try:
        handlers[args.command](args)
    except (ValueError, OSError, RuntimeError) as error:
        print(f"nnue {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nnue {args.command}: interrupted (rerun to resume)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The tablebases, measured: build speed and memory, exactness on every position, probe speed,
and engines playing won endings against a perfect defender.

Three parts, each with its own record under benchmarks/results/:

- ``build`` (tablebase_build): every 3-man table, KQvKR, and all 35 tables of 3 and 4 men,
  each in a fresh process (time, peak memory, positions a second); beside it, in the same run,
  the python-chess solver (``naive.py``) and the fast one on KQvK, alternated three times; and
  the time of one probe.
- ``sweep`` (tablebase_sweep): every position of every table against Syzygy's win/draw/loss
  (and every position with an en passant right in KPvKP), every 3-man position against
  Gaviota's distance to mate; the counts of mismatches.
- ``play`` (tablebase_endgames): from random won positions of KRvK, KQvKR and KBNvK, an engine
  plays the winning side against a perfect defender (each move the tables' longest resistance)
  until mate, or a draw (the 50-move rule, a repetition, a stalemate, a capture); with the
  tables, and without them beside sunfish at the same time a move.

    make bench BENCH=tablebase                              # all three parts
    python -m benchmarks.bench_tablebase --parts play --positions 20 --movetime 0.1
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import chess
import chess.engine
import chess.gaviota
import chess.syzygy
import numpy as np
from tqdm import tqdm

from benchmarks.common import RESULTS, markdown_table, write_results
from minizero.atomic import write_text
from minizero.chessgame.endgame import EndgameGame
from minizero.chessgame.endgame_grade import defended_game, mates, table_player, uci_player
from minizero.chessgame.protocol import MATE
from minizero.chessgame.tablebase.index import decode, layout_of, slot_arrays
from minizero.chessgame.tablebase.probe import Tablebase, build_tables
from minizero.chessgame.tablebase.signature import (
    all_signatures,
    parse_signature,
    signature_of_board,
)
from minizero.chessgame.tablebase.solver import BROKEN
from minizero.chessgame.tablebase.storage import default_directory, load_table, table_path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
QUIET = not sys.stderr.isatty()

BUILD = """
import json, resource, sys, time
from minizero.chessgame.tablebase.probe import build_tables
from minizero.chessgame.tablebase.signature import all_signatures, parse_signature
names = {names!r}
signatures = all_signatures(4) if names == ["all"] else (
    all_signatures(3) if names == ["3"] else [parse_signature(name) for name in names])
began = time.perf_counter()
paths = build_tables(signatures, {directory!r}, quiet=True)
print(json.dumps({{"seconds": time.perf_counter() - began, "tables": len(paths),
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _build(names: list[str], directory: Path) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", BUILD.format(names=names,
                                                                directory=str(directory))],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def _legal_positions(directory: Path, names: list[str]) -> int:
    total = 0
    for name in names:
        signature = parse_signature(name)
        total += int((load_table(table_path(directory, signature), signature) != BROKEN).sum())
    return total


def part_build(directory: Path) -> None:
    from minizero.chessgame.tablebase.naive import naive_solve
    from minizero.chessgame.tablebase.solver import solve

    rows, payload = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        three = Path(scratch) / "three"
        measured = _build(["3"], three)
        names = [signature.name for signature in all_signatures(3)]
        positions = _legal_positions(three, names)
        payload["three_men"] = {**measured, "positions": positions}
        rows.append(["every 3-man table (5)", f"{positions:,}", f"{measured['seconds']:.2f}",
                     f"{positions / measured['seconds']:,.0f}", f"{measured['peak_mib']:.0f}"])
        queen_rook = Path(scratch) / "kqkr"
        shutil.copytree(three, queen_rook)
        measured = _build(["KQvKR"], queen_rook)
        positions = _legal_positions(queen_rook, ["KQvKR"])
        payload["KQvKR"] = {**measured, "positions": positions}
        rows.append(["KQvKR (3-man tables on disk)", f"{positions:,}",
                     f"{measured['seconds']:.2f}", f"{positions / measured['seconds']:,.0f}",
                     f"{measured['peak_mib']:.0f}"])
        everything = Path(scratch) / "all"
        measured = _build(["all"], everything)
        names = [signature.name for signature in all_signatures(4)]
        positions = _legal_positions(everything, names)
        size = sum(path.stat().st_size for path in everything.iterdir())
        payload["all"] = {**measured, "positions": positions, "bytes": size}
        rows.append(["all 35 tables of 3-4 men", f"{positions:,}", f"{measured['seconds']:.1f}",
                     f"{positions / measured['seconds']:,.0f}", f"{measured['peak_mib']:.0f}"])
        directory.mkdir(parents=True, exist_ok=True)
        for path in everything.iterdir():
            if not (directory / path.name).exists():
                shutil.copy2(path, directory / path.name)

    # the python-chess solver beside the fast one, alternated, on the same table
    signature = parse_signature("KQvK")
    naive_seconds, fast_seconds = [], []
    for _ in range(3):
        began = time.perf_counter()
        naive = naive_solve("KQvK")
        naive_seconds.append(time.perf_counter() - began)
        began = time.perf_counter()
        values = solve(signature, {})
        fast_seconds.append(time.perf_counter() - began)
    fast_positions = int((values != BROKEN).sum())
    assert fast_positions == len(naive)
    naive_rate = len(naive) / min(naive_seconds)
    fast_rate = fast_positions / min(fast_seconds)
    payload["KQvK_naive_vs_fast"] = {"positions": len(naive), "naive_seconds": naive_seconds,
                                     "fast_seconds": fast_seconds, "ratio": fast_rate / naive_rate}
    rows.append(["KQvK, python-chess solver (naive.py)", f"{len(naive):,}",
                 f"{min(naive_seconds):.2f}", f"{naive_rate:,.0f}", ""])
    rows.append(["KQvK, fast solver, same run", f"{fast_positions:,}",
                 f"{min(fast_seconds):.3f}", f"{fast_rate:,.0f}",
                 f"{fast_rate / naive_rate:.0f}x the naive rate"])

    _figures(directory)
    probe_us = _probe_microseconds(directory)
    payload["probe_microseconds"] = probe_us
    table = markdown_table(["what", "positions", "seconds", "positions/s", "peak MiB"], rows)
    table += (f"\n\nAll 35 tables: {payload['all']['bytes'] / 1e6:.1f} MB on disk. One probe "
              f"(a loaded table, random 3-4 man positions): {probe_us:.1f} µs.\n")
    write_results("tablebase_build", payload, table)


def _figures(directory: Path) -> None:
    """The distance-to-mate histogram of every table that has wins (PNG), and the longest mate
    of each drawn as a board (one SVG of all boards)."""
    import chess.svg
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from minizero.chessgame.tablebase.storage import read_header

    won = []
    for signature in all_signatures(4):
        values = load_table(table_path(directory, signature), signature)
        wins = values[values > 0]
        if len(wins):
            header, _ = read_header(table_path(directory, signature), signature)
            won.append((signature.name, (MATE - wins.astype(np.int64) + 1) // 2,
                        header["statistics"]))
    columns = 6
    rows = (len(won) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 1.9 * rows))
    for axis, (name, moves, _) in zip(axes.flat, won):
        counts = np.bincount(moves)
        axis.bar(np.arange(len(counts)), counts, width=1.0, color="#4a7ab5")
        axis.set_title(f"{name} (longest {moves.max()})", fontsize=9)
        axis.set_yscale("log")
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(won):]:
        axis.axis("off")
    figure.supxlabel("moves to mate (side to move wins)")
    figure.supylabel("positions (log scale)")
    figure.tight_layout()
    figure.savefig(RESULTS / "tablebase_dtm.png", dpi=110, bbox_inches="tight")
    plt.close(figure)

    size, caption, columns = 180, 34, 6
    parts = []
    for number, (name, moves, statistics) in enumerate(won):
        x, y = (number % columns) * (size + 10), (number // columns) * (size + caption)
        board = chess.Board(statistics["longest_mate_fen"])
        svg = chess.svg.board(board, size=size, coordinates=False)
        svg = svg.replace("<svg ", f'<svg x="{x}" y="{y}" ', 1)
        parts.append(svg)
        side = "White" if board.turn == chess.WHITE else "Black"
        parts.append(f'<text x="{x + size / 2}" y="{y + size + 14}" font-size="13" '
                     f'text-anchor="middle" font-family="sans-serif">{name}: {side} mates in '
                     f"{moves.max()}</text>")
    width = columns * (size + 10)
    height = ((len(won) + columns - 1) // columns) * (size + caption)
    write_text(RESULTS / "tablebase_hardest.svg",
               f'<svg xmlns="http://www.w3.org/2000/svg" '
               f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" height="{height}" '
               f'viewBox="0 0 {width} {height}">' + "".join(parts) + "</svg>\n")


def _probe_microseconds(directory: Path) -> float:
    tablebase = Tablebase(directory)
    rng = random.Random(0)
    boards = []
    while len(boards) < 2000:
        board = chess.Board(None)
        squares = rng.sample(range(64), 4)
        for square, symbol in zip(squares, ("K", "k", rng.choice("QRBN"), rng.choice("qrbnp"))):
            board.set_piece_at(square, chess.Piece.from_symbol(symbol))
        if board.is_valid():
            boards.append(board)
    for board in boards:
        tablebase.probe(board)  # loads the tables
    began = time.perf_counter()
    for _ in range(5):
        for board in boards:
            tablebase.probe(board)
    return (time.perf_counter() - began) / (5 * len(boards)) * 1e6


def _sweep_table(task: tuple[str, str]) -> dict[str, Any]:
    """Every position of one table against Syzygy (and Gaviota for 3 men)."""
    name, directory = task
    signature = parse_signature(name)
    values = load_table(table_path(directory, signature), signature)
    syzygy = chess.syzygy.open_tablebase(str(DATA / "syzygy"))
    gaviota = chess.gaviota.open_tablebase(str(DATA / "gaviota")) if signature.men == 3 else None
    layout = layout_of(signature)
    kinds, colours = slot_arrays(signature)
    pieces = [chess.Piece(int(kinds[slot]), bool(colours[slot])) for slot in range(4)]
    squares = np.zeros(4, np.int64)
    board = chess.Board(None)
    count = wdl_mismatches = dtm_mismatches = 0
    examples: list[str] = []
    for index in np.flatnonzero(values != BROKEN):
        turn = decode(layout, int(index), squares)
        board.clear_board()
        for slot in range(signature.men):
            board.set_piece_at(int(squares[slot]), pieces[slot])
        board.turn = bool(turn)
        value = int(values[index])
        wdl = syzygy.probe_wdl(board)
        if (value > 0) - (value < 0) != (wdl > 0) - (wdl < 0):
            wdl_mismatches += 1
            examples.append(board.fen())
        if gaviota is not None and not board.is_checkmate():
            plies = 0 if value == 0 else (MATE - value if value > 0 else -(MATE + value))
            if plies != gaviota.probe_dtm(board):
                dtm_mismatches += 1
                examples.append(board.fen())
        count += 1
    return {"table": name, "positions": count, "wdl_mismatches": wdl_mismatches,
            "dtm_mismatches": dtm_mismatches if gaviota is not None else None,
            "examples": examples[:5]}


def _en_passant_sweep(directory: Path) -> dict[str, Any]:
    """Every KPvKP position right after a double step that allows en passant."""
    tablebase = Tablebase(directory)
    syzygy = chess.syzygy.open_tablebase(str(DATA / "syzygy"))
    count = mismatches = 0
    for file in range(8):
        for side in (-1, 1):
            if not 0 <= file + side < 8:
                continue
            for white_king in range(64):
                for black_king in range(64):
                    for colour in (chess.WHITE, chess.BLACK):
                        board = chess.Board(None)
                        rank = 1 if colour == chess.WHITE else 6
                        pawn = chess.square(file, rank)
                        forward = 8 if colour == chess.WHITE else -8
                        other = chess.square(file + side, 3 if colour == chess.WHITE else 4)
                        if len({white_king, black_king, pawn, other, pawn + forward,
                                pawn + 2 * forward}) < 6:
                            continue
                        board.set_piece_at(white_king, chess.Piece(chess.KING, chess.WHITE))
                        board.set_piece_at(black_king, chess.Piece(chess.KING, chess.BLACK))
                        board.set_piece_at(pawn, chess.Piece(chess.PAWN, colour))
                        board.set_piece_at(other, chess.Piece(chess.PAWN, not colour))
                        board.turn = colour
                        if not board.is_valid():
                            continue
                        board.push(chess.Move(pawn, pawn + 2 * forward))
                        if not board.is_valid() or not board.has_legal_en_passant():
                            continue
                        value = tablebase.probe(board)
                        wdl = syzygy.probe_wdl(board)
                        assert value is not None
                        count += 1
                        mismatches += (value > 0) - (value < 0) != (wdl > 0) - (wdl < 0)
    return {"positions": count, "wdl_mismatches": mismatches}


def part_sweep(directory: Path, workers: int) -> None:
    names = [signature.name for signature in all_signatures(4)]
    build_tables([parse_signature(name) for name in names], directory, quiet=QUIET)
    began = time.perf_counter()
    tasks = [(name, str(directory)) for name in names]
    tasks.sort(key=lambda task: -parse_signature(task[0]).men)  # the big ones first
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        results = list(tqdm(pool.imap_unordered(_sweep_table, tasks), total=len(tasks),
                            desc="sweep", file=sys.stderr, disable=QUIET))
    results.sort(key=lambda result: names.index(result["table"]))
    en_passant = _en_passant_sweep(directory)
    seconds = time.perf_counter() - began
    rows = [[result["table"], f"{result['positions']:,}", str(result["wdl_mismatches"]),
             "" if result["dtm_mismatches"] is None else str(result["dtm_mismatches"])]
            for result in results]
    rows.append(["KPvKP after a double step, en passant possible", f"{en_passant['positions']:,}",
                 str(en_passant["wdl_mismatches"]), ""])
    total = sum(result["positions"] for result in results) + en_passant["positions"]
    wrong = (sum(result["wdl_mismatches"] + (result["dtm_mismatches"] or 0)
                 for result in results) + en_passant["wdl_mismatches"])
    table = markdown_table(["table", "positions", "mismatches with Syzygy WDL",
                            "mismatches with Gaviota DTM"], rows)
    table += f"\n\n{total:,} positions, {wrong} mismatches, {seconds / 60:.0f} minutes.\n"
    write_results("tablebase_sweep", {"tables": results, "en_passant": en_passant,
                                      "positions": total, "mismatches": wrong,
                                      "seconds": seconds}, table)


def won_positions(directory: Path, name: str, count: int, seed: int) -> list[str]:
    """``count`` positions drawn uniformly from the table's wins with White (the stronger side)
    to move, as FENs."""
    signature = parse_signature(name)
    values = load_table(table_path(directory, signature), signature)
    half = len(values) // 2
    wins = np.flatnonzero(values[:half] > 0)  # the White-to-move block
    rng = np.random.default_rng(seed)
    squares = np.zeros(4, np.int64)
    fens = []
    from minizero.chessgame.tablebase.storage import fen_of

    for index in rng.choice(wins, count, replace=False):
        turn = decode(layout_of(signature), int(index), squares)
        fens.append(fen_of(signature, squares, turn))
    return fens


def play_out(fen: str, engine: chess.engine.SimpleEngine | None, directory: Path,
             movetime: float) -> dict[str, Any]:
    """The winning side (``engine``; the tables when None) against the perfect defender, under
    the endgame game's rules (``endgame_grade.defended_game``)."""
    board = chess.Board(fen)
    game = EndgameGame(signature=signature_of_board(board)[0].name, tables=str(directory))
    distance = MATE - (game.tablebase().probe(board) or 0)
    player = (table_player(game) if engine is None
              else uci_player(engine, chess.engine.Limit(time=movetime)))
    final = defended_game(game, player, board)
    mated = mates(game, final)
    return {"fen": fen, "mated": mated, "plies": final.ply, "table_plies": distance,
            "exact": mated and final.ply == distance}


def part_play(directory: Path, count: int, movetime: float, seed: int) -> None:
    from minizero.peers import find_sunfish

    build_tables([parse_signature(name) for name in ("KRvK", "KQvKR", "KBNvK")], directory,
                 quiet=QUIET)
    players: dict[str, tuple[list[str], dict[str, Any]]] = {
        "minizero-uci with tables": (["minizero-uci"], {"TablebasePath": str(directory)}),
        "nnue-uci with tables": (["nnue-uci"], {"TablebasePath": str(directory)}),
        "zero-uci with tables": (["zero-uci"], {"TablebasePath": str(directory)}),
        "minizero-uci without tables": (["minizero-uci"], {"Tablebases": False}),
        "nnue-uci without tables": (["nnue-uci"], {"Tablebases": False}),
    }
    try:
        players["sunfish"] = ([find_sunfish()], {})
    except FileNotFoundError as error:
        print(f"sunfish not measured: {error}", file=sys.stderr)
    bin_dir = Path(sys.executable).parent
    # a long run: each finished (ending, player) is kept beside the tables, and a rerun with
    # the same settings takes it from there
    partial = directory / f"bench-play-{count}-{movetime}-{seed}.json"
    results: dict[str, dict[str, Any]] = (json.loads(partial.read_text())
                                          if partial.exists() else {})
    rows = []
    for table in ("KRvK", "KQvKR", "KBNvK"):
        fens = won_positions(directory, table, count, seed)
        for player, (command, options) in players.items():
            if player in results.get(table, {}):
                done = results[table][player]
                rows.append([table, player, f"{done['mated']}/{count}", f"{done['exact']}/{count}"])
                continue
            executable = bin_dir / command[0]
            engine = chess.engine.SimpleEngine.popen_uci(
                [str(executable) if executable.exists() else command[0]] + command[1:])
            try:
                if options:
                    engine.configure(options)
                games = [play_out(fen, engine, directory, movetime)
                         for fen in tqdm(fens, desc=f"{table} {player}", file=sys.stderr,
                                         disable=QUIET)]
            finally:
                engine.quit()
            mated = sum(game["mated"] for game in games)
            exact = sum(game["exact"] for game in games)
            results.setdefault(table, {})[player] = {"games": games, "mated": mated,
                                                      "exact": exact}
            rows.append([table, player, f"{mated}/{len(games)}", f"{exact}/{len(games)}"])
            write_text(partial, json.dumps(results))
    table_text = markdown_table(["ending", "winning side", "mated within the 50-move rule",
                                 "in exactly the tables' distance"], rows)
    table_text += (f"\n\n{count} random won positions a table (seed {seed}), White to move; "
                   f"{movetime * 1000:.0f} ms a move; the defender plays the tables' longest "
                   "resistance.\n")
    write_results("tablebase_endgames", {"positions": count, "movetime": movetime,
                                         "seed": seed, "results": results}, table_text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_tablebase", description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="build,sweep,play",
                        help="comma-separated: build, sweep, play")
    parser.add_argument("--dir", default=None, help="folder of tables (default: the cache)")
    parser.add_argument("--positions", type=int, default=100, help="won positions a table")
    parser.add_argument("--movetime", type=float, default=0.1, help="seconds an engine move")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes for the sweep")
    args = parser.parse_args(argv if argv is not None else [])
    directory = Path(args.dir) if args.dir else default_directory()
    parts = args.parts.split(",")
    if "build" in parts:
        part_build(directory)
    if "sweep" in parts:
        part_sweep(directory, args.workers)
    if "play" in parts:
        part_play(directory, args.positions, args.movetime, args.seed)


if __name__ == "__main__":
    main(sys.argv[1:])

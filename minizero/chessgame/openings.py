"""Balanced opening positions for engine matches.

A match between two engines from the start position alone repeats itself; a set of short,
varied and balanced openings, each played twice with the colours swapped, measures strength
rather than opening luck. ``generate_openings`` plays random short lines from the start and
keeps those Stockfish scores within a window; ``read_openings`` reads such a file (FEN or EPD,
one a line) and refuses a position that is not a legal one.

Try it: ``minizero openings --count 50 --out runs/openings.fen``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import chess
import chess.engine
from tqdm import tqdm

from minizero.inputs import shown, text_lines
from minizero.lifeline import engine_preexec


def read_openings(path: str | Path) -> list[str]:
    """FENs (or EPD lines) of a file, one a line; '#' starts a comment line. ValueError naming
    the file and line for a line that is not a legal position whose game goes on (a random walk
    or an engine must have a move to play), and for a file without any."""
    fens = []
    for number, line in text_lines(path):
        try:
            board = chess.Board(line)
        except ValueError:
            try:
                board = chess.Board.from_epd(line)[0]
            except ValueError as error:
                raise ValueError(f"{path}:{number}: not a FEN: {error}") from None
        try:
            board = chess.Board(board.fen())
        except ValueError as error:
            raise ValueError(f"{path}:{number}: not a FEN: {error}") from None
        if not board.is_valid():  # a missing king, pawns on the back rank, ...
            status = board.status()
            problems = ", ".join(flag.name.lower().replace("_", " ") for flag in chess.Status
                                 if flag and flag.name and flag in status)
            raise ValueError(f"{path}:{number}: not a legal chess position ({problems})")
        if board.is_game_over():
            raise ValueError(f"{path}:{number}: the game is already over in this position")
        fens.append(board.fen())
    if not fens:
        raise ValueError(f"{shown(path)}: no openings in the file (only blank lines or "
                         "comments)")
    return fens


def generate_openings(
    stockfish: str, count: int, plies: int = 8, window: int = 60, depth: int = 10,
    seed: int = 0, progress: bool = True,
) -> list[str]:
    """Random ``plies``-move lines from the start, kept when Stockfish's score is balanced.

    A line is kept when |score| <= ``window`` centipawns at ``depth`` and the position is
    new and not over; the random moves prefer the developing kind (no king walks).
    """
    rng = random.Random(seed)
    kept: list[str] = []
    seen: set[str] = set()
    tries = 0
    with chess.engine.SimpleEngine.popen_uci(
            stockfish, preexec_fn=engine_preexec) as engine, tqdm(
            total=count, desc="openings", file=sys.stderr, disable=not progress) as bar:
        while len(kept) < count:
            tries += 1
            if tries > 200 * count:
                raise ValueError(f"only {len(kept)} balanced openings in {tries - 1} tries")
            board = chess.Board()
            for _ in range(plies):
                moves = [move for move in board.legal_moves
                         if board.piece_type_at(move.from_square) != chess.KING]
                if not moves:
                    break
                board.push(rng.choice(moves))
            key = board.epd()
            if board.is_game_over() or key in seen:
                continue
            seen.add(key)
            info = engine.analyse(board, chess.engine.Limit(depth=depth))
            score = info["score"].white()
            if not score.is_mate() and abs(score.score()) <= window:
                kept.append(board.fen())
                bar.update(1)
    return kept

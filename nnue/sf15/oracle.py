"""Stockfish 15.1 as the oracle of ``nnue eval``: its own ``eval`` text, and test positions.

``stockfish_eval_outputs`` runs one Stockfish process for a whole list of positions (``position
fen``, ``eval``, ``isready`` for each; the ``readyok`` lines cut the output into one piece per
position) and ``nnue_part`` keeps the lines that belong to the net: the derived piece values,
the bucket table and the "NNUE evaluation" line, or the single in-check line.

``stockfish_game_positions`` collects the positions of a few games Stockfish plays against
itself. ``oracle_positions`` makes a varied, seeded set of positions: random playouts, playouts
that prefer captures (they reach endgames), continuations of the project's balanced openings,
random endgames of 2 to 7 pieces, and every special move (both castlings of both colours, en
passant, each promotion, capturing promotions, king moves of both colours) with the position
right after it; both sides to move, checks included.
Command: ``python -m pytest tests/nnue/test_sf15_oracle.py``.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import chess

from nnue.sf15.trace import IN_CHECK

OPENINGS = Path(__file__).resolve().parents[2] / "benchmarks" / "openings.fen"


def stockfish_eval_outputs(stockfish: str, fens: list[str]) -> list[str]:
    """Stockfish's whole ``eval`` output for each FEN, in order (one process for all)."""
    script = "".join(f"position fen {fen}\neval\nisready\n" for fen in fens)
    completed = subprocess.run([stockfish], input="uci\n" + script + "quit\n", text=True,
                               capture_output=True, check=True)
    pieces = completed.stdout.split("readyok\n")
    if len(pieces) != len(fens) + 1:
        raise ValueError(f"{stockfish}: {len(pieces) - 1} answers to {len(fens)} eval commands")
    return pieces[:-1]


def nnue_part(output: str) -> str:
    """The NNUE lines of one Stockfish 15.1 ``eval`` output, in the layout ``eval_text`` uses."""
    if IN_CHECK in output:
        return IN_CHECK + "\n"
    start = output.index(" NNUE derived piece values:")
    used = output.index(" <-- this bucket is used", start)
    end = output.index("+\n", output.index("\n+", used) + 1) + 2
    evaluation = output.index("NNUE evaluation", end)
    return output[start:end] + "\n" + output[evaluation:output.index("\n", evaluation) + 1]


def special_kind(board: chess.Board, move: chess.Move) -> str | None:
    """The special move category of ``move`` on ``board`` (before the move), or None."""
    color = "white" if board.turn == chess.WHITE else "black"
    if board.is_castling(move):
        side = "kingside" if board.is_kingside_castling(move) else "queenside"
        return f"castling {side} {color}"
    if board.is_en_passant(move):
        return f"en passant {color}"
    if move.promotion:
        capture = " capture" if board.is_capture(move) else ""
        return f"promotion {chess.piece_name(move.promotion)}{capture}"
    if board.piece_type_at(move.from_square) == chess.KING:
        return f"king move {color}"
    return None


def _choose(board: chess.Board, rng: random.Random, prefer_captures: bool) -> chess.Move:
    moves = list(board.legal_moves)
    specials = [move for move in moves if special_kind(board, move) not in (None, *(
        f"king move {c}" for c in ("white", "black")))]
    if specials and rng.random() < 0.5:
        return rng.choice(specials)
    captures = [move for move in moves if board.is_capture(move)]
    if prefer_captures and captures and rng.random() < 0.7:
        return rng.choice(captures)
    return rng.choice(moves)


def _playout_positions(rng: random.Random, start: chess.Board, plies: int, prefer_captures: bool,
                       keep: float, found: dict[str, str], specials: dict[str, int]) -> None:
    board = start.copy(stack=False)
    for _ in range(plies):
        if board.is_game_over():
            return
        move = _choose(board, rng, prefer_captures)
        kind = special_kind(board, move)
        board.push(move)
        if kind is not None and specials.get(kind, 0) < 25:
            specials[kind] = specials.get(kind, 0) + 1
            found.setdefault(board.fen(), kind)
        elif rng.random() < keep:
            found.setdefault(board.fen(), "capture playout" if prefer_captures else "playout")


def stockfish_game_positions(stockfish: str, games: int = 6, depth: int = 4,
                             max_plies: int = 200) -> list[tuple[str, str]]:
    """Every position of ``games`` games Stockfish plays against itself at ``depth`` from the
    project's balanced openings (deterministic: one thread, a fixed depth)."""
    import chess.engine

    openings = _openings() or [chess.STARTING_FEN]
    found: dict[str, str] = {}
    with chess.engine.SimpleEngine.popen_uci(stockfish) as engine:
        engine.configure({"Threads": 1})
        for game in range(games):
            board = chess.Board(openings[game % len(openings)])
            engine.protocol.send_line("ucinewgame")
            while not board.is_game_over(claim_draw=True) and board.ply() < max_plies:
                board.push(engine.play(board, chess.engine.Limit(depth=depth)).move)
                found.setdefault(board.fen(), "stockfish game")
    return list(found.items())


def _openings() -> list[str]:
    if not OPENINGS.exists():
        return []
    return [line.split(";")[0].strip() for line in OPENINGS.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def _random_endgame(rng: random.Random) -> chess.Board | None:
    board = chess.Board(None)
    squares = rng.sample(chess.SQUARES, 7)
    board.set_piece_at(squares[0], chess.Piece(chess.KING, chess.WHITE))
    board.set_piece_at(squares[1], chess.Piece(chess.KING, chess.BLACK))
    for square in squares[2:2 + rng.randint(0, 5)]:
        piece_type = rng.choice((chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN))
        if piece_type == chess.PAWN and chess.square_rank(square) in (0, 7):
            continue
        board.set_piece_at(square, chess.Piece(piece_type, rng.choice(chess.COLORS)))
    board.turn = rng.choice(chess.COLORS)
    return board if board.is_valid() else None


def oracle_positions(count: int = 2400, seed: int = 1) -> list[tuple[str, str]]:
    """About ``count`` distinct (FEN, category) pairs, deterministic for a ``seed``."""
    rng = random.Random(seed)
    found: dict[str, str] = {}
    specials: dict[str, int] = {}
    openings = _openings()
    for fen in openings:
        found.setdefault(chess.Board(fen).fen(), "opening")
    endgames = 0
    while endgames < count // 6:
        board = _random_endgame(rng)
        if board is not None and board.fen() not in found:
            found[board.fen()] = "endgame"
            endgames += 1
    game = 0
    while len(found) < count:
        start = chess.Board(openings[game % len(openings)]) if openings and game % 3 == 2 \
            else chess.Board()
        _playout_positions(rng, start, rng.randint(40, 200), prefer_captures=game % 2 == 1,
                           keep=0.12, found=found, specials=specials)
        game += 1
    return list(found.items())

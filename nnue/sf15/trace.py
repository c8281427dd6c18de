"""Stockfish 15.1's ``eval`` command, its NNUE part, reproduced text for text.

For a position not in check Stockfish 15.1 prints (besides its classical table and its
"Classical" and "Final evaluation" lines, which belong to its hand-written evaluation):

* "NNUE derived piece values": a board whose squares show, in pawns, how much the NNUE score
  (White's view) drops when that piece is lifted off the board (kings are never lifted);
* "NNUE network contributions": for each of the 8 layer stacks, the material (PSQT) and
  positional (layers) terms and their sum, in pawns, the stack in use marked;
* "NNUE evaluation +0.19 (white side)": the plain net output, White's view.

In check, the whole command prints "Final evaluation: none (in check)", and so does this.
Values are Stockfish's internal units turned into pawns by its 15.1 normalisation (1 pawn =
361 units, the score with a 50% win rate at move 32). Reference: Stockfish 15.1 (tag sf_15.1)
src/evaluate.cpp ``Eval::trace``, src/nnue/evaluate_nnue.cpp ``trace``.
Command: ``nnue eval stockfish --fen FEN`` or ``nnue eval PATH.nnue --epd FILE``.
"""

from __future__ import annotations

import chess
import numpy as np

from nnue.sf15 import kernel
from nnue.sf15.net import OUTPUT_SCALE, PSQT_BUCKETS, StockfishNet

NORMALIZE_TO_PAWN = 361  # Stockfish 15.1's UCI::NormalizeToPawnValue
IN_CHECK = "Final evaluation: none (in check)"
PIECE_LETTERS = " PNBRQK  pnbrqk"  # by Stockfish piece code


def board_pieces(board: chess.Board) -> np.ndarray:
    """(64,) int8 Stockfish piece codes (White 1..6, Black 9..14, empty 0), a1 = 0."""
    pieces = np.zeros(64, np.int8)
    for color, offset in ((chess.WHITE, 0), (chess.BLACK, 8)):
        for piece_type in chess.PIECE_TYPES:
            for square in chess.scan_forward(board.pieces_mask(piece_type, color)):
                pieces[square] = piece_type + offset
    return pieces


def bucket_of(piece_count: int) -> int:
    """The layer stack Stockfish 15.1 uses for ``piece_count`` pieces, kings included."""
    return (piece_count - 1) // 4


def terms(net: StockfishNet, pieces: np.ndarray, side_to_move: int) -> tuple[np.ndarray, ...]:
    """(material, positional) of every bucket, 1/16 Value units, side to move's view
    (``side_to_move`` 0 = White)."""
    return kernel.evaluate_all_buckets(pieces, side_to_move, *kernel.transformer_arrays(net),
                                       *kernel.layer_arrays(net))


def nnue_value(net: StockfishNet, pieces: np.ndarray, side_to_move: int) -> int:
    """Stockfish's ``NNUE::evaluate(pos, adjusted=false)``: Value units, side to move's view."""
    bucket = bucket_of(int(np.count_nonzero(pieces)))
    material, positional = kernel.evaluate_board(pieces, side_to_move, bucket,
                                                 *kernel.transformer_arrays(net),
                                                 *kernel.layer_arrays(net))
    return int(kernel.divide_truncating(int(material + positional), OUTPUT_SCALE))


def _compact(value: int) -> str:
    """Five characters: sign and pawns with two decimals (one from 10, none from 100)."""
    sign = "-" if value < 0 else "+" if value > 0 else " "
    centipawns = abs(kernel.divide_truncating(100 * value, NORMALIZE_TO_PAWN))
    if centipawns >= 10000:
        return f"{sign}{centipawns // 10000}{centipawns % 10000 // 1000}" \
               f"{centipawns % 1000 // 100} "
    if centipawns >= 1000:
        return f"{sign}{centipawns // 1000}{centipawns % 1000 // 100}.{centipawns % 100 // 10}"
    return f"{sign}{centipawns // 100}.{centipawns % 100 // 10}{centipawns % 10}"


def _aligned(value: int) -> str:
    """Sign, then pawns as ``%6.2f`` (C's printf and Python round the same double alike)."""
    sign = "-" if value < 0 else "+" if value > 0 else " "
    return sign + "%6.2f" % (abs(value) / NORMALIZE_TO_PAWN)


def _piece_values_board(net: StockfishNet, pieces: np.ndarray, side_to_move: int) -> list[str]:
    """The 25 rows of the "NNUE derived piece values" board, 65 characters each."""
    white_sign = 1 if side_to_move == 0 else -1
    base, lifted = kernel.lifted_values(pieces, side_to_move, *kernel.transformer_arrays(net),
                                        *kernel.layer_arrays(net))
    rows = [[" "] * 65 for _ in range(25)]
    for square in range(64):
        file, rank = square & 7, square >> 3
        x, y = 8 * file, 3 * (7 - rank)
        for i in range(1, 8):
            rows[y][x + i] = rows[y + 3][x + i] = "-"
        for i in (1, 2):
            rows[y + i][x] = rows[y + i][x + 8] = "|"
        rows[y][x] = rows[y][x + 8] = rows[y + 3][x + 8] = rows[y + 3][x] = "+"
        piece = int(pieces[square])
        if piece:
            rows[y + 1][x + 4] = PIECE_LETTERS[piece]
        if piece and piece & 7 != chess.KING:
            value = white_sign * (int(base) - int(lifted[square]))
            rows[y + 2][x + 2:x + 7] = list(_compact(value))
    return ["".join(row) for row in rows]


def eval_text(net: StockfishNet, board: chess.Board) -> str:
    """The NNUE lines of Stockfish 15.1's ``eval`` for ``board``, newline-terminated."""
    if board.is_check():
        return IN_CHECK + "\n"
    pieces = board_pieces(board)
    side_to_move = 0 if board.turn == chess.WHITE else 1
    lines = [" NNUE derived piece values:"]
    lines += _piece_values_board(net, pieces, side_to_move)
    mover = "White" if board.turn == chess.WHITE else "Black"
    lines += ["", f" NNUE network contributions ({mover} to move)",
              "+------------+------------+------------+------------+",
              "|   Bucket   |  Material  | Positional |   Total    |",
              "|            |   (PSQT)   |  (Layers)  |            |",
              "+------------+------------+------------+------------+"]
    material, positional = terms(net, pieces, side_to_move)
    used = bucket_of(int(np.count_nonzero(pieces)))
    for bucket in range(PSQT_BUCKETS):
        psqt = kernel.divide_truncating(int(material[bucket]), OUTPUT_SCALE)
        layers = kernel.divide_truncating(int(positional[bucket]), OUTPUT_SCALE)
        row = (f"|  {bucket}         |  {_aligned(psqt)}   |  {_aligned(layers)}   "
               f"|  {_aligned(psqt + layers)}   |")
        lines.append(row + (" <-- this bucket is used" if bucket == used else ""))
    lines.append("+------------+------------+------------+------------+")
    white_view = nnue_value(net, pieces, side_to_move) * (1 if side_to_move == 0 else -1)
    lines += ["", f"NNUE evaluation        {white_view / NORMALIZE_TO_PAWN:+.2f} (white side)"]
    return "\n".join(lines) + "\n"

"""The classical evaluator: material plus piece-square tables, tapered by game phase.

The textbook tapered evaluation: one set of tables for the middlegame and one for the endgame,
blended by a game phase that counts the minor and major pieces left (PeSTO's scheme; the tables
here are our own, built from a few readable rules rather than typed in). Centipawns from the
side to move. Reference: Chess Programming Wiki, "Tapered Eval" and "Piece-Square Tables".
Try it: ``python -c "import chess; from minizero.chessgame.classical import ClassicalEvaluator
as E; print(E().evaluate(chess.Board()))"``.
"""

from __future__ import annotations

import chess

from minizero.chessgame.evaluator import Evaluator

# Material in centipawns (middlegame, endgame), indexed by python-chess piece type 1..6.
MIDDLEGAME_VALUES = (0, 82, 337, 365, 477, 1025, 0)
ENDGAME_VALUES = (0, 94, 281, 297, 512, 936, 0)
# Game phase: 24 with all minor and major pieces on the board, 0 with none.
PHASE_WEIGHTS = (0, 0, 1, 1, 2, 4, 0)
FULL_PHASE = 24
BISHOP_PAIR = (30, 50)  # (middlegame, endgame)
TEMPO = 10  # the side to move is a little better off than a static count says


def _centre_distance(square: int) -> int:
    """Manhattan distance from the four centre squares: 0 on d4/e4/d5/e5, 6 in a corner."""
    file, rank = chess.square_file(square), chess.square_rank(square)
    return max(3 - file, file - 4, 0) + max(3 - rank, rank - 4, 0)


def _white_tables(piece_type: int) -> tuple[list[int], list[int]]:
    """Piece-square bonuses (middlegame, endgame) for a White piece, a1 = index 0."""
    middlegame, endgame = [0] * 64, [0] * 64
    for square in chess.SQUARES:
        file, rank = chess.square_file(square), chess.square_rank(square)
        centre = _centre_distance(square)
        if piece_type == chess.PAWN:
            # Pawns gain as they advance (much more in the endgame, where they queen);
            # the centre pawns are worth more when they take the centre early.
            # Flank pawns (a, b, g, h) stay home in the middlegame: they shelter the king.
            central_file = file in (3, 4)
            advance = 5 if 2 <= file <= 5 else -3
            middlegame[square] = advance * (rank - 1)
            middlegame[square] += 15 if central_file and rank in (3, 4) else 0
            middlegame[square] -= 10 if central_file and rank == 1 else 0
            endgame[square] = 12 * (rank - 1) + (25 if rank == 6 else 0)
        elif piece_type == chess.KNIGHT:
            # Knights on the rim are dim: a knight's reach shrinks towards the edge.
            middlegame[square] = 20 - 10 * centre
            endgame[square] = 15 - 8 * centre
        elif piece_type == chess.BISHOP:
            middlegame[square] = 10 - 4 * centre - (10 if rank == 0 else 0)
            endgame[square] = 8 - 4 * centre
        elif piece_type == chess.ROOK:
            # Rooks like the seventh rank and, a little, the central files.
            middlegame[square] = (20 if rank == 6 else 0) + (5 if file in (3, 4) else 0)
            endgame[square] = 10 if rank == 6 else 0
        elif piece_type == chess.QUEEN:
            middlegame[square] = 5 - 2 * centre
            endgame[square] = 20 - 6 * centre
        else:  # king: sheltered on its first rank while queens are on, active in the endgame
            shelter = 30 if file in (0, 1, 2, 6, 7) else 0
            middlegame[square] = shelter - 25 * rank if rank > 0 else shelter
            endgame[square] = 30 - 10 * centre
    return middlegame, endgame


def _build_tables() -> list[list[list[int]]]:
    """PACKED[colour][piece_type][square]: material + bonus, signed from White's side.

    Each entry packs the middlegame and endgame values into one integer, ``endgame * 2**16 +
    middlegame``, so the evaluation adds one number per piece instead of two (the "packed
    score" trick); ``unpack`` splits a sum of them again (each half stays within +-2**15).
    """
    packed = [[[0] * 64 for _ in range(7)] for _ in range(2)]
    for piece_type in chess.PIECE_TYPES:
        white_mg, white_eg = _white_tables(piece_type)
        for square in chess.SQUARES:
            mg = MIDDLEGAME_VALUES[piece_type] + white_mg[square]
            eg = ENDGAME_VALUES[piece_type] + white_eg[square]
            packed[chess.WHITE][piece_type][square] = pack(mg, eg)
            # Black reads the same table with its ranks mirrored, and counts negative.
            packed[chess.BLACK][piece_type][chess.square_mirror(square)] = -pack(mg, eg)
    return packed


def pack(middlegame: int, endgame: int) -> int:
    return endgame * 65536 + middlegame


def unpack(packed: int) -> tuple[int, int]:
    """(middlegame, endgame) of a sum of packed values."""
    middlegame = ((packed + 32768) & 0xFFFF) - 32768
    return middlegame, (packed - middlegame) >> 16


PACKED_TABLES = _build_tables()
BISHOP_PAIR_PACKED = pack(*BISHOP_PAIR)


class ClassicalEvaluator(Evaluator):
    """Material + piece-square tables, tapered by game phase. Centipawns, side to move.

    >>> ClassicalEvaluator().evaluate(chess.Board()) == TEMPO
    True
    """

    def evaluate(self, board: chess.Board) -> int:
        total = 0  # packed (middlegame, endgame), from White's side
        pieces_by_type = (
            (chess.PAWN, board.pawns), (chess.KNIGHT, board.knights),
            (chess.BISHOP, board.bishops), (chess.ROOK, board.rooks),
            (chess.QUEEN, board.queens), (chess.KING, board.kings),
        )
        for colour in (chess.WHITE, chess.BLACK):
            mine = board.occupied_co[colour]
            tables = PACKED_TABLES[colour]
            for piece_type, pieces in pieces_by_type:
                bits = pieces & mine
                table = tables[piece_type]
                while bits:  # walk the set bits of the bitboard, lowest first
                    total += table[(bits & -bits).bit_length() - 1]
                    bits &= bits - 1
        white_bishops = (board.bishops & board.occupied_co[chess.WHITE]).bit_count()
        black_bishops = (board.bishops & board.occupied_co[chess.BLACK]).bit_count()
        total += BISHOP_PAIR_PACKED * ((white_bishops >= 2) - (black_bishops >= 2))
        phase = min(FULL_PHASE, (board.knights | board.bishops).bit_count()
                    + 2 * board.rooks.bit_count() + 4 * board.queens.bit_count())
        middlegame, endgame = unpack(total)
        blended = middlegame * phase + endgame * (FULL_PHASE - phase)
        # Turn to the side to move before dividing, so a colour-flipped position scores the same.
        if board.turn == chess.BLACK:
            blended = -blended
        return blended // FULL_PHASE + TEMPO

"""AlphaZero's chess encoding: input planes from the side to move and the 8x8x73 policy map.

The network sees the board from the side to move: for Black the ranks are mirrored (a1 <-> a8)
and the colours swapped, so "own" pieces always move up the board. The policy map flips with it,
so one network serves both colours.

**Input planes**, shape ``(14 * T + 7, 8, 8)``, float32, ``[plane, rank, file]`` with rank 0 the
side to move's first rank. For each history step ``t = 0 .. T-1`` (t = 0 the current position,
t plies before it otherwise; a step before the earliest known position repeats that position,
see below), 14 planes:

    14t + 0..5    own pawns, knights, bishops, rooks, queens, king
    14t + 6..11   opponent pawns, knights, bishops, rooks, queens, king
    14t + 12      the position occurred at least once before (repetition)
    14t + 13      the position occurred at least twice before

then 7 planes that hold one number each (constant over the board):

    14T + 0       colour: 1 if White is to move
    14T + 1, 2    own castling rights, king side and queen side
    14T + 3, 4    opponent castling rights, king side and queen side
    14T + 5       fifty-move counter: halfmove clock / 100
    14T + 6       all ones (lets the convolutions see the board's edge)

"Own" and "opponent" are relative to the side to move *now*, in every history step.

**Unknown history.** A position set up from a FEN (or the game's first position) has no
earlier positions. Their steps repeat the earliest known position rather than staying zero, as
Leela does for FEN positions: the training data holds only positions with their history, and a
network that never saw empty history steps misjudges them. On 150 positions given as bare
FENs (``make bench BENCH=zero_chess``), the shipped net with empty steps called them lost (its
value 0.96 away from its with-history value on average) and kept its favourite move in 37%;
with the steps filled, 0.04 away and the same move in 93%.

**Policy map**, 4672 = 64 x 73 actions, ``index = 73 * from_square + plane`` with squares in the
side to move's view (a1 = 0 .. h8 = 63, ranks mirrored for Black):

    planes 0..55    queen-like moves: 8 directions (N, NE, E, SE, S, SW, W, NW) x distance 1..7,
                    plane = 7 * direction + distance - 1; pawn promotions to a queen are these
    planes 56..63   knight moves (+1,+2), (+2,+1), (+2,-1), (+1,-2), (-1,-2), (-2,-1), (-2,+1),
                    (-1,+2) as (file, rank) steps
    planes 64..72   underpromotions: 3 x (knight, bishop, rook) for the pawn moving to the
                    file on its left, straight ahead, to the right: plane = 64 + 3 * piece + way

Reference: Silver et al., Science 362 (2018), supplementary materials, "Domain knowledge" and
Table S2 (the 119-plane, T = 8 input and the 8x8x73 move representation); Leela Chess Zero uses
the same move encoding for its 1858-move flat policy. Our input trims AlphaZero's: no total move
count, and T = 2 by default. Run it: ``python -m pytest tests/minizero/test_chess_encoding.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess
import numpy as np

POLICY_PLANES = 73
ACTION_SIZE = 64 * POLICY_PLANES  # 4672
PLANES_PER_STEP = 14
CONSTANT_PLANES = 7
DEFAULT_HISTORY = 2
FIFTY_MOVE_SCALE = 100.0

# (file, rank) steps, in the order the planes use them.
QUEEN_DIRECTIONS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))
KNIGHT_STEPS = ((1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2))
UNDERPROMOTIONS = (chess.KNIGHT, chess.BISHOP, chess.ROOK)
PIECE_ORDER = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)


def plane_count(history: int) -> int:
    """Input planes for ``history`` positions: 14 per position plus 7."""
    return PLANES_PER_STEP * history + CONSTANT_PLANES


def history_of(planes: int) -> int | None:
    """T of a network that reads ``planes`` input planes (14 T + 7); None if no T fits."""
    history, rest = divmod(planes - CONSTANT_PLANES, PLANES_PER_STEP)
    return history if history >= 1 and not rest else None


def fifty_move_plane(history: int) -> int:
    """Index of the fifty-move-counter plane (the only input plane that is not 0/1)."""
    return PLANES_PER_STEP * history + 5


def _build_tables() -> tuple[dict[tuple[int, int, int | None], int], np.ndarray]:
    """(from, to, underpromotion piece or None) -> index, and index -> (from, to, piece or 0),
    -1 where no move of any piece can have that index (off the board)."""
    to_index: dict[tuple[int, int, int | None], int] = {}
    moves = np.full((ACTION_SIZE, 3), -1, dtype=np.int16)
    for square in range(64):
        file, rank = square % 8, square // 8

        def add(plane: int, to_file: int, to_rank: int, piece: int | None = None,
                square: int = square) -> None:
            if 0 <= to_file < 8 and 0 <= to_rank < 8:
                index = square * POLICY_PLANES + plane
                target = to_rank * 8 + to_file
                to_index[(square, target, piece)] = index
                moves[index] = (square, target, piece or 0)

        for direction, (step_file, step_rank) in enumerate(QUEEN_DIRECTIONS):
            for distance in range(1, 8):
                add(7 * direction + distance - 1, file + step_file * distance,
                    rank + step_rank * distance)
        for knight, (step_file, step_rank) in enumerate(KNIGHT_STEPS):
            add(56 + knight, file + step_file, rank + step_rank)
        if rank == 6:  # underpromotions only from the seventh rank, in the mover's view
            for piece_slot, piece in enumerate(UNDERPROMOTIONS):
                for way, step_file in enumerate((-1, 0, 1)):
                    add(64 + 3 * piece_slot + way, file + step_file, 7, piece)
    return to_index, moves


MOVE_TO_INDEX, INDEX_TO_MOVE = _build_tables()


def _build_file_mirror() -> np.ndarray:
    """index -> the index of the same move mirrored a-file <-> h-file (an involution; indices
    that leave the board map to themselves)."""
    mirror = np.arange(ACTION_SIZE)
    for index, (source, target, piece) in enumerate(INDEX_TO_MOVE):
        if source >= 0:  # square ^ 7 mirrors the file of a square numbered 8 rank + file
            mirror[index] = MOVE_TO_INDEX[(int(source) ^ 7, int(target) ^ 7, int(piece) or None)]
    return mirror


# Chess without castling is symmetric under mirroring the files, so a position without castling
# rights and its mirror image are one training sample seen twice (chessgame/training.py).
FILE_MIRROR = _build_file_mirror()


def move_to_index(move: chess.Move, turn: chess.Color) -> int:
    """The policy index of ``move`` played by ``turn`` (queen promotions as queen-like moves).

    >>> move_to_index(chess.Move.from_uci("e2e4"), chess.WHITE)
    877
    >>> move_to_index(chess.Move.from_uci("e7e5"), chess.BLACK)
    877
    """
    source, target = move.from_square, move.to_square
    if turn == chess.BLACK:
        source, target = chess.square_mirror(source), chess.square_mirror(target)
    piece = move.promotion if move.promotion in UNDERPROMOTIONS else None
    try:
        return MOVE_TO_INDEX[(source, target, piece)]
    except KeyError:
        raise ValueError(f"move {move.uci()} has no index in the 8x8x73 map") from None


def index_to_move(index: int, board: chess.Board) -> chess.Move:
    """The move of ``board``'s side to move that ``index`` stands for (maybe illegal).

    A queen-like move of a pawn onto the last rank is a queen promotion. ValueError for an
    index outside 0..4671 or one that leaves the board.
    """
    if not 0 <= index < ACTION_SIZE:
        raise ValueError(f"action {index} is outside the policy map 0..{ACTION_SIZE - 1}")
    source, target, piece = (int(value) for value in INDEX_TO_MOVE[index])
    if source < 0:
        raise ValueError(f"action {index} leaves the board")
    if board.turn == chess.BLACK:
        source, target = chess.square_mirror(source), chess.square_mirror(target)
    promotion = piece or None
    if (promotion is None and chess.square_rank(target) in (0, 7)
            and board.piece_type_at(source) == chess.PAWN):
        promotion = chess.QUEEN
    return chess.Move(source, target, promotion)


def legal_indices(board: chess.Board) -> list[int]:
    """Policy indices of the legal moves, sorted."""
    return sorted(move_to_index(move, board.turn) for move in board.legal_moves)


def legal_mask(board: chess.Board) -> np.ndarray:
    """(4672,) bool: True exactly at the legal moves' indices."""
    mask = np.zeros(ACTION_SIZE, dtype=bool)
    mask[legal_indices(board)] = True
    return mask


def _piece_bitboards(board: chess.Board, us: chess.Color) -> list[int]:
    """12 bitboards, own pieces then the opponent's, ranks mirrored when ``us`` is Black."""
    boards = [board.pieces_mask(piece, colour) for colour in (us, not us) for piece in PIECE_ORDER]
    if us == chess.BLACK:
        boards = [chess.flip_vertical(bitboard) for bitboard in boards]
    return boards


def _unpack(bitboards: Sequence[int]) -> np.ndarray:
    """(len, 64) float32 bits of 64-bit bitboards, square a1 first."""
    words = np.array(bitboards, dtype="<u8")
    return np.unpackbits(words.view(np.uint8), bitorder="little").reshape(
        len(bitboards), 64).astype(np.float32)


def encode_planes(boards: Sequence[chess.Board | None], repetitions: Sequence[int],
                  history: int = DEFAULT_HISTORY) -> np.ndarray:
    """The input planes (see the module docstring) of ``boards[0]``, the position to encode.

    ``boards[t]`` is the position t plies earlier (None or missing: unknown, before the game
    or the FEN began) and ``repetitions[t]`` how often it occurred before (missing: 0). Unknown
    steps repeat the earliest known position. Only ``boards[0]``'s side to move, castling rights
    and clock are read for the constant planes.
    """
    board = boards[0]
    if board is None:
        raise ValueError("encode_planes needs the current position")
    us = board.turn
    bitboards: list[int] = []
    past, count = board, 0
    for step in range(history):
        if step < len(boards) and boards[step] is not None:
            past = boards[step]
            count = repetitions[step] if step < len(repetitions) else 0
        bitboards.extend(_piece_bitboards(past, us))
        bitboards.extend([chess.BB_ALL if count >= 1 else 0, chess.BB_ALL if count >= 2 else 0])
    planes = np.empty((plane_count(history), 64), dtype=np.float32)
    planes[:PLANES_PER_STEP * history] = _unpack(bitboards)
    them = not us
    constants = (
        1.0 if us == chess.WHITE else 0.0,
        float(board.has_kingside_castling_rights(us)),
        float(board.has_queenside_castling_rights(us)),
        float(board.has_kingside_castling_rights(them)),
        float(board.has_queenside_castling_rights(them)),
        board.halfmove_clock / FIFTY_MOVE_SCALE,
        1.0,
    )
    planes[PLANES_PER_STEP * history:] = np.array(constants, dtype=np.float32)[:, None]
    return planes.reshape(-1, 8, 8)


def encode_board(board: chess.Board, history: int = DEFAULT_HISTORY) -> np.ndarray:
    """The planes of a python-chess board, its history taken from its move stack."""
    boards: list[chess.Board | None] = []
    repetitions = []
    replay = board.copy()
    for _ in range(history):
        boards.append(replay.copy(stack=False))
        repetitions.append(_earlier_occurrences(replay))
        if not replay.move_stack:
            break
        replay.pop()
    return encode_planes(boards, repetitions, history)


def _earlier_occurrences(board: chess.Board) -> int:
    """How often the current position occurred earlier in ``board``'s move stack."""
    key = board._transposition_key()
    count = 0
    replay = board.copy()
    while replay.move_stack:
        move = replay.pop()
        if replay.is_irreversible(move):
            break
        if replay._transposition_key() == key:
            count += 1
    return count


# ----------------------------------------------------------------------------- compact storage


def pack_planes(planes: np.ndarray, history: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, C, 8, 8) float32 planes -> (N, C * 8) uint8 bits and (N,) uint8 halfmove clocks.

    Every plane but the fifty-move counter is 0/1, so a position costs 8 C + 1 bytes.
    """
    fifty = fifty_move_plane(history)
    bits = np.packbits(planes.reshape(len(planes), -1) > 0.5, axis=1)
    clocks = np.clip(np.rint(planes[:, fifty, 0, 0] * FIFTY_MOVE_SCALE), 0, 255).astype(np.uint8)
    return bits, clocks


def unpack_planes(bits: np.ndarray, clocks: np.ndarray, history: int) -> np.ndarray:
    """The inverse of `pack_planes`: (N, C, 8, 8) float32."""
    channels = plane_count(history)
    planes = np.unpackbits(bits, axis=1, count=channels * 64).astype(np.float32)
    planes = planes.reshape(len(bits), channels, 8, 8)
    planes[:, fifty_move_plane(history)] = (clocks.astype(np.float32) / FIFTY_MOVE_SCALE
                                            )[:, None, None]
    return planes


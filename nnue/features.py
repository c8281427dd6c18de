"""Input features of an NNUE network, and how a move changes them.

Idea: the network's first layer sees a sparse binary vector, "this piece stands on this square",
once per *perspective* (White's and Black's), each perspective seeing the board from its own side
(Black's view is the board with ranks mirrored, so its pieces are "own" pieces on ranks 1-2). A
move changes only a handful of features, so the first layer's output (the accumulator) can be
updated by adding and subtracting a few weight rows instead of being recomputed.

Three feature sets:

* ``piece-square`` (default, 768 = 2 colours x 6 piece types x 64 squares): own/their piece of
  each type on each square, kings included. A move never forces a refresh.
* ``halfkp`` (41,024 = 64 king squares x 641): Stockfish 12's HalfKP, "own king on k, non-king
  piece p on square s". Each king square owns a block of 641 = 1 + 10 x 64 indices; index 0 of
  each block is never used (it is Shogi's BONA_PIECE_ZERO, kept so the sizes match Stockfish).
  When a perspective's own king moves, all its features change: that perspective is refreshed.
* ``king-buckets`` (6,144 = 8 king buckets x 768): piece-square features, kings included, one
  block per *bucket* of own-king squares (the square as its own side sees it): a1-c1, d1-e1,
  f1, g1-h1 (castled long, at home, half-castled, castled short), a2-d2, e2-h2, and the rest of
  the board split into the a-d and e-h halves. The net sees roughly where its king is (HalfKP's
  strength) with 7x fewer weights than HalfKP, so a million positions can train it and the file
  stays small (3 MB at L1 = 256). A perspective is refreshed only when its own king changes
  bucket; other king moves are two-feature deltas. (Stockfish's later HalfKAv2_hm also mirrors
  the board left-right; we do not, so a piece-square net is exactly a king-buckets net whose
  buckets are all equal, the start ``nnue train --init`` uses.)

Every set answers the same questions: ``feature_index`` (one feature), ``king_class`` (what of
the own king's square the features depend on: an own-king move that changes it refreshes that
perspective), ``active_features``, ``move_deltas`` and the vectorized ``batch_features``.

Reference: Yu Nasu, "Efficiently Updatable Neural-Network-based Evaluation Functions for Computer
Shogi" (2018); Stockfish 12 ``nnue/features/half_kp.cpp``; the nnue-pytorch docs (features).
Command: ``python -m pytest tests/nnue/test_nnue_features.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import chess
import numpy as np


@dataclass(frozen=True)
class FeatureSet:
    """A feature set: its name, input width and the most features active at once."""

    name: str
    num_features: int
    max_active: int  # per perspective: 32 pieces, or 30 non-king pieces (halfkp)
    king_refresh: bool  # an own-king move may change every feature of that perspective
    kings_are_features: bool = True  # False for halfkp: kings appear only through the blocks


# Own-king bucket of each square a1..h8, the square as its own side sees it (``king_class``).
KING_BUCKET_OF_SQUARE = (0, 0, 0, 1, 1, 2, 3, 3,  # first rank: long, home, half-castled, short
                         4, 4, 4, 4, 5, 5, 5, 5,  # second rank: queen's side, king's side
                         *(6, 6, 6, 6, 7, 7, 7, 7) * 6)  # ranks 3-8: queen's side, king's side
KING_BUCKETS = max(KING_BUCKET_OF_SQUARE) + 1
PIECE_SQUARE_BLOCK = 2 * 6 * 64  # own/their x 6 piece types x 64 squares

PIECE_SQUARE = FeatureSet("piece-square", PIECE_SQUARE_BLOCK, 32, king_refresh=False)
HALF_KP = FeatureSet("halfkp", 64 * (1 + 10 * 64), 30, king_refresh=True,
                     kings_are_features=False)
KING_BUCKETS_SET = FeatureSet("king-buckets", KING_BUCKETS * PIECE_SQUARE_BLOCK, 32,
                              king_refresh=True)
FEATURE_SETS = {feature_set.name: feature_set
                for feature_set in (PIECE_SQUARE, HALF_KP, KING_BUCKETS_SET)}
HALF_KP_BLOCK = 1 + 10 * 64  # indices per own-king square


def feature_set_named(name: str) -> FeatureSet:
    """The feature set called ``name``; ValueError listing the choices otherwise."""
    if name not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {name!r}: choose one of {sorted(FEATURE_SETS)}")
    return FEATURE_SETS[name]


def orient(square: int, perspective: chess.Color) -> int:
    """The square as ``perspective`` sees it: Black's view mirrors the ranks (a1 <-> a8)."""
    return square if perspective == chess.WHITE else square ^ 56


def king_class(feature_set: FeatureSet, perspective: chess.Color, king_square: int) -> int:
    """What ``perspective``'s features depend on of its own king's square.

    piece-square: nothing (0); halfkp: the square as its side sees it; king-buckets: its
    bucket. An own-king move that changes this value changes every feature of that perspective
    (refresh); one that keeps it is a plain delta.
    """
    if not feature_set.king_refresh:
        return 0
    oriented = orient(king_square, perspective)
    return oriented if feature_set is HALF_KP else KING_BUCKET_OF_SQUARE[oriented]


def feature_index(feature_set: FeatureSet, perspective: chess.Color, king_square: int,
                  square: int, piece_type: int, colour: chess.Color) -> int:
    """Index of "``colour``'s ``piece_type`` on ``square``" seen by ``perspective``.

    ``king_square`` is ``perspective``'s own king (unused by piece-square). Pieces are ordered
    own pawn, their pawn, own knight, their knight, ... as in Stockfish.
    """
    piece_index = 2 * (piece_type - 1) + (colour != perspective)
    if feature_set is PIECE_SQUARE:
        return piece_index * 64 + orient(square, perspective)
    if feature_set is HALF_KP:
        return orient(king_square, perspective) * HALF_KP_BLOCK + 1 + piece_index * 64 + orient(
            square, perspective)
    return (KING_BUCKET_OF_SQUARE[orient(king_square, perspective)] * PIECE_SQUARE_BLOCK
            + piece_index * 64 + orient(square, perspective))


def active_features(board: chess.Board, perspective: chess.Color,
                    feature_set: FeatureSet = PIECE_SQUARE) -> list[int]:
    """All active features of ``board`` for ``perspective`` (the direct enumeration)."""
    king_square = board.king(perspective)
    if feature_set.king_refresh and king_square is None:
        raise ValueError(f"{feature_set.name} needs both kings on the board: {board.fen()}")
    return [
        feature_index(feature_set, perspective, king_square or 0, square, piece.piece_type,
                      piece.color)
        for square, piece in board.piece_map().items()
        if feature_set.kings_are_features or piece.piece_type != chess.KING
    ]


@dataclass(frozen=True)
class PerspectiveDelta:
    """What one move does to one perspective's features."""

    added: tuple[int, ...]
    removed: tuple[int, ...]
    refresh: bool  # the own king changed its ``king_class``: recompute from scratch


def piece_changes(board: chess.Board, move: chess.Move
                  ) -> tuple[list[tuple[int, chess.Piece]], list[tuple[int, chess.Piece]]]:
    """(placed, lifted): the (square, piece) pairs that ``move`` puts on and takes off the board.

    Covers every move kind: quiet, capture, double push, en passant (the captured pawn is not on
    the target square), castling (king and rook both move; standard e1g1 and Chess960
    king-takes-rook encodings) and promotion with or without capture.
    """
    mover = board.piece_at(move.from_square)
    if mover is None:
        raise ValueError(f"no piece on {chess.square_name(move.from_square)} for move {move}")
    if board.is_castling(move):
        rank = chess.square_rank(move.from_square)
        kingside = board.is_kingside_castling(move)
        rook_from = (move.to_square if board.piece_type_at(move.to_square) == chess.ROOK
                     else chess.square(7 if kingside else 0, rank))
        king_to = chess.square(6 if kingside else 2, rank)
        rook_to = chess.square(5 if kingside else 3, rank)
        rook = chess.Piece(chess.ROOK, mover.color)
        return ([(king_to, mover), (rook_to, rook)],
                [(move.from_square, mover), (rook_from, rook)])
    lifted = [(move.from_square, mover)]
    captured = board.piece_at(move.to_square)
    if captured is not None:
        lifted.append((move.to_square, captured))
    elif board.is_en_passant(move):
        behind = move.to_square - 8 if mover.color == chess.WHITE else move.to_square + 8
        lifted.append((behind, chess.Piece(chess.PAWN, not mover.color)))
    placed_piece = chess.Piece(move.promotion, mover.color) if move.promotion else mover
    return [(move.to_square, placed_piece)], lifted


def move_deltas(board: chess.Board, move: chess.Move, feature_set: FeatureSet = PIECE_SQUARE
                ) -> dict[chess.Color, PerspectiveDelta]:
    """For each perspective, the features ``move`` adds and removes (computed before the push).

    A feature both lifted and placed (castling into a square just vacated cannot happen in
    standard chess, but Chess960 allows it) cancels out, so ``added`` and ``removed`` are exactly
    the set differences after - before and before - after.
    """
    placed, lifted = piece_changes(board, move)
    mover = board.piece_at(move.from_square)
    king_after = next((square for square, piece in placed if piece.piece_type == chess.KING),
                      None)
    deltas = {}
    for perspective in (chess.WHITE, chess.BLACK):
        king_square = board.king(perspective) or 0
        if (feature_set.king_refresh and mover.piece_type == chess.KING
                and mover.color == perspective and king_class(
                    feature_set, perspective, king_square) != king_class(
                        feature_set, perspective, king_after)):
            deltas[perspective] = PerspectiveDelta((), (), refresh=True)
            continue

        def indices(pairs: list[tuple[int, chess.Piece]], king: int = king_square,
                    side: chess.Color = perspective) -> set[int]:
            return {feature_index(feature_set, side, king, square, piece.piece_type, piece.color)
                    for square, piece in pairs
                    if feature_set.kings_are_features or piece.piece_type != chess.KING}

        added, removed = indices(placed), indices(lifted)
        deltas[perspective] = PerspectiveDelta(tuple(sorted(added - removed)),
                                               tuple(sorted(removed - added)), refresh=False)
    return deltas


def batch_features(pieces: np.ndarray, side_to_move: np.ndarray,
                   feature_set: FeatureSet = PIECE_SQUARE) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized features of many positions, for training and batched evaluation.

    ``pieces``: (B, 64) uint8 codes (0 empty, 1..6 white PNBRQK, 7..12 black), ``side_to_move``:
    (B,) 1 white / 0 black. Returns (stm, nstm), each (B, max_active) int64: the features of the
    side to move's perspective and of the opponent's, padded with ``num_features`` (the index of
    a zero row). Positions with more than ``max_active`` features raise ValueError.
    """
    pieces = np.asarray(pieces, dtype=np.int64)
    stm_white = np.asarray(side_to_move, dtype=bool)[:, None]  # (B, 1)
    occupied = pieces > 0
    piece_type = (pieces - 1) % 6 + 1  # (B, 64) 1..6 where occupied
    piece_white = pieces <= 6
    squares = np.arange(64)[None, :]
    result = []
    for perspective_white in (stm_white, ~stm_white):
        flip = np.where(perspective_white, 0, 56)  # (B, 1)
        piece_index = 2 * (piece_type - 1) + (piece_white != perspective_white)
        oriented = squares ^ flip
        valid = occupied
        if feature_set.king_refresh:
            own_king_code = np.where(perspective_white, 6, 12)
            has_king = (pieces == own_king_code).any(axis=1)
            if not has_king.all():
                raise ValueError(f"{feature_set.name} needs both kings on the board")
            king_square = np.argmax(pieces == own_king_code, axis=1)[:, None] ^ flip  # (B, 1)
        if feature_set is HALF_KP:
            index = king_square * HALF_KP_BLOCK + 1 + piece_index * 64 + oriented
            valid = occupied & (piece_type != chess.KING)
        elif feature_set.king_refresh:  # king-buckets
            bucket = np.asarray(KING_BUCKET_OF_SQUARE)[king_square]  # (B, 1)
            index = bucket * PIECE_SQUARE_BLOCK + piece_index * 64 + oriented
        else:
            index = piece_index * 64 + oriented
        index = np.sort(np.where(valid, index, feature_set.num_features), axis=1)
        if valid.sum(axis=1).max(initial=0) > feature_set.max_active:
            raise ValueError(f"a position has more than {feature_set.max_active} pieces")
        result.append(index[:, : feature_set.max_active])
    return result[0], result[1]

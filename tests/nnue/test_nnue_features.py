"""Feature lists against direct enumeration of the board, for every move kind and both sets."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest

from nnue.data import encode_board
from nnue.features import (
    FEATURE_SETS,
    HALF_KP,
    HALF_KP_BLOCK,
    KING_BUCKETS_SET,
    PIECE_SQUARE,
    active_features,
    batch_features,
    feature_index,
    feature_set_named,
    king_class,
    move_deltas,
)

SETS = [PIECE_SQUARE, HALF_KP, KING_BUCKETS_SET]

# One position per move kind: (FEN, move in UCI, kind)
MOVE_KINDS = [
    ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "g1f3", "quiet"),
    ("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", "e2e4", "double push"),
    ("rnbqkbnr/ppp1pppp/8/3p4/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2", "e4d5", "capture"),
    ("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3", "e5f6", "en passant"),
    ("rnbqkbnr/pppppppp/8/8/3P4/8/PPP1PPPP/RNBQKBNR b KQkq - 0 1", "e7e5", "black double"),
    ("rnbqkbnr/ppp1pppp/8/8/2Pp4/4P3/PP1P1PPP/RNBQKBNR b KQkq c3 0 3", "d4c3", "black e.p."),
    ("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", "e1g1", "castle short"),
    ("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1", "e1c1", "castle long"),
    ("r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 0 1", "e8c8", "black castle long"),
    ("8/4P3/8/8/8/8/k7/4K3 w - - 0 1", "e7e8q", "promotion"),
    ("3r4/4P3/8/8/8/8/k7/4K3 w - - 0 1", "e7d8n", "promotion capture"),
    ("4k3/8/8/8/8/8/p7/1R2K3 b - - 0 1", "a2b1r", "black promotion capture"),
    ("4k3/8/8/8/8/8/8/4K3 w - - 0 1", "e1e2", "king move"),
    ("4k3/8/8/8/8/8/8/4K2r w - - 0 1", "e1f2", "king move"),
    ("4k3/8/8/8/8/8/8/4Kr2 w - - 0 1", "e1f1", "king capture"),
    ("4k3/8/8/8/8/8/8/4K3 w - - 0 1", "e1d1", "king move inside a bucket"),
    ("4k3/8/8/8/8/5K2/8/8 w - - 0 1", "f3g3", "king move inside a bucket"),
    ("4k3/8/8/8/8/8/8/5K2 w - - 0 1", "f1g1", "king changes bucket on the back rank"),
    ("4k3/8/8/8/8/8/8/5K2 w - - 0 1", "f1f2", "king changes bucket"),
    ("4k3/8/8/8/3K4/8/8/8 w - - 0 1", "d4e4", "king crosses to the king's side"),
]


def check_move(board: chess.Board, move: chess.Move, feature_set) -> None:
    """The move's deltas are exactly the set differences of the enumerations."""
    deltas = move_deltas(board, move, feature_set)
    before = {side: set(active_features(board, side, feature_set)) for side in chess.COLORS}
    after_board = board.copy(stack=False)
    after_board.push(move)
    for side in chess.COLORS:
        after = set(active_features(after_board, side, feature_set))
        delta = deltas[side]
        king_moved = board.piece_type_at(move.from_square) == chess.KING and board.turn == side
        class_changed = king_class(feature_set, side, board.king(side)) != king_class(
            feature_set, side, after_board.king(side))
        assert delta.refresh == (feature_set.king_refresh and king_moved and class_changed)
        if feature_set is HALF_KP:
            assert delta.refresh == king_moved
        if not delta.refresh:
            assert set(delta.added) == after - before[side], (board.fen(), move, side)
            assert set(delta.removed) == before[side] - after, (board.fen(), move, side)
            assert len(delta.added) == len(set(delta.added))


@pytest.mark.parametrize("feature_set", SETS, ids=lambda s: s.name)
@pytest.mark.parametrize("fen,uci,kind", MOVE_KINDS, ids=[f"{k}-{u}" for _, u, k in MOVE_KINDS])
def test_every_move_kind(feature_set, fen: str, uci: str, kind: str) -> None:
    board = chess.Board(fen)
    move = chess.Move.from_uci(uci)
    assert move in board.legal_moves, kind
    check_move(board, move, feature_set)


@pytest.mark.parametrize("feature_set", SETS, ids=lambda s: s.name)
def test_random_games(feature_set) -> None:
    rng = random.Random(5)
    kinds = set()
    for _ in range(6):
        board = chess.Board()
        while not board.is_game_over() and board.ply() < 300:
            legal = list(board.legal_moves)
            castles = [m for m in legal if board.is_castling(m)]
            move = rng.choice(castles if castles and rng.random() < 0.5 else legal)
            kinds.add("castle" if board.is_castling(move) else "ep" if board.is_en_passant(move)
                      else "promo" if move.promotion else "capture" if board.is_capture(move)
                      else "quiet")
            check_move(board, move, feature_set)
            board.push(move)
    assert {"castle", "capture", "quiet", "promo"} <= kinds


def test_sizes_and_ranges() -> None:
    assert PIECE_SQUARE.num_features == 768
    assert HALF_KP.num_features == 41_024
    assert KING_BUCKETS_SET.num_features == 8 * 768
    board = chess.Board()
    for feature_set in SETS:
        for side in chess.COLORS:
            features = active_features(board, side, feature_set)
            assert len(features) == (30 if feature_set is HALF_KP else 32)
            assert all(0 <= f < feature_set.num_features for f in features)
    # The two perspectives of the start position see the same thing.
    for feature_set in SETS:
        assert sorted(active_features(board, chess.WHITE, feature_set)) == sorted(
            active_features(board, chess.BLACK, feature_set))


def test_unknown_feature_set() -> None:
    with pytest.raises(ValueError, match="unknown feature set 'halfka'"):
        feature_set_named("halfka")
    assert feature_set_named("halfkp") is FEATURE_SETS["halfkp"]


@pytest.mark.parametrize("feature_set", SETS, ids=lambda s: s.name)
def test_batch_features_match_enumeration(feature_set) -> None:
    rng = random.Random(1)
    boards = []
    board = chess.Board()
    while len(boards) < 200:
        if board.is_game_over():
            board = chess.Board()
        board.push(rng.choice(list(board.legal_moves)))
        boards.append(board.copy(stack=False))
    pieces = np.stack([encode_board(b) for b in boards])
    turns = np.array([int(b.turn) for b in boards])
    stm, nstm = batch_features(pieces, turns, feature_set)
    for row, b in enumerate(boards):
        for got, side in ((stm[row], b.turn), (nstm[row], not b.turn)):
            real = got[got < feature_set.num_features]
            assert sorted(real.tolist()) == sorted(active_features(b, side, feature_set))


def test_king_buckets() -> None:
    """The eight buckets are where the module says, seen from each side's own back rank, and a
    king-buckets feature is its bucket's block plus the piece-square feature."""
    buckets = {name: king_class(KING_BUCKETS_SET, chess.WHITE, chess.parse_square(name))
               for name in ("a1", "c1", "d1", "e1", "f1", "g1", "h1", "b2", "g2", "c5", "f8")}
    assert buckets == {"a1": 0, "c1": 0, "d1": 1, "e1": 1, "f1": 2, "g1": 3, "h1": 3, "b2": 4,
                       "g2": 5, "c5": 6, "f8": 7}
    assert king_class(KING_BUCKETS_SET, chess.BLACK, chess.G8) == 3
    board = chess.Board("r1bq1rk1/pp2bppp/2n1pn2/3p4/2PP4/2N1PN2/PP2BPPP/R2QKB1R w KQ - 0 8")
    for side in chess.COLORS:
        bucket = king_class(KING_BUCKETS_SET, side, board.king(side))
        assert sorted(active_features(board, side, KING_BUCKETS_SET)) == sorted(
            bucket * 768 + feature for feature in active_features(board, side, PIECE_SQUARE))


def documented_bucket(square: int) -> int:
    """The king bucket of an own-king square (its side's view), from the module docstring's
    words: a1-c1, d1-e1, f1, g1-h1, a2-d2, e2-h2, then the a-d and e-h halves of the rest."""
    file, rank = chess.square_file(square), chess.square_rank(square)
    if rank == 0:
        return 0 if file <= 2 else 1 if file <= 4 else 2 if file == 5 else 3
    if rank == 1:
        return 4 if file <= 3 else 5
    return 6 if file <= 3 else 7


def test_every_king_square_is_in_its_documented_bucket() -> None:
    for square in chess.SQUARES:
        assert king_class(KING_BUCKETS_SET, chess.WHITE, square) == documented_bucket(square), \
            chess.square_name(square)
        # Black sees its own back rank as rank 1: the ranks are mirrored, not the files.
        mirrored = chess.square_mirror(square)
        assert king_class(KING_BUCKETS_SET, chess.BLACK, mirrored) == documented_bucket(square)
        assert king_class(HALF_KP, chess.BLACK, mirrored) == square
        assert king_class(PIECE_SQUARE, chess.WHITE, square) == 0


def test_feature_indices_follow_the_documented_layout() -> None:
    # Pieces: own pawn 0, their pawn 1, own knight 2, ... own king 10, their king 11; squares
    # in the perspective's view (ranks mirrored for Black).
    white, black = chess.WHITE, chess.BLACK
    assert feature_index(PIECE_SQUARE, white, 0, chess.G1, chess.KNIGHT, white) == 2 * 64 + 6
    assert feature_index(PIECE_SQUARE, white, 0, chess.D8, chess.QUEEN, black) == 9 * 64 + 59
    assert feature_index(PIECE_SQUARE, black, 0, chess.D8, chess.QUEEN, black) == 8 * 64 + 3
    assert feature_index(PIECE_SQUARE, black, 0, chess.E1, chess.KING, white) == 11 * 64 + 60
    # HalfKP: a block of 1 + 10 x 64 per own-king square, its index 0 unused; no king features.
    assert HALF_KP_BLOCK == 641 and HALF_KP.num_features == 64 * 641
    assert feature_index(HALF_KP, white, chess.G1, chess.E4, chess.PAWN, white) == 6 * 641 + 1 + 28
    assert feature_index(HALF_KP, black, chess.G8, chess.E5, chess.ROOK, white) == (
        6 * 641 + 1 + 7 * 64 + 28)  # their rook, e5 seen as e4
    # King buckets: the bucket's block of 768 plus the piece-square feature.
    assert feature_index(KING_BUCKETS_SET, white, chess.C1, chess.D2, chess.PAWN, black) == (
        0 * 768 + 64 + 11)
    assert feature_index(KING_BUCKETS_SET, black, chess.E2, chess.D2, chess.PAWN, black) == (
        7 * 768 + 0 + 51)

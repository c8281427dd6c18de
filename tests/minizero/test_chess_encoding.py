"""The 8x8x73 policy map and the input planes, against python-chess as the oracle."""

from __future__ import annotations

import random

import chess
import numpy as np
import pytest

from minizero.chessgame import encoding
from minizero.chessgame.game import ChessGame, ChessState, from_spec

# Perft positions (chessprogramming.org "Perft Results"): castling both ways, en passant,
# promotions and underpromotions for both colours; and their colour-flipped twins.
PERFT_FENS = [
    chess.STARTING_FEN,
    "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1",
    "8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1",
    "r3k2r/Pppp1ppp/1b3nbN/nP6/BBP1P3/q4N2/Pp1P2PP/R2Q1RK1 w kq - 0 1",
    "rnbq1k1r/pp1Pbppp/2p5/8/2B5/8/PPP1NnPP/RNBQK2R w KQ - 1 8",
    "n1n5/PPPk4/8/8/8/8/4Kppp/5N1N b - - 0 1",
    "n1n5/PPPk4/8/8/8/8/4Kppp/5N1N w - - 0 1",
    "rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3",  # en passant
]


def positions(count_per_fen: int = 25, seed: int = 0) -> list[chess.Board]:
    """The perft positions, their mirrors, and positions of random games from each."""
    rng = random.Random(seed)
    boards = []
    for fen in PERFT_FENS:
        for start in (chess.Board(fen), chess.Board(fen).mirror()):
            board = start.copy()
            boards.append(board.copy())
            for _ in range(count_per_fen):
                moves = list(board.legal_moves)
                if not moves:
                    break
                board.push(rng.choice(moves))
                boards.append(board.copy())
    return boards


def test_table_has_4672_actions_and_known_indices() -> None:
    assert encoding.ACTION_SIZE == 4672
    assert encoding.move_to_index(chess.Move.from_uci("e2e4"), chess.WHITE) == 12 * 73 + 1
    assert encoding.move_to_index(chess.Move.from_uci("g1f3"), chess.WHITE) == 6 * 73 + 63
    # a queen promotion is the queen-like step; an underpromotion has its own plane
    assert (encoding.move_to_index(chess.Move.from_uci("a7a8q"), chess.WHITE)
            == encoding.move_to_index(chess.Move.from_uci("a7a8"), chess.WHITE))
    assert encoding.move_to_index(chess.Move.from_uci("a7b8n"), chess.WHITE) == 48 * 73 + 66
    on_board = int((encoding.INDEX_TO_MOVE[:, 0] >= 0).sum())
    assert on_board == len(encoding.MOVE_TO_INDEX)


def test_queen_knight_and_underpromotion_planes_are_where_the_docstring_puts_them() -> None:
    def index(uci: str, turn: chess.Color = chess.WHITE) -> int:
        return encoding.move_to_index(chess.Move.from_uci(uci), turn)

    d4 = chess.D4
    # Queen-like: plane 7 x direction + distance - 1, directions N, NE, E, SE, S, SW, W, NW.
    assert index("d4d7") == d4 * 73 + 2
    assert index("a1h8") == chess.A1 * 73 + 7 * 1 + 6
    assert index("d4a4") == d4 * 73 + 7 * 6 + 2
    assert index("d4a7") == d4 * 73 + 7 * 7 + 2
    # Knights: planes 56.. in the order (+1,+2) (+2,+1) (+2,-1) (+1,-2) (-1,-2) (-2,-1) (-2,+1)
    # (-1,+2) of (file, rank) steps.
    for plane, target in enumerate(("e6", "f5", "f3", "e2", "c2", "b3", "b5", "c6")):
        assert index("d4" + target) == d4 * 73 + 56 + plane, target
    # Underpromotions: 64 + 3 x piece (knight, bishop, rook) + way (left, straight, right).
    for piece_slot, piece in enumerate("nbr"):
        for way, target in enumerate(("d8", "e8", "f8")):
            assert index("e7" + target + piece) == chess.E7 * 73 + 64 + 3 * piece_slot + way
            # Black's pawn on e2 is on e7 in its own view; files are not mirrored.
            black = "e2" + target[0] + "1" + piece
            assert index(black, chess.BLACK) == chess.E7 * 73 + 64 + 3 * piece_slot + way


def test_every_legal_move_maps_to_one_index_and_back() -> None:
    seen_kinds = set()
    for board in positions():
        legal = list(board.legal_moves)
        indices = [encoding.move_to_index(move, board.turn) for move in legal]
        assert len(set(indices)) == len(legal)
        for move, index in zip(legal, indices):
            assert encoding.index_to_move(index, board) == move
            if board.is_castling(move):
                seen_kinds.add(("castle", board.turn, board.is_kingside_castling(move)))
            if board.is_en_passant(move):
                seen_kinds.add(("ep", board.turn))
            if move.promotion:
                seen_kinds.add(("promotion", board.turn, move.promotion))
        mask = encoding.legal_mask(board)
        assert mask.sum() == len(legal)
        for index in np.flatnonzero(~mask)[::37]:  # illegal indices never decode to a legal move
            if encoding.INDEX_TO_MOVE[index, 0] >= 0:
                assert encoding.index_to_move(int(index), board) not in legal
    for colour in (chess.WHITE, chess.BLACK):
        assert ("castle", colour, True) in seen_kinds and ("castle", colour, False) in seen_kinds
        assert ("ep", colour) in seen_kinds
        for piece in (chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN):
            assert ("promotion", colour, piece) in seen_kinds


def test_bad_indices_are_refused() -> None:
    board = chess.Board()
    with pytest.raises(ValueError, match="outside the policy map"):
        encoding.index_to_move(4672, board)
    off_board = int(np.flatnonzero(encoding.INDEX_TO_MOVE[:, 0] < 0)[0])
    with pytest.raises(ValueError, match="leaves the board"):
        encoding.index_to_move(off_board, board)
    game = ChessGame()
    with pytest.raises(ValueError, match="not a legal move"):
        game.apply(game.initial_state(), 0)


def _mirrored_game(board: chess.Board) -> chess.Board:
    twin = board.root().mirror()
    for move in board.move_stack:
        twin.push(chess.Move(chess.square_mirror(move.from_square),
                             chess.square_mirror(move.to_square), move.promotion))
    return twin


@pytest.mark.parametrize("history", [1, 2, 4])
def test_black_to_move_is_the_colour_flipped_white_encoding(history: int) -> None:
    colour_plane = encoding.PLANES_PER_STEP * history
    for board in positions(12, seed=history):
        twin = _mirrored_game(board)
        planes, twin_planes = (encoding.encode_board(b, history) for b in (board, twin))
        assert planes.shape == (encoding.plane_count(history), 8, 8)
        assert encoding.history_of(len(planes)) == history
        assert planes[colour_plane, 0, 0] == (board.turn == chess.WHITE)
        same = np.ones(len(planes), dtype=bool)
        same[colour_plane] = False
        np.testing.assert_array_equal(planes[same], twin_planes[same])
        np.testing.assert_array_equal(planes[colour_plane], 1 - twin_planes[colour_plane])
        for move in board.legal_moves:  # the policy map flips with the board
            mirrored = chess.Move(chess.square_mirror(move.from_square),
                                  chess.square_mirror(move.to_square), move.promotion)
            assert (encoding.move_to_index(move, board.turn)
                    == encoding.move_to_index(mirrored, twin.turn))


def test_no_history_fits_a_plane_count_that_is_not_14_t_plus_7() -> None:
    assert [encoding.history_of(planes) for planes in (7, 20, 22, 36, 0)] == [None] * 5


def test_planes_say_what_the_docstring_says() -> None:
    board = chess.Board("r3k2r/8/8/8/8/8/8/R3K3 b Qk - 7 30")
    planes = encoding.encode_board(board, history=1)
    # Black to move: own king (plane 5) on e8, seen from Black's side as rank 0, file e
    assert planes[5, 0, 4] == 1 and planes[5].sum() == 1
    assert planes[11, 7, 4] == 1  # White's king on e1 is the far rank for Black
    assert planes[14, 0, 0] == 0  # colour plane: Black
    assert planes[15, 0, 0] == 1 and planes[16, 0, 0] == 0  # own (Black) castling: king side
    assert planes[17, 0, 0] == 0 and planes[18, 0, 0] == 1  # White: queen side only
    assert planes[19, 3, 3] == pytest.approx(0.07)
    assert planes[20].min() == 1


def test_unknown_history_repeats_the_earliest_known_position() -> None:
    step = encoding.PLANES_PER_STEP
    board = chess.Board(PERFT_FENS[1])
    bare = encoding.encode_board(board, history=3)
    for past in (1, 2):  # nothing before the FEN: both earlier steps repeat it
        np.testing.assert_array_equal(bare[past * step:(past + 1) * step], bare[:step])
    board.push(next(iter(board.legal_moves)))
    after = encoding.encode_board(board, history=3)
    fen_position = encoding.encode_board(chess.Board(PERFT_FENS[1]).mirror(), history=1)
    assert not np.array_equal(after[step:2 * step], after[:step])  # step 1: the FEN position
    np.testing.assert_array_equal(after[2 * step:3 * step], after[step:2 * step])
    assert after[step:2 * step].sum() == fen_position[:step].sum()


def test_shipped_net_judges_a_bare_fen_like_the_position_reached_by_moves() -> None:
    """The training data holds positions with their history only; with unknown steps filled,
    the shipped net's value of a position given as a bare FEN stays near its value of the same
    position reached by moves (with empty steps it called them all lost, about -0.9)."""
    from minizero.chessgame.puct_engine import SHIPPED_NET
    from minizero.nn.network import load_network

    network = load_network(str(SHIPPED_NET))
    with_moves, bare, legal = [], [], []
    for board in positions(6, seed=5):
        if board.move_stack and not board.is_game_over():
            with_moves.append(encoding.encode_board(board))
            bare.append(encoding.encode_board(chess.Board(board.fen())))
            legal.append(encoding.legal_mask(board))
    _, values = network.predict(np.stack(with_moves), np.stack(legal))
    _, bare_values = network.predict(np.stack(bare), np.stack(legal))
    assert len(values) > 50
    assert np.abs(values - bare_values).mean() < 0.15


def test_state_chain_encodes_like_the_move_stack_and_counts_repetitions() -> None:
    game = ChessGame(history=3)
    board = chess.Board()
    state = game.initial_state()
    shuffle = ["g1f3", "g8f6", "f3g1", "f6g8"] * 2
    for uci in ["e2e4", "e7e5", *shuffle]:
        move = chess.Move.from_uci(uci)
        assert game.terminal_value(state) is None
        state = game.apply(state, encoding.move_to_index(move, board.turn))
        board.push(move)
        np.testing.assert_array_equal(game.encode(state), encoding.encode_board(board, 3))
        assert (state.repetitions >= 2) == board.is_repetition(3)
    assert game.terminal_value(state) == 0.0  # threefold repetition
    assert game.legal_actions(state) == []
    rebuilt = ChessState.from_board(board)
    np.testing.assert_array_equal(game.encode(rebuilt), game.encode(state))


def test_checkmate_cap_and_options() -> None:
    game = from_spec("history=1,max_plies=3")
    state = game.initial_state()
    for uci in ["f2f3", "e7e5", "g2g4"]:
        state = game.apply(state, encoding.move_to_index(chess.Move.from_uci(uci),
                                                         state.board.turn))
    assert game.terminal_value(state) == 0.0  # the game-length cap
    mate = ChessState.from_board(chess.Board(
        "rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3"))
    assert ChessGame().terminal_value(mate) == -1.0
    with pytest.raises(ValueError, match="unknown chess option"):
        from_spec("depth=3")
    with pytest.raises(ValueError, match="history must be"):
        from_spec("history=0")


def test_pack_unpack_round_trip() -> None:
    boards = positions(5)
    planes = np.stack([encoding.encode_board(board, 2) for board in boards])
    bits, clocks = encoding.pack_planes(planes, 2)
    assert bits.shape == (len(boards), encoding.plane_count(2) * 8)
    np.testing.assert_allclose(encoding.unpack_planes(bits, clocks, 2), planes, atol=1e-6)


def test_file_mirror_is_python_chess_flip_horizontal_without_castling() -> None:
    checked = 0
    for board in positions(12, seed=7):
        if board.castling_rights or not board.move_stack:
            continue
        previous = board.copy()
        previous.pop()
        boards = [board.copy(stack=False), previous.copy(stack=False)]
        twins = [b.transform(chess.flip_horizontal) for b in boards]
        planes = encoding.encode_planes(boards, [0, 0])
        np.testing.assert_array_equal(planes[..., ::-1], encoding.encode_planes(twins, [0, 0]))
        np.testing.assert_array_equal(encoding.legal_mask(boards[0])[encoding.FILE_MIRROR],
                                      encoding.legal_mask(twins[0]))
        for move in board.legal_moves:
            twin_move = chess.Move(move.from_square ^ 7, move.to_square ^ 7,  # file mirror
                                   move.promotion)
            assert twin_move in twins[0].legal_moves
            assert (encoding.FILE_MIRROR[encoding.move_to_index(move, board.turn)]
                    == encoding.move_to_index(twin_move, board.turn))
        checked += 1
    assert checked > 50
    assert (encoding.FILE_MIRROR[encoding.FILE_MIRROR] == np.arange(encoding.ACTION_SIZE)).all()

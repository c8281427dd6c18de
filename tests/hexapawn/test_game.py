"""Hexapawn's rules on hand-written positions, notation, parsing and the network encoding."""

from __future__ import annotations

import numpy as np
import pytest

from hexapawn.game import BLACK, WHITE, Hexapawn, parse_position, parse_size
from hexapawn.solve import solve


def test_initial_position_and_moves() -> None:
    game = Hexapawn(3, 3)
    start = game.initial_state()
    assert game.format(start) == "ppp/3/PPP w"
    assert [game.action_to_string(start, a) for a in game.legal_actions(start)] == [
        "a1a2", "b1b2", "c1c2"]
    assert game.terminal_value(start) is None


def test_win_by_reaching_the_far_row() -> None:
    game, position = parse_position("pP1/p2/3 b")  # White's pawn stands on row 3
    assert game.winner(position) == WHITE
    assert game.legal_actions(position) == []
    assert game.terminal_value(position) == -1.0


def test_win_by_capturing_every_pawn() -> None:
    game, position = parse_position("3/1P1/3 b")  # Black has no pawn left
    assert game.winner(position) == WHITE
    assert game.terminal_value(position) == -1.0


def test_no_legal_move_loses() -> None:
    # White to move, both pawns blocked head-on, no captures: White is stuck and loses.
    game, position = parse_position("1p1/1P1/3 w")
    assert game.legal_actions(position) == []
    assert game.winner(position) == BLACK
    assert game.terminal_value(position) == -1.0


def test_capture_is_diagonal_forward_only() -> None:
    game, position = parse_position("p1p/1P1/3 w")
    moves = sorted(game.action_to_string(position, a) for a in game.legal_actions(position))
    assert moves == ["b2b3", "b2xa3", "b2xc3"]
    game, position = parse_position("3/pP1/3 b")
    moves = sorted(game.action_to_string(position, a) for a in game.legal_actions(position))
    assert moves == ["a2a1"]  # no sideways capture, no backwards move


def test_a_capture_never_wraps_around_the_edge_of_the_board() -> None:
    # White's a2 pawn "left" of its target a3 would be d2 in the bit layout: not a capture.
    game, position = parse_position("p3/4/P2p/4 w")
    moves = sorted(game.action_to_string(position, a) for a in game.legal_actions(position))
    assert moves == ["a2a3"]
    game, position = parse_position("4/P2p/4/3P b")  # and Black's d3 pawn does not take a3
    moves = sorted(game.action_to_string(position, a) for a in game.legal_actions(position))
    assert moves == ["d3d2"]


def test_capturing_move_applies() -> None:
    game, position = parse_position("p1p/1P1/3 w")
    after = game.apply(position, game.parse_move(position, "b2xa3"))
    assert game.format(after) == "P1p/3/3 b"
    assert game.winner(after) == WHITE


def test_parse_move_rejects_garbage_and_illegal() -> None:
    game = Hexapawn(3, 3)
    start = game.initial_state()
    with pytest.raises(ValueError, match="not a move"):
        game.parse_move(start, "hello")
    with pytest.raises(ValueError, match="not legal"):
        game.parse_move(start, "a1a3")
    with pytest.raises(ValueError, match="off the 3x3 board"):
        game.parse_move(start, "d1d2")
    assert game.parse_move(start, " A1-A2 ") == game.parse_move(start, "a1a2")
    with pytest.raises(ValueError, match="illegal action"):
        game.apply(start, 5)


@pytest.mark.parametrize("text", [
    "", "ppp/3/PPP", "ppp/3/PPP x", "ppp/4/PPP w", "pqp/3/PPP w", "ppp/3/P w",
    "pp/pp w", "ppPP/4/4/4 w", "1\n2\nWhite to move", "p p p\n. . .\nP P P",
])
def test_malformed_positions_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_position(text)


def test_parse_round_trips_render_and_format() -> None:
    solution = solve(4, 3)
    game = solution.game
    for position in solution.positions():
        assert game.parse(game.format(position)) == position
        assert game.parse(game.render(position)) == position
    with pytest.raises(ValueError, match="expected 3x3"):
        Hexapawn(3, 3).parse("pppp/4/PPPP w")


@pytest.mark.parametrize("text", ["2x9", "abc", "9x3", "3x", "0x0"])
def test_impossible_sizes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_encoding_is_from_the_side_to_move() -> None:
    game = Hexapawn(3, 3)
    start = game.initial_state()
    white_view = game.encode(start)
    black_view = game.encode(start._replace(turn=BLACK))
    assert white_view.shape == game.input_shape and white_view.dtype == np.float32
    # The mover's pawns are on row 0 whoever moves.
    assert white_view[0, 0].tolist() == [1, 1, 1] and black_view[0, 0].tolist() == [1, 1, 1]
    assert white_view[1, 2].tolist() == [1, 1, 1] and black_view[1, 2].tolist() == [1, 1, 1]


def test_black_sees_the_ranks_flipped_and_the_files_kept() -> None:
    # Black's pawns on a3 and c3, White's on b2 and c1: from Black's side a3 is row 0, file a.
    game, position = parse_position("p1p/1P1/2P b")
    planes = game.encode(position)
    assert planes[0].tolist() == [[1, 0, 1], [0, 0, 0], [0, 0, 0]]  # Black's own pawns
    assert planes[1].tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 1]]  # White's, from Black's side
    # action = (relative square) x 3 + direction (0 towards file a, 1 straight, 2 towards the
    # last file): a3xb2 is square 0, direction 2; c3xb2 is square 2, direction 0.
    actions = {game.action_to_string(position, a): a for a in game.legal_actions(position)}
    assert actions == {"a3a2": 1, "a3xb2": 2, "c3xb2": 6, "c3c2": 7}


def test_action_map_round_trips_on_every_reachable_3x3_position() -> None:
    solution = solve(3, 3)
    game = solution.game
    for position in solution.positions():
        planes = game.encode(position)
        for action in game.legal_actions(position):
            # The action's from-square holds one of the mover's pawns in the encoding.
            relative, _ = divmod(action, 3)
            assert planes[0, relative // 3, relative % 3] == 1.0
            text = game.action_to_string(position, action)
            assert game.parse_move(position, text) == action


@pytest.mark.parametrize("size, stride", [((3, 3), 1), ((4, 4), 5)])
def test_mirror_symmetry_maps_legal_moves_to_legal_moves(size, stride) -> None:
    width, height = size
    solution = solve(width, height)
    game = solution.game
    for index in range(0, len(solution), stride):
        position = solution.position(index)
        legal = game.legal_actions(position)
        policy = np.zeros(game.action_size, dtype=np.float32)
        policy[legal] = np.arange(1, len(legal) + 1)
        (planes, same), (mirror_planes, mirror_policy) = game.symmetries(
            game.encode(position), policy)
        assert same is policy
        mirrored_position = position._replace(
            white=_mirror_bits(position.white, width, height),
            black=_mirror_bits(position.black, width, height))
        assert np.array_equal(mirror_planes, game.encode(mirrored_position))
        mirrored_legal = game.legal_actions(mirrored_position)
        assert sorted(np.flatnonzero(mirror_policy).tolist()) == mirrored_legal
        for action in legal:
            assert mirror_policy[game.mirror_action(action)] == policy[action]


def _mirror_bits(bits: int, width: int, height: int) -> int:
    out = 0
    for square in range(width * height):
        if bits >> square & 1:
            row, col = divmod(square, width)
            out |= 1 << (row * width + width - 1 - col)
    return out
